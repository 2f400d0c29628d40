"""python -m testbed.loki --host 127.0.0.1 --port 33100 [--max-lines 200000] [--tail-max-duration 3600]"""
from __future__ import annotations

import argparse
import logging
import sys


from ..serve import serve_loopback
from .server import make_app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.loki", description="Loki-API-compatible testbed log server")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    ap.add_argument("--port", type=int, default=33100)
    ap.add_argument("--max-lines", type=int, default=200_000, help="total lines kept; oldest dropped first")
    ap.add_argument("--max-entries-limit", type=int, default=5000, help="largest accepted `limit`")
    ap.add_argument("--tail-max-duration", type=float, default=3600.0, help="seconds before a tail socket is closed")
    a = ap.parse_args(argv)
    if a.max_lines < 1 or a.max_entries_limit < 1 or a.tail_max_duration <= 0:
        print("testbed.loki: --max-lines, --max-entries-limit and --tail-max-duration must be positive",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s testbed.loki %(levelname)s %(message)s")
    app = make_app(max_lines=a.max_lines, max_entries_limit=a.max_entries_limit,
                   tail_max_duration=a.tail_max_duration)
    return serve_loopback("testbed.loki", app, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
