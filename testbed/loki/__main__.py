"""python -m testbed.loki --host 127.0.0.1 --port 23100 [--data-dir DIR] [--auth-enabled] [--tail-max-duration 1h] ...

Every option also reads an environment variable (flag wins), so `python -m testbed up` can be tuned without code:
TESTBED_LOKI_TAIL_MAX_DURATION, TESTBED_LOKI_AUTH_ENABLED (1/true), TESTBED_LOKI_READY_DELAY,
TESTBED_LOKI_MAX_TAILS, TESTBED_LOKI_TAIL_OVERLAP, TESTBED_LOKI_MAX_LINE_SIZE, TESTBED_LOKI_MAX_LINES.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from ..serve import serve_loopback
from .params import parse_prom_duration
from .server import make_app


def _seconds(text: str) -> float:
    """Seconds as a number (`3600`, `2.5`) or a Prometheus duration (`1h`, `90s`, `500ms`)."""
    try:
        return float(text)
    except ValueError:
        ns = parse_prom_duration(text.strip())
        if ns is None:
            raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use seconds or e.g. 1h, 30s)") from None
        return ns / 1e9


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TESTBED_LOKI_{name}", default)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.loki", description="Loki-API-compatible testbed log server")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    ap.add_argument("--port", type=int, default=23100)
    ap.add_argument("--max-lines", type=int, default=int(_env("MAX_LINES", "1500000")),
                    help="lines kept per tenant; oldest dropped first")
    ap.add_argument("--max-entries-limit", type=int, default=5000, help="largest accepted `limit`")
    ap.add_argument("--tail-max-duration", type=_seconds, default=_seconds(_env("TAIL_MAX_DURATION", "1h")),
                    help="a tail socket is closed with 1011 after this (seconds or 1h/30s; Loki: 1h)")
    ap.add_argument("--max-tails", type=int, default=int(_env("MAX_TAILS", "10")),
                    help="concurrent tail sockets per tenant (Loki: max_concurrent_tail_requests 10)")
    ap.add_argument("--tail-overlap", type=_seconds, default=_seconds(_env("TAIL_OVERLAP", "0.5")),
                    help="entries that arrived this long before a tail opened are sent twice (history and live), "
                         "as Loki's live-before-history tail does; 0 disables")
    ap.add_argument("--max-line-size", type=int, default=int(_env("MAX_LINE_SIZE", str(256 * 1024))),
                    help="bytes; longer entries are rejected (Loki: 256KB); 0 = no limit")
    ap.add_argument("--auth-enabled", action="store_true",
                    default=_env("AUTH_ENABLED", "").lower() in ("1", "true", "yes"),
                    help="multi-tenant: X-Scope-OrgID required (401 `no org id` without it)")
    ap.add_argument("--ready-delay", type=_seconds, default=_seconds(_env("READY_DELAY", "0")),
                    help="/ready answers 503 for this long after start (Loki: ~15 s)")
    ap.add_argument("--no-discovery", action="store_true",
                    help="do not add service_name / detected_level (Loki 3 adds both by default)")
    ap.add_argument("--data-dir", default=None,
                    help="persist every acknowledged push here (one <tenant>.wal per tenant) and reload it on start")
    a = ap.parse_args(argv)
    if a.max_lines < 1 or a.max_entries_limit < 1 or a.tail_max_duration <= 0 or a.max_tails < 1:
        print("testbed.loki: --max-lines, --max-entries-limit, --max-tails and --tail-max-duration must be positive",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s testbed.loki %(levelname)s %(message)s")
    app = make_app(max_lines=a.max_lines, max_entries_limit=a.max_entries_limit,
                   tail_max_duration=a.tail_max_duration, auth_enabled=a.auth_enabled, data_dir=a.data_dir,
                   max_concurrent_tail_requests=a.max_tails, max_line_size=a.max_line_size,
                   discover=not a.no_discovery, ready_delay=a.ready_delay, tail_overlap=a.tail_overlap)
    return serve_loopback("testbed.loki", app, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
