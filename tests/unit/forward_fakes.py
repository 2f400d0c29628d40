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


# ---- a fake API for the ForwardManager: pods, a Service, watches and the streams above ----------------------

def fake_pod(name: str, *, ns: str = "ns", app: str = "web", ready: bool = True, rv: int = 1,
             deleting: bool = False, ready_at: str = "2026-01-01T00:00:10Z") -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": {"app": app}, "resourceVersion": str(rv),
                            "creationTimestamp": "2026-01-01T00:00:00Z", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T01:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n1", "containers": [
        {"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                       "lastTransitionTime": ready_at}]}}


class FakeKube:
    """get (pods, the Service web, label-selected pod lists), watch (per fieldSelector, fed by the test) and
    open_stream (through FakeStreams, whose pods are kept in step)."""

    def __init__(self, streams: FakeStreams) -> None:
        self.streams = streams
        self.client = streams.client()
        self.spdy: Any = None            # a spdy_fake.FakeSpdy: then the SPDY tunnel is offered
        self.spdy_client: KubeClient | None = None
        self.pods: dict[str, dict] = {}
        self.backends: dict[str, tuple[str, int]] = {}
        self.rv = 10
        self.watches: list[tuple[str, asyncio.Queue]] = []
        self.watch_calls: list[dict] = []
        self.service = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "clusterIP": "10.0.0.9",
                                                              "ports": [{"name": "http", "port": 80,
                                                                         "targetPort": "http"}]}}

    def add_pod(self, name: str, backend: tuple[str, int], **kw: Any) -> dict:
        self.rv += 1
        p = fake_pod(name, rv=self.rv, **kw)
        self.pods[name] = p
        self.streams.pods[f"ns/{name}"] = {8080: backend}
        if self.spdy is not None:
            self.spdy.pods[name] = {8080: backend}
        return p

    def _event(self, kind: str, p: dict) -> None:
        from ecotui.kube.client import WatchEvent
        import msgspec
        ev = WatchEvent(kind, msgspec.Raw(json.dumps(p).encode()))
        for sel, q in self.watches:
            if sel == f"metadata.name={p['metadata']['name']}":
                q.put_nowait(ev)

    def delete_pod(self, name: str, *, event: bool = True) -> None:
        p = self.pods.pop(name)
        self.streams.pods.pop(f"ns/{name}", None)
        if self.spdy is not None:
            self.spdy.pods.pop(name, None)
        self.rv += 1
        p["metadata"]["resourceVersion"] = str(self.rv)
        if event:
            self._event("DELETED", p)

    def modify_pod(self, name: str, **kw: Any) -> None:
        self.rv += 1
        old = self.pods[name]
        p = fake_pod(name, rv=self.rv, **kw)
        p["metadata"]["labels"] = old["metadata"]["labels"]
        self.pods[name] = p
        self._event("MODIFIED", p)

    async def get(self, path: str, type_: Any = None, *, params: Any = None) -> Any:
        from ecotui.kube.client import HttpStatusError
        if path == "/api/v1/namespaces/ns/services/web":
            return self.service
        if path == "/api/v1/namespaces/ns/pods":
            want = dict(kv.split("=") for kv in params["labelSelector"].split(","))
            return {"items": [p for p in self.pods.values()
                              if all(p["metadata"]["labels"].get(k) == v for k, v in want.items())]}
        name = path.rsplit("/", 1)[1]
        if path.startswith("/api/v1/namespaces/ns/pods/") and name in self.pods:
            return self.pods[name]
        raise HttpStatusError(f'{path}: pods "{name}" not found', status=404)

    def watch(self, path: str, *, params: Any = None, timeout_seconds: int = 300) -> Any:
        from contextlib import asynccontextmanager
        self.watch_calls.append(dict(params or {}))
        q: asyncio.Queue = asyncio.Queue()
        entry = (params["fieldSelector"], q)

        async def events() -> Any:
            while True:
                yield await q.get()

        @asynccontextmanager
        async def ctx() -> Any:
            self.watches.append(entry)
            try:
                yield events()
            finally:
                self.watches.remove(entry)
        return ctx()

    def offer_spdy(self, spdy: Any) -> None:
        self.spdy = spdy
        self.spdy_client = KubeClient(ClusterInfo(name="spdy", server=spdy.url),
                                      Authenticator(UserInfo(name="tester", token=spdy.token),
                                                    ClusterInfo(name="spdy", server=spdy.url)))
        for name in self.pods:
            spdy.pods[name] = self.streams.pods[f"ns/{name}"]

    async def open_stream(self, path: str, params: Any, protocols: Any, *, open_timeout: float = 10.0) -> Any:
        if "SPDY/3.1+portforward.k8s.io" in protocols and self.spdy_client is not None:
            from ecotui.kube.client import HttpStatusError
            name = path.split("/")[6]
            if name not in self.pods:
                raise HttpStatusError(f'pods "{name}" not found', status=404)
            return await self.spdy_client.open_stream(path, params, protocols, open_timeout=open_timeout)
        return await self.client.open_stream(path, params, protocols, open_timeout=open_timeout)


async def http_get(port: int, path: str = "/actuator/health", timeout: float = 5.0) -> dict:
    """One HTTP/1.1 GET on a new connection to 127.0.0.1:port; the JSON body."""
    async def go() -> dict:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            n = int(next(ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")).split(b":")[1])
            return json.loads(await reader.readexactly(n))
        finally:
            writer.close()
    return await asyncio.wait_for(go(), timeout)
