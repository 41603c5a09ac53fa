"""``python -m harness.examples.live_service app|downstream --port P ...``: serve until stopped."""

from __future__ import annotations

import argparse
import os
import sys

from aiohttp import web

from harness.examples.live_service.app import LiveVersion, make_app
from harness.examples.live_service.downstream import make_downstream


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness.examples.live_service", description=__doc__)
    parser.add_argument("role", choices=["app", "downstream"], help="the price service or its downstream")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--version", default="good", choices=[v.value for v in LiveVersion])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL"), help="Redis URL (default $REDIS_URL)")
    parser.add_argument(
        "--downstream",
        default=os.environ.get("DOWNSTREAM_URL"),
        help="downstream URL (default $DOWNSTREAM_URL)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve the chosen role on 127.0.0.1 until SIGTERM or Ctrl-C."""
    args = _parser().parse_args(argv)
    if args.role == "downstream":
        app = make_downstream()
    else:
        if not args.redis or not args.downstream:
            print("app needs --redis and --downstream (or REDIS_URL and DOWNSTREAM_URL)", file=sys.stderr)
            return 2
        app = make_app(args.version, redis_url=args.redis, downstream_url=args.downstream)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda text: print(text, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
