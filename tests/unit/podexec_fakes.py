"""A fake exec endpoint for the podexec unit tests: a WebSocket "API server" on 127.0.0.1 that runs a few
scripted programs over the v5/v4 channel framing like kube-apiserver → kubelet (and KWOK's quirks) do.

Programs (argv[0]): `echo ARGS…` (stdout, Success), `fail N` (stderr, NonZeroExitCode N), `kwokfail N` (KWOK's
InternalError "exit status N"), `psql`/`redis-cli` (their answers to SELECT 1 / ping), `hostile` (escape sequences, exit 4), `cat` (stdin back on stdout until [255][0], then Success), `hang` (nothing),
`drop` (some output then a close without status), `garbage` (a non-JSON status), `sh`/`/bin/sh` (an
interactive toy shell: prompt, `echo …`, `size`, `exit N`), anything else: "executable file not found".
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest_asyncio
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from ecotui.kube.writegate import WriteGate

SUCCESS = {"metadata": {}, "status": "Success"}


def failure(message: str, reason: str = "InternalError", code: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"metadata": {}, "status": "Failure", "message": message, "reason": reason}
    if code is not None:
        doc["details"] = {"causes": [{"reason": "ExitCode", "message": str(code)}]}
    return doc


def http_status(code: int, message: str) -> Response:
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "code": code}).encode()
    return Response(code, HTTPStatus(code).phrase, Headers([("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(body)))]), body)


@dataclass
class FakeExec:
    protocols: tuple[str, ...] = ("v5.channel.k8s.io", "v4.channel.k8s.io")
    pods: set[str] = field(default_factory=lambda: {"ns/db-0"})
    forbidden: set[str] = field(default_factory=set)
    forbidden_bare: set[str] = field(default_factory=set)   # the upgrade's `create` check: a bare message
    url: str = ""
    requests: list[dict[str, list[str]]] = field(default_factory=list)   # query of every exec, in order
    stdin_seen: list[bytes] = field(default_factory=list)
    resizes: list[dict[str, int]] = field(default_factory=list)
    upgrades: int = 0

    async def start(self) -> FakeExec:
        self._server = await serve(self._handler, "127.0.0.1", 0, process_request=self._check,
                                   select_subprotocol=self._select, compression=None, max_size=None)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def client(self, readonly: bool = False) -> KubeClient:
        cluster = ClusterInfo(name="fake", server=self.url)
        return KubeClient(cluster, Authenticator(UserInfo(name="tester", token="t"), cluster),
                          gate=WriteGate("fake", readonly))

    def _select(self, conn: ServerConnection, offered: Any) -> Any:
        return next((p for p in offered if p in self.protocols), None)

    async def _check(self, conn: ServerConnection, req: Request) -> Response | None:
        self.upgrades += 1
        parts = urlsplit(req.path).path.split("/")   # /api/v1/namespaces/NS/pods/POD/exec
        if len(parts) != 8 or parts[7] != "exec":
            return http_status(404, "the server could not find the requested resource")
        key = f"{parts[4]}/{parts[6]}"
        if key in self.forbidden:
            return http_status(403, f'pods "{parts[6]}" is forbidden: User "no-rbac-user" cannot create resource '
                                    f'"pods/exec" in API group "" in the namespace "{parts[4]}"')
        if key in self.forbidden_bare:
            return http_status(403, f'pods "{parts[6]}" is forbidden: ')
        if key not in self.pods:
            return http_status(404, f'pods "{parts[6]}" not found')
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        query: dict[str, list[str]] = {}
        for k, v in parse_qsl(urlsplit(ws.request.path).query):   # type: ignore[union-attr]
            query.setdefault(k, []).append(v)
        self.requests.append(query)
        argv = query.get("command", [])
        v5 = ws.subprotocol == "v5.channel.k8s.io"
        tty = query.get("tty") == ["true"]

        async def out(data: bytes, channel: int = 1) -> None:
            await ws.send(bytes([2 if channel == 2 and not tty else 1]) + data)

        async def status(doc: dict[str, Any]) -> None:
            await ws.send(b"\x03" + json.dumps(doc).encode())
            await ws.close()

        prog = argv[0] if argv else ""
        if prog == "echo":
            await out(" ".join(argv[1:]).encode() + b"\n")
            await status(SUCCESS)
        elif prog == "psql":
            await out(b" ?column? \n----------\n        1\n(1 row)\n\n")
            await status(SUCCESS)
        elif prog == "redis-cli":
            await out(b"PONG\n")
            await status(SUCCESS)
        elif prog == "hostile":
            await out(b"\x1b[2Jgone\x07\n")
            await out(b"\x1b]0;title\x07err\n", 2)
            await status(failure("exit status 4"))
        elif prog == "fail":
            await out(b"boom\n", 2)
            await status(failure(f"command terminated with non-zero exit code: exit status {argv[1]}",
                                 "NonZeroExitCode", int(argv[1])))
        elif prog == "kwokfail":
            await out(b"partial\n")
            await status(failure("Internal error occurred: error executing command in container: "
                                 f"exit status {argv[1]}"))
        elif prog == "cat":
            got = bytearray()
            async for msg in ws:
                assert isinstance(msg, bytes)
                if msg[:1] == b"\xff" and v5:
                    break
                if msg[:1] == b"\x00":
                    got += msg[1:]
                    await out(msg[1:])
            self.stdin_seen.append(bytes(got))
            await status(SUCCESS)
        elif prog == "hang":   # until the client goes away (bounded)
            await asyncio.wait_for(ws.wait_closed(), 30)
        elif prog == "drop":
            await out(b"half")
            await ws.close()
        elif prog == "garbage":
            await ws.send(b"\x03not json at all")
            await ws.close()
        elif prog in ("sh", "/bin/sh"):
            await self._toy_shell(ws, out, status)
        else:
            await status(failure(f'Internal error occurred: error executing command in container: exec: "{prog}": '
                                 "executable file not found in $PATH"))

    async def _toy_shell(self, ws: ServerConnection, out: Any, status: Any) -> None:
        await out(b"$ ")
        line = bytearray()
        async for msg in ws:
            assert isinstance(msg, bytes)
            ch, data = msg[0], msg[1:]
            if ch == 4:
                self.resizes.append(json.loads(data))
                continue
            if ch == 255:
                await status(SUCCESS)
                return
            if ch != 0:
                continue
            self.stdin_seen.append(bytes(data))
            for b in data:
                if b == 4 and not line:          # ^D on an empty line: EOF
                    await out(b"\r\n")
                    await status(SUCCESS)
                    return
                if b in (13, 10):
                    await out(b"\r\n")
                    cmd = line.decode()
                    line.clear()
                    if cmd.startswith("exit"):
                        code = int(cmd.split()[1]) if len(cmd.split()) > 1 else 0
                        await status(SUCCESS if code == 0 else failure(
                            f"command terminated with non-zero exit code: exit status {code}", "NonZeroExitCode",
                            code))
                        return
                    if cmd.startswith("echo "):
                        await out(cmd[5:].encode() + b"\r\n")
                    elif cmd == "size":
                        last = self.resizes[-1] if self.resizes else {}
                        await out(f"{last.get('Width')}x{last.get('Height')}\r\n".encode())
                    elif cmd:
                        await out(f"sh: {cmd}: not found\r\n".encode())
                    await out(b"$ ")
                else:
                    line.append(b)
                    await out(bytes([b]))   # the remote tty echoes


@pytest_asyncio.fixture
async def fake() -> Any:
    """A started FakeExec, stopped after the test (import it into a test module to use it)."""
    srv = await FakeExec().start()
    try:
        yield srv
    finally:
        await srv.stop()
