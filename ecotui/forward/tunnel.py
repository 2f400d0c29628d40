"""The local side of a forward: the listening socket (bound synchronously, clear one-line errors) and the pump
between one accepted TCP connection and one `v4.channel.k8s.io` port-forward WebSocket.

v4 port-forward framing (one port per WebSocket): channel 0 carries data both ways, channel 1 errors (server →
client). The first frame the server sends on each channel is the port number, 2 bytes little-endian; it is
checked. Text on channel 1 after that is an error ("no forward found for port 9999 in pod …", "connection
refused"): the connection is closed and the text returned. v4 has no half-close: after the local side's EOF the
pod's answer is still relayed until the stream has been quiet for `LINGER` seconds, then both are closed.

Hot path: 64 KiB reads, no per-frame copies beyond the channel byte (memoryview into the received frame),
writes with drain, TCP_NODELAY on the local socket, counters as plain integer adds, no logging.
"""
from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass

from ..kube.channels import ChannelStream, StreamClosed
from ..textsafe import one_line
from .resolve import ForwardError

CHUNK = 64 << 10
LINGER = 1.0            # after the local EOF: wait this long for more from the pod
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io",)


@dataclass
class Counters:
    """Per-forward traffic, updated in place by the pumps (the manager reads them for its views)."""

    bytes_in: int = 0     # pod → local
    bytes_out: int = 0    # local → pod
    ticks: int = 0        # +1 per frame either way (the manager's version follows it)


def bind(address: str, port: int) -> socket.socket:
    """A listening TCP socket on address:port (0 = a free port), now. Raises ForwardError with one line."""
    where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    if not 0 <= port < 65536:
        raise ForwardError(f"{port} is not a valid local port (0-65535)")
    try:
        infos = socket.getaddrinfo(address.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ForwardError(f"cannot listen on {where}: not an address here ({one_line(str(e), 80)})") from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # a port in TIME_WAIT is free; a listener is not
        sock.bind(addr)
        sock.listen(512)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ForwardError(f"{where} is in use (another program listens there)",
                               "choose another local port, or 0 for a free one") from None
        if e.errno == errno.EACCES:
            raise ForwardError(f"cannot listen on {where}: permission denied (ports below 1024 need privileges)",
                               "choose a local port above 1023") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise ForwardError(f"cannot listen on {where}: that address is not on this machine") from None
        raise ForwardError(f"cannot listen on {where}: {one_line(e.strerror or str(e), 80)}") from None
    return sock


def local_text(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _header_ok(frame: bytes, port: int) -> bool:
    return len(frame) == 3 and frame[1] | (frame[2] << 8) == port


async def pump(stream: ChannelStream, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               counters: Counters, *, headers_seen: bool = False, linger: float = LINGER) -> str:
    """Relay until either side ends. Returns "" on a normal end, else the error as one line (channel 1 text,
    a bad port header). `headers_seen`: the port frames were already read (a probed stream). Closes the stream;
    the caller closes the writer."""
    seen = [headers_seen, headers_seen]
    frames = [0]

    async def from_pod() -> str:
        recv = stream.recv_frame
        write = writer.write
        drain = writer.drain
        while True:
            frame = await recv()
            frames[0] += 1
            if not frame:
                continue
            ch = frame[0]
            if ch == 0 and seen[0]:
                n = len(frame) - 1
                if n:
                    if writer.is_closing():
                        return ""
                    write(memoryview(frame)[1:])
                    counters.bytes_in += n
                    counters.ticks += 1
                    await drain()
            elif ch <= 1 and not seen[ch]:
                if not _header_ok(frame, port):
                    got = frame[1] | (frame[2] << 8) if len(frame) == 3 else f"{len(frame) - 1} bytes"
                    return f"the port-forward stream announced port {got} on channel {ch}, not {port}"
                seen[ch] = True
            elif ch == 1:
                text = one_line(bytes(frame[1:]).decode("utf-8", "replace"), 300)
                if text:
                    return text

    async def to_pod() -> None:
        read = reader.read
        send = stream.send
        while True:
            data = await read(CHUNK)
            if not data:
                return
            await send(0, data)
            counters.bytes_out += len(data)
            counters.ticks += 1

    down = asyncio.ensure_future(from_pod())
    up = asyncio.ensure_future(to_pod())
    try:
        while not down.done():
            if not up.done():
                await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
                if up.done() and up.exception() is not None:
                    break   # the local side failed (reset) or the stream closed while sending
                continue
            before = frames[0]   # local EOF: relay the pod's answer while it keeps coming
            await asyncio.wait({down}, timeout=linger)
            if not down.done() and frames[0] == before:
                break
        if down.done() and not down.cancelled():
            exc = down.exception()
            if exc is None:
                return down.result()
            if isinstance(exc, (StreamClosed, ConnectionError, OSError)):
                return ""   # the stream ended, or the local client went away
            raise exc
        return ""
    finally:
        for t in (down, up):
            if not t.done():
                t.cancel()
        await asyncio.gather(down, up, return_exceptions=True)
        await stream.close()
