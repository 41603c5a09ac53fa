"""Fixture modules loaded by the pytest plugin (``harness.pytest_plugin.pytest_plugins``)."""

__all__: list[str] = []
