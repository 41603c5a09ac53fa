"""Plain Locust: FastHttpUser hitting GET /ping with no wait (closed-loop maximum throughput)."""

from __future__ import annotations

from locust import FastHttpUser, task


class PlainFastUser(FastHttpUser):
    """One request per task iteration, no think time."""

    @task
    def ping(self) -> None:
        self.client.get("/ping")
