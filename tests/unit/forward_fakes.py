"""Fakes for the channel-stream and port-forward unit tests: a WebSocket "API server" on 127.0.0.1 that speaks
the v4/v5 channel framing like kube-apiserver → kubelet does, and small TCP backends behind its pods' ports."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo


def status(code: int, message: str, reason: str = "") -> Response:
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "reason": reason, "code": code}).encode()
    return Response(code, HTTPStatus(code).phrase, Headers([("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(body)))]), body)


@dataclass
class FakeStreams:
    """pods: "ns/name" → {pod port: (host, port) of a local TCP backend}."""

    token: str = "good"
    pods: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    protocols: tuple[str, ...] = ("v4.channel.k8s.io",)
    wrong_port_header: bool = False
    handshake_delay: float = 0.0
    accepted: int = 0
    auth_seen: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    active: int = 0
    url: str = ""

    async def start(self) -> FakeStreams:
        self._server = await serve(self._handler, "127.0.0.1", 0, process_request=self._check,
                                   select_subprotocol=self._select, compression=None, max_size=None)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def client(self, token: str | None = None) -> KubeClient:
        cluster = ClusterInfo(name="fake", server=self.url)
        return KubeClient(cluster, Authenticator(UserInfo(name="tester", token=token or self.token), cluster))

    def _select(self, conn: ServerConnection, offered: Any) -> Any:
        for p in offered:
            if p in self.protocols:
                return p
        return None

    async def _check(self, conn: ServerConnection, req: Request) -> Response | None:
        if self.handshake_delay:
            await asyncio.sleep(self.handshake_delay)
        auth = req.headers.get("Authorization", "")
        self.auth_seen.append(auth)
        path = urlsplit(req.path).path
        self.paths.append(req.path)
        if auth != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        parts = path.split("/")  # /api/v1/namespaces/NS/pods/POD/portforward
        if path.startswith("/echo"):
            return None
        if len(parts) != 8 or parts[7] not in ("portforward", "exec"):
            return status(404, "the server could not find the requested resource", "NotFound")
        key = f"{parts[4]}/{parts[6]}"
        if key in self.forbidden:
            return status(403, f'pods "{parts[6]}" is forbidden: User "no-rbac-user" cannot create resource '
                               f'"pods/portforward" in API group "" in the namespace "{parts[4]}"', "Forbidden")
        if key not in self.pods:
            return status(404, f'pods "{parts[6]}" not found', "NotFound")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.accepted += 1
        self.active += 1
        try:
            split = urlsplit(ws.request.path)  # type: ignore[union-attr]
            if split.path.startswith("/echo"):
                async for msg in ws:
                    await ws.send(msg)
                return
            parts = split.path.split("/")
            key = f"{parts[4]}/{parts[6]}"
            port = int(dict(parse_qsl(split.query)).get("ports", "0"))
            hdr = (port + 1 if self.wrong_port_header else port).to_bytes(2, "little")
            await ws.send(b"\x00" + hdr)
            await ws.send(b"\x01" + hdr)
            backend = self.pods.get(key, {}).get(port)
            if backend is None:
                await ws.send(b"\x01" + f"no forward found for port {port} in pod {parts[6]}".encode())
                return
            try:
                reader, writer = await asyncio.open_connection(*backend)
            except OSError as e:
                await ws.send(b"\x01" + f"connection refused: {e}".encode())
                return
            await _pump(ws, reader, writer)
        finally:
            self.active -= 1


async def _pump(ws: ServerConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    async def up() -> None:
        async for msg in ws:
            assert isinstance(msg, bytes) and msg[0] == 0, msg[:10]
            writer.write(msg[1:])
            await writer.drain()

    async def down() -> None:
        while data := await reader.read(65536):
            await ws.send(b"\x00" + data)

    tasks = [asyncio.ensure_future(up()), asyncio.ensure_future(down())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        writer.close()


class Backend:
    """A TCP server on 127.0.0.1: `http` answers one tiny HTTP/1.1 response per request (keep-alive) naming
    itself; `echo` echoes bytes."""

    def __init__(self, name: str, mode: str = "http") -> None:
        self.name = name
        self.mode = mode
        self.connections = 0

    async def start(self) -> Backend:
        self._srv = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.addr = self._srv.sockets[0].getsockname()[:2]
        return self

    async def stop(self) -> None:
        self._srv.close()
        for w in list(getattr(self, "_writers", [])):
            w.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers = getattr(self, "_writers", set())
        self._writers.add(writer)
        try:
            if self.mode == "echo":
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
                return
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    return
                body = json.dumps({"status": "UP", "pod": self.name}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
