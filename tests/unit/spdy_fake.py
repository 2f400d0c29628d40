"""A fake "API server + kubelet" for the SPDY tunnel tests: a raw asyncio server on 127.0.0.1 that upgrades to a
WebSocket with subprotocol SPDY/3.1+portforward.k8s.io (by hand: the websockets library refuses that name) and
speaks kubelet-style SPDY port-forward: stream pairs by requestid, SYN_REPLY, data both ways with FIN, error text
for a port without a backend, RST_STREAM. Server messages can be cut into tiny pieces (`chunk`) to test parsing."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib
from dataclasses import dataclass, field

from ecotui.forward.spdy import (DICTIONARY, FLAG_FIN, GOAWAY, PING, RST_STREAM, SYN_REPLY, SYN_STREAM,
                                 control_frame, data_frame, header_block)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(payload: bytes, opcode: int = 2) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


@dataclass
class FakeSpdy:
    backends: dict[int, tuple[str, int]] = field(default_factory=dict)   # any pod: port → backend
    pods: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)   # a pod's own ports first
    token: str = "good"
    chunk: int = 0                 # cut every server WebSocket message into pieces of this size (0: whole)
    offer: bool = True             # answer with the SPDY subprotocol
    ping_first: bool = False
    sessions: int = 0
    syn_headers: list[dict[str, str]] = field(default_factory=list)
    resets: list[int] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    url: str = ""

    async def start(self) -> FakeSpdy:
        self._srv = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._srv.sockets[0].getsockname()[1]}"
        self._writers: set[asyncio.StreamWriter] = set()
        return self

    async def stop(self) -> None:
        self._srv.close()
        for w in list(self._writers):
            w.close()

    async def goaway_all(self) -> None:
        for w in list(self._writers):
            w.write(ws_frame(control_frame(GOAWAY, 0, bytes(8))))
            w.write(ws_frame(b"\x03\xe8", opcode=8))
            w.close()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            h = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:] if ln)}
            if h.get("authorization") != f"Bearer {self.token}":
                writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                return
            accept = base64.b64encode(hashlib.sha1(h["sec-websocket-key"].encode() + GUID).digest()).decode()
            proto = f"Sec-WebSocket-Protocol: {h.get('sec-websocket-protocol')}\r\n" if self.offer else ""
            writer.write(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Accept: {accept}\r\n{proto}\r\n".encode())
            self.sessions += 1
            path = head[0].split(" ")[1].split("?")[0].split("/")
            await _Session(self, reader, writer, path[6] if len(path) > 6 else "").run()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class _Session:
    def __init__(self, fake: FakeSpdy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 pod: str) -> None:
        self.fake, self.reader, self.writer, self.pod = fake, reader, writer, pod
        self.zin = zlib.decompressobj(zdict=DICTIONARY)
        self.zout = zlib.compressobj(zdict=DICTIONARY)
        self.buf = b""
        self.streams: dict[int, dict[str, str]] = {}
        self.pairs: dict[str, dict[str, int]] = {}
        self.backend: dict[int, asyncio.StreamWriter] = {}   # data stream id → backend writer
        self.tasks: set[asyncio.Task] = set()

    def send(self, spdy: bytes) -> None:
        msg = ws_frame(spdy)
        step = self.fake.chunk or len(msg)
        for i in range(0, len(msg), step):   # TCP writes of `chunk` bytes: frames cut anywhere
            self.writer.write(msg[i:i + step])

    async def run(self) -> None:
        if self.fake.ping_first:
            self.send(control_frame(PING, 0, (8).to_bytes(4, "big")))
        try:
            while True:
                b0, b1 = await self.reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(await self.reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await self.reader.readexactly(8), "big")
                assert b1 & 0x80, "client frames must be masked"
                key = await self.reader.readexactly(4)
                data = bytes(b ^ key[i % 4] for i, b in enumerate(await self.reader.readexactly(n)))
                if b0 & 0x0F == 8:
                    return
                self.buf += data
                await self.parse()
        finally:
            for t in self.tasks:
                t.cancel()
            for w in self.backend.values():
                w.close()

    async def parse(self) -> None:
        while len(self.buf) >= 8:
            length = int.from_bytes(self.buf[5:8], "big")
            if len(self.buf) < 8 + length:
                return
            frame, self.buf = self.buf[:8 + length], self.buf[8 + length:]
            payload = frame[8:]
            if frame[0] & 0x80:
                kind = int.from_bytes(frame[2:4], "big")
                if kind == SYN_STREAM:
                    await self.syn(int.from_bytes(payload[:4], "big"), self.zin.decompress(payload[10:]))
                elif kind == RST_STREAM:
                    sid = int.from_bytes(payload[:4], "big")
                    self.fake.resets.append(sid)
                    w = self.backend.pop(sid, None)
                    if w is not None:
                        w.close()
                elif kind == PING:
                    self.fake.pongs.append(payload)
            else:
                sid = int.from_bytes(frame[:4], "big")
                w = self.backend.get(sid)
                if w is not None:
                    if payload:
                        w.write(payload)
                    if frame[4] & FLAG_FIN and w.can_write_eof():
                        w.write_eof()

    async def syn(self, sid: int, block: bytes) -> None:
        count, off, h = int.from_bytes(block[:4], "big"), 4, {}
        for _ in range(count):
            n = int.from_bytes(block[off:off + 4], "big")
            name = block[off + 4:off + 4 + n].decode()
            off += 4 + n
            m = int.from_bytes(block[off:off + 4], "big")
            h[name] = block[off + 4:off + 4 + m].decode()
            off += 4 + m
        self.fake.syn_headers.append(h)
        reply = self.zout.compress(header_block({})) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        self.send(control_frame(SYN_REPLY, 0, sid.to_bytes(4, "big") + reply))
        pair = self.pairs.setdefault(h["requestid"], {})
        pair[h["streamtype"]] = sid
        if len(pair) == 2:
            port = int(h["port"])
            target = self.fake.pods.get(self.pod, {}).get(port) or self.fake.backends.get(port)
            if target is None:
                text = f"error forwarding port {port} to pod web-a, uid : no forward found for port {port}"
                self.send(data_frame(pair["error"], FLAG_FIN, text.encode()))
                self.send(data_frame(pair["data"], FLAG_FIN, b""))
                return
            r, w = await asyncio.open_connection(*target)
            self.backend[pair["data"]] = w
            t = asyncio.ensure_future(self.down(pair["data"], r))
            self.tasks.add(t)

    async def down(self, sid: int, r: asyncio.StreamReader) -> None:
        while data := await r.read(65536):
            self.send(data_frame(sid, 0, data))
        self.send(data_frame(sid, FLAG_FIN, b""))


async def sink_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A backend that answers only after the client's EOF (needs a real half-close): the sha256 of what came."""
    data = await reader.read()
    writer.write(hashlib.sha256(data).hexdigest().encode())
    await writer.drain()
    writer.close()


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
