"""Locust user classes for benchmarks; imported only inside Locust processes."""
