"""A bare HTTP/1.1 GET for long log streams (`pods/{name}/log?follow=true`): the body as large pieces.

Why not httpx here: the API server flushes every write of the kubelet, so a busy container's stream arrives as
thousands of tiny TLS records and HTTP chunks per second (3–5 lines each, measured on the testbed). httpx/httpcore/
h11 turn each chunk into its own event and generator step, and asyncio's transports wake up for each arrival:
61–66 µs of CPU per chunk, 13–16 µs per line, 60–80 % of a core at 50k lines/s — on the thread that shares the
interpreter lock with the UI. Here each wake-up takes all the socket holds (up to READ_SIZE) in one `recv` (TLS
through `ssl.SSLObject` over memory buffers, into buffers allocated once), strips the chunk framing of all of it in
one pass and hands the payload over in one piece. (Waiting a few ms after a small read, to let more gather, halved
the CPU but cut the throughput by a third or more — the API server → kubelet path slowed with it, measured with a
fixed 4 MiB receive buffer too — so the reader does not wait.)

Used only where it is the same request httpx would send: no proxy (kubeconfig `proxy-url` or a proxy from the
environment that applies to the host), a real network (not a test transport). Everything else — the TLS context,
the Authorization header, 401 → reload credentials once, the error mapping — is the KubeClient's.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
import urllib.request
from collections.abc import AsyncGenerator
from typing import cast
from urllib.parse import urlsplit

READ_SIZE = 256 * 1024        # bytes asked of the socket per read
MAX_HEAD = 64 * 1024          # response status line + headers
MAX_ERROR_BODY = 1 << 20      # an error response's body (a Status object) is read up to this
MAX_SIZE_LINE = 1024          # a chunk-size line longer than this is a protocol error


class StreamProtocolError(ConnectionError):
    """The server's answer is not HTTP/1.1 as expected (bad status line, bad chunk framing, ended mid-body)."""


def proxy_applies(server: str) -> bool:
    """True when the environment names a proxy for this server (HTTPS_PROXY / ALL_PROXY, not bypassed by
    NO_PROXY): then httpx, which speaks to proxies, serves the stream."""
    parts = urlsplit(server)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(  # type: ignore[attr-defined]
        parts.hostname or "", proxies)


class Conn:
    """A non-blocking socket, TLS done by an SSLObject over memory BIOs (so reads happen only when asked)."""

    def __init__(self, sock: socket.socket, tls: ssl.SSLObject | None = None,
                 bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO] | None = None) -> None:
        self.sock = sock
        self.tls = tls
        self._in: ssl.MemoryBIO | None = bios[0] if bios else None
        self._out: ssl.MemoryBIO | None = bios[1] if bios else None
        self.eof = False
        self._rbuf = bytearray(READ_SIZE)           # what the socket gives
        self._rview = memoryview(self._rbuf)
        self._pview = memoryview(bytearray(READ_SIZE)) if tls is not None else self._rview  # TLS plaintext

    @classmethod
    async def open(cls, host: str, port: int, *, ssl_ctx: ssl.SSLContext | None, server_hostname: str | None,
                   timeout: float) -> Conn:
        loop = asyncio.get_running_loop()
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        last: BaseException | None = None
        sock = None
        for family, type_, proto, _, addr in infos:
            s = socket.socket(family, type_, proto)
            s.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(s, addr), timeout)
            except (OSError, asyncio.TimeoutError) as e:
                s.close()
                last = e
                continue
            sock = s
            break
        if sock is None:
            raise last or OSError(f"cannot resolve {host}")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_ctx is None:
            return cls(sock, None)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ssl_ctx.wrap_bio(inc, out, server_side=False, server_hostname=server_hostname)
        conn = cls(sock, tls, (inc, out))
        try:
            await asyncio.wait_for(conn._handshake(), timeout)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _handshake(self) -> None:
        assert self.tls is not None and self._in is not None
        loop = asyncio.get_running_loop()
        for _ in range(1000):  # bounded: a handshake is a few round trips
            try:
                self.tls.do_handshake()
                await self._flush()
                return
            except ssl.SSLWantReadError:
                await self._flush()
                data = await loop.sock_recv(self.sock, READ_SIZE)
                if not data:
                    raise ConnectionResetError("the server closed the connection during the TLS handshake")
                self._in.write(data)
        raise ssl.SSLError("the TLS handshake did not finish")

    async def _flush(self) -> None:
        if self._out is not None and self._out.pending:
            await asyncio.get_running_loop().sock_sendall(self.sock, self._out.read())

    async def send(self, data: bytes) -> None:
        if self.tls is None:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)
            return
        self.tls.write(data)
        await self._flush()

    async def recv(self) -> bytes:
        """What has arrived (waiting for at least one byte); b"" at the end of the stream. Reads into buffers
        allocated once: a fresh READ_SIZE buffer per TLS record (what `SSLObject.read(n)` does) cost more than
        the rest of the reader together (measured with py-spy --gil)."""
        loop = asyncio.get_running_loop()
        for _ in range(100_000):  # bounded: each turn receives data or ends
            if self.tls is not None:
                plain = self._decrypt()
                if self._out is not None and self._out.pending:
                    await self._flush()   # TLS 1.3 may have something to say back (a key update)
                if plain:
                    return plain
            if self.eof:
                return b""
            n = await loop.sock_recv_into(self.sock, self._rbuf)
            if self.tls is None:
                self.eof = n == 0
                return bytes(self._rview[:n])
            assert self._in is not None
            if n:
                self._in.write(self._rview[:n])
            else:
                self._in.write_eof()
        raise OSError("no data and no end from the server")

    def _decrypt(self) -> bytes:
        """The plaintext the incoming buffer holds (up to READ_SIZE; the rest stays for the next call)."""
        assert self.tls is not None
        view, pos = self._pview, 0
        try:
            while pos < READ_SIZE:
                n = cast(int, self.tls.read(READ_SIZE - pos, view[pos:]))  # a count, given a buffer
                if n == 0:
                    self.eof = True
                    break
                pos += n
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):  # close_notify / the connection ended
            self.eof = True
        return bytes(view[:pos])

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Response:
    """Status, headers and the body of one GET (the connection is this response's alone)."""

    def __init__(self, status: int, headers: list[tuple[str, str]], conn: Conn, rest: bytes) -> None:
        self.status, self.headers, self.conn, self.rest = status, headers, conn, rest
        self._closed = False

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")

    @property
    def chunked(self) -> bool:
        return "chunked" in self.header("transfer-encoding").lower()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self.conn.close()

    async def _read(self, read_timeout: float | None) -> bytes:
        if read_timeout is None:
            return await self.conn.recv()
        return await asyncio.wait_for(self.conn.recv(), read_timeout)

    async def body(self, read_timeout: float | None) -> AsyncGenerator[bytes, None]:
        """The payload (chunk framing removed) in pieces as large as what arrived; ends at the body's end.
        Raises StreamProtocolError when the connection ends mid-body or the framing is broken, OSError /
        asyncio.TimeoutError as they come."""
        if self.chunked:
            async for piece in self._chunked(read_timeout):
                yield piece
            return
        length = self.header("content-length")
        left = int(length) if length.isdigit() else -1
        data = self.rest
        self.rest = b""
        while True:
            if data:
                if left >= 0:
                    data = data[:left]
                    left -= len(data)
                yield data
            if left == 0:
                return
            data = await self._read(read_timeout)
            if not data:
                if left > 0:
                    raise StreamProtocolError("the connection ended before the response body did")
                return

    async def _chunked(self, read_timeout: float | None) -> AsyncGenerator[bytes, None]:
        buf = self.rest
        self.rest = b""
        remaining = 0          # payload bytes left in the current chunk
        crlf = False           # the CRLF after a chunk's payload is still to come
        while True:
            out: list[bytes] = []
            pos, n = 0, len(buf)
            done = False
            while pos < n:
                if remaining:
                    take = min(remaining, n - pos)
                    out.append(buf[pos:pos + take])
                    pos += take
                    remaining -= take
                    crlf = remaining == 0
                    continue
                if crlf:
                    if n - pos < 2:
                        break
                    if buf[pos:pos + 2] != b"\r\n":
                        raise StreamProtocolError("bad chunk framing (no CRLF after a chunk)")
                    pos += 2
                    crlf = False
                    continue
                eol = buf.find(b"\r\n", pos, pos + MAX_SIZE_LINE)
                if eol < 0:
                    if n - pos >= MAX_SIZE_LINE:
                        raise StreamProtocolError("bad chunk framing (chunk-size line too long)")
                    break
                try:
                    size = int(buf[pos:eol].split(b";", 1)[0], 16)
                except ValueError:
                    raise StreamProtocolError("bad chunk framing (chunk size is not hex)") from None
                pos = eol + 2
                if size == 0:   # the last chunk (trailers, if any, are not read)
                    done = True
                    break
                remaining = size
            if out:
                yield out[0] if len(out) == 1 else b"".join(out)
            if done:
                return
            buf = buf[pos:]
            data = await self._read(read_timeout)
            if not data:
                raise StreamProtocolError("the connection ended in the middle of the chunked body")
            buf = buf + data if buf else data

    async def read_all(self, limit: int = MAX_ERROR_BODY, read_timeout: float = 10.0) -> bytes:
        """The whole body, cut at `limit` bytes (for an error status: the Status object)."""
        parts: list[bytes] = []
        size = 0
        try:
            async for piece in self.body(read_timeout):
                parts.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except (OSError, asyncio.TimeoutError, StreamProtocolError):
            pass
        return b"".join(parts)[:limit]


async def get(server: str, path_qs: str, headers: dict[str, str], *, ssl_ctx: ssl.SSLContext | None,
              server_hostname: str | None, timeout: float) -> Response:
    """Connect, send `GET path_qs`, read the status line and headers (within `timeout` s each)."""
    parts = urlsplit(server)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = parts.path.rstrip("/") + path_qs
    conn = await Conn.open(host, port, ssl_ctx=ssl_ctx if https else None,
                           server_hostname=(server_hostname or host) if https else None, timeout=timeout)
    try:
        netloc = parts.netloc.rsplit("@", 1)[-1]
        lines = [f"GET {target} HTTP/1.1", f"Host: {netloc}", "Connection: close", "Accept-Encoding: identity"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        await asyncio.wait_for(conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")), timeout)
        buf = b""
        for _ in range(10_000):  # bounded: each turn adds data (or ends)
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > MAX_HEAD:
                raise StreamProtocolError("the response headers are too long")
            data = await asyncio.wait_for(conn.recv(), timeout)
            if not data:
                raise StreamProtocolError("the server closed the connection before answering")
            buf += data
        else:
            raise StreamProtocolError("no end of the response headers")
        status_line, *header_lines = buf[:end].decode("latin-1").split("\r\n")
        proto, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not proto.startswith("HTTP/1.") or not code.isdigit():
            raise StreamProtocolError(f"not an HTTP/1.1 answer: {status_line[:80]!r}")
        hdrs = []
        for ln in header_lines:
            k, sep, v = ln.partition(":")
            if sep:
                hdrs.append((k.strip(), v.strip()))
        return Response(int(code), hdrs, conn, buf[end + 4:])
    except BaseException:
        conn.close()
        raise
