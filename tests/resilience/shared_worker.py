"""A process that hammers one shared breaker on real Redis (run by test_shared_breaker.py).

python -m tests.resilience.shared_worker URL NAME OWNER SEED
"""

from __future__ import annotations

import asyncio
import random
import sys

from harness.resilience import CircuitBreaker, CircuitBreakerConfig, CircuitOpenError, SharedCircuitBreaker
from harness.storage import RedisStorage

PHASES = ((150, 0.8), (150, 0.0), (150, 0.9), (150, 0.0))


async def main(url: str, name: str, owner: str, seed: int) -> None:
    storage = RedisStorage.from_url(url, namespace="harness-test")
    breaker = CircuitBreaker(
        CircuitBreakerConfig(window=10, minimum_calls=5, open_for=0.05, half_open_calls=3), name=name
    )
    shared = SharedCircuitBreaker(breaker, storage, sync_interval=0.01, owner=owner)
    rng = random.Random(seed)
    for length, failure_rate in PHASES:
        for _ in range(length):
            fail = rng.random() < failure_rate

            async def dependency(fail: bool = fail) -> None:
                await asyncio.sleep(0)
                if fail:
                    raise ConnectionError("down")

            try:
                await shared.acall(dependency)
            except (ConnectionError, CircuitOpenError):
                await asyncio.sleep(0.001)
    await shared.sync()
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
