"""Locust user classes for the runner's tests; imported only inside Locust subprocesses."""

from __future__ import annotations

import os

from locust import FastHttpUser, constant_throughput, task


class PidUser(FastHttpUser):
    """Names each request after its process, so merged statistics show every worker."""

    wait_time = constant_throughput(50)

    @task
    def ping(self) -> None:
        self.client.get("/ping", name=f"/ping@{os.getpid()}")
