"""The port-forward benchmark's HTTP sink (run as its own process so the client and server never share a GIL):

    python3 -m bench.forward_sink --port 28090

GET /bytes/N → N bytes (zeros, 256 KiB writes); GET /ping → "pong". HTTP/1.1 keep-alive. Binds 127.0.0.1 only.
KWOK forwards the testbed pods' port 9000 here (testbed/kwokcfg.py), so a forward to any pod's port 9000 reaches it.
"""
from __future__ import annotations

import argparse
import asyncio

CHUNK = b"\0" * (256 * 1024)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            close = b"connection: close" in head.lower()
            if path.startswith("/bytes/"):
                n = int(path[len("/bytes/"):])
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nContent-Type: application/octet-stream"
                             f"\r\n{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n".encode())
                left = n
                while left > 0:
                    piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
                    writer.write(piece)
                    left -= len(piece)
                    await writer.drain()
            else:
                body = b"pong" if path == "/ping" else b"not found"
                status = "200 OK" if path == "/ping" else "404 Not Found"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
                             f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n".encode() + body)
                await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, reuse_address=True)
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.forward_sink")
    ap.add_argument("--port", type=int, default=28090)
    a = ap.parse_args()
    try:
        asyncio.run(serve(a.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
