"""A small Starlette shop: a Redis cache-aside read path with a fallback, a downstream call with a
timeout and retries, and a background refresher. It is ordinary service code (it imports nothing
from the harness) and runs unchanged under uvicorn against a real Redis, or simulated on virtual
time by ``harness run`` (see ``harness/examples/scenarios/shop-*.yaml``).
"""

__all__: list[str] = []  # an application, not a library: run it (app.py) or simulate it
