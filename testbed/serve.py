"""Run one of the testbed's aiohttp servers on loopback, with one-line errors."""
from __future__ import annotations

import sys

from aiohttp import web


def serve_loopback(name: str, app: web.Application, host: str, port: int) -> int:
    """Serve `app` on host:port; refuse anything outside 127.0.0.0/8 (exit 2); exit 1 if the port is taken."""
    if not host.startswith("127."):
        print(f"{name}: refusing to bind {host}: loopback only", file=sys.stderr)
        return 2
    try:
        web.run_app(app, host=host, port=port, access_log=None,
                    print=lambda *_: print(f"{name} listening on http://{host}:{port}", flush=True))
    except OSError as exc:
        print(f"{name}: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
