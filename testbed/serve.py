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


def serve_loopback_many(name: str, listeners: list[tuple[web.Application, int]], host: str) -> int:
    """Serve each app on host:its port in one process until SIGTERM/SIGINT; loopback only (exit 2); exit 1 (one
    line naming the port) when any port is taken — then nothing is left listening."""
    import asyncio
    import signal

    if not host.startswith("127."):
        print(f"{name}: refusing to bind {host}: loopback only", file=sys.stderr)
        return 2

    async def run() -> int:
        runners: list[web.AppRunner] = []
        try:
            for app, port in listeners:
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                runners.append(runner)
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as exc:
                    print(f"{name}: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
                    return 1
            print(f"{name} listening on " + ", ".join(f"http://{host}:{p}" for _, p in listeners), flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            return 0
        finally:
            for runner in runners:
                await runner.cleanup()

    return asyncio.run(run())
