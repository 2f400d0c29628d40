"""A small in-process Kubernetes API server for tests (aiohttp on 127.0.0.1, port 0 unless given).

It keeps objects per resource with a global resourceVersion, serves paginated LISTs (limit/continue) and
WATCH streams (history after the requested RV, live events, optional bookmarks), and can be told to
fail: expire RVs (410 as HTTP status or as an in-stream ERROR event), queue canned responses (429 with
Retry-After, 403, malformed JSON...), require bearer tokens (401 otherwise), drop watch connections, or
stop and start again on the same port.
"""
from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import ClientError, web

RESOURCES = ("pods", "nodes", "events", "namespaces")
NAMESPACED = {"pods", "events"}


@dataclass
class Req:
    method: str
    resource: str
    namespace: str | None
    query: dict[str, str]
    auth: str
    at: float
    name: str = ""  # a GET of one object

    @property
    def watch(self) -> bool:
        return self.query.get("watch") in ("1", "true")


@dataclass
class Fault:
    match: Callable[[Req], bool]
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def status_body(code: int, message: str, reason: str = "") -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "reason": reason, "code": code}).encode()


def pod(ns: str, name: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running", **status}}


def node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-{name}"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"}]}}


def namespace(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-ns-{name}"}, "status": {"phase": "Active"}}


def event(ns: str, name: str, involved: str, last: str, reason: str = "Started") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-ev-{name}"},
            "involvedObject": {"kind": "Pod", "name": involved, "namespace": ns},
            "reason": reason, "message": f"{reason} {involved}", "type": "Normal", "count": 1,
            "lastTimestamp": last}


def _key(obj: dict[str, Any]) -> str:
    m = obj["metadata"]
    return f"{m.get('namespace', '')}/{m['name']}"


class FakeApiServer:
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.ssl_context = ssl_context
        self.port = port
        self.rv = 1000
        self.objects: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
        self.history: list[tuple[int, str, str, dict[str, Any]]] = []
        self.compacted = 0  # watches from an RV below this get 410
        self.expire_as_event = False  # 410 as an in-stream ERROR event instead of the HTTP status
        self.bookmark_interval: float | None = None
        self.max_watch_seconds = 30.0
        self.tokens: set[str] | None = None  # accepted bearer tokens (None: no auth check)
        self.requests: list[Req] = []
        self.faults: list[Fault] = []
        self.client_certs: list[dict[str, Any]] = []
        self._cond = asyncio.Condition()
        self._watchers: dict[int, web.BaseRequest] = {}
        self._continues: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self._closing = False
        self._runner: web.AppRunner | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> "FakeApiServer":
        app = web.Application()
        app.router.add_get("/version", self._version)
        app.router.add_get("/api/v1/{resource}", self._resource)
        app.router.add_get("/api/v1/namespaces/{ns}/{resource}", self._resource)
        app.router.add_get("/api/v1/namespaces/{ns}/{resource}/{name}", self._object)
        app.router.add_get("/api/v1/{resource}/{name}", self._object)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context,
                           reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Go away abruptly: open watch connections are cut, new connections are refused."""
        self._closing = True
        self.drop_watches()
        async with self._cond:
            self._cond.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def drop_watches(self) -> None:
        for req in list(self._watchers.values()):
            if req.transport is not None:
                req.transport.abort()

    # ---- state --------------------------------------------------------------------------------

    def _record(self, resource: str, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if type_ == "DELETED":
            self.objects[resource].pop(_key(obj), None)
        else:
            self.objects[resource][_key(obj)] = obj
        self.history.append((self.rv, resource, type_, obj))
        return obj

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or update (ADDED / MODIFIED)."""
        type_ = "MODIFIED" if _key(obj) in self.objects[resource] else "ADDED"
        out = self._record(resource, type_, obj)
        await self._notify()
        return out

    async def delete(self, resource: str, ns: str, name: str) -> None:
        obj = self.objects[resource][f"{ns}/{name}"]
        self._record(resource, "DELETED", obj)
        await self._notify()

    def seed(self, resource: str, objs: list[dict[str, Any]]) -> None:
        for o in objs:
            self._record(resource, "ADDED", o)

    def compact(self) -> None:
        """Forget history: any watch from an RV before now gets 410 Gone."""
        self.compacted = self.rv

    def fail(self, match: Callable[[Req], bool], status: int, body: bytes | str | None = None,
             headers: dict[str, str] | None = None, times: int = 1) -> None:
        if body is None:
            body = status_body(status, f"injected {status}")
        self.faults.append(Fault(match, status, body.encode() if isinstance(body, str) else body,
                                 headers or {}, times))

    def lists(self, resource: str | None = None) -> list[Req]:
        return [r for r in self.requests if not r.watch and r.resource != "version" and not r.name
                and (resource is None or r.resource == resource)]

    def gets(self, resource: str | None = None) -> list[Req]:
        """GETs of single objects."""
        return [r for r in self.requests if r.name and (resource is None or r.resource == resource)]

    def watches(self, resource: str | None = None) -> list[Req]:
        return [r for r in self.requests if r.watch and (resource is None or r.resource == resource)]

    # ---- handlers -----------------------------------------------------------------------------

    def _pre(self, request: web.Request, req: Req) -> web.Response | None:
        self.requests.append(req)
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        if peer:
            self.client_certs.append(peer)
        if self.tokens is not None and req.auth not in {f"Bearer {t}" for t in self.tokens}:
            return web.Response(status=401, body=status_body(401, "Unauthorized", "Unauthorized"),
                                content_type="application/json")
        for f in self.faults:
            if f.times > 0 and f.match(req):
                f.times -= 1
                return web.Response(status=f.status, body=f.body, headers=f.headers,
                                    content_type="application/json")
        return None

    async def _version(self, request: web.Request) -> web.Response:
        req = Req("GET", "version", None, dict(request.query), request.headers.get("Authorization", ""),
                  time.monotonic())
        early = self._pre(request, req)
        if early is not None:
            return early
        return web.json_response({"major": "1", "minor": "36", "gitVersion": "v1.36.3-fake"})

    def _matches(self, resource: str, ns: str | None, obj: dict[str, Any], selector: str) -> bool:
        if ns is not None and obj["metadata"].get("namespace") != ns:
            return False
        for term in filter(None, selector.split(",")):
            path, _, want = term.partition("=")
            cur: Any = obj
            for part in path.split("."):
                cur = cur.get(part, "") if isinstance(cur, dict) else ""
            if str(cur) != want:
                return False
        return True

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        resource, ns = request.match_info["resource"], request.match_info.get("ns")
        q = dict(request.query)
        req = Req("GET", resource, ns, q, request.headers.get("Authorization", ""), time.monotonic())
        early = self._pre(request, req)
        if early is not None:
            return early
        if resource not in RESOURCES:
            return web.Response(status=404, body=status_body(404, "not found", "NotFound"),
                                content_type="application/json")
        if req.watch:
            return await self._watch(request, resource, ns, q)
        sel = q.get("fieldSelector", "")
        if "continue" in q:
            rv, items = self._continues.pop(q["continue"])
        else:
            rv = str(self.rv)
            items = [o for k, o in sorted(self.objects[resource].items()) if self._matches(resource, ns, o, sel)]
        limit = int(q.get("limit", "0") or 0)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if limit and len(items) > limit:
            token = f"c{len(self._continues)}-{rv}-{time.monotonic_ns()}"
            self._continues[token] = (rv, items[limit:])
            meta["continue"] = token
            items = items[:limit]
        return web.json_response({"kind": "List", "apiVersion": "v1", "metadata": meta, "items": items})

    async def _object(self, request: web.Request) -> web.Response:
        resource, ns, name = request.match_info["resource"], request.match_info.get("ns"), request.match_info["name"]
        req = Req("GET", resource, ns, dict(request.query), request.headers.get("Authorization", ""),
                  time.monotonic(), name)
        early = self._pre(request, req)
        if early is not None:
            return early
        obj = self.objects.get(resource, {}).get(f"{ns or ''}/{name}")
        if obj is None:
            return web.Response(status=404, body=status_body(404, f'{resource} "{name}" not found', "NotFound"),
                                content_type="application/json")
        return web.json_response(obj)

    async def _watch(self, request: web.Request, resource: str, ns: str | None,
                     q: dict[str, str]) -> web.StreamResponse:
        since = int(q.get("resourceVersion") or 0)
        if since < self.compacted and not self.expire_as_event:
            return web.Response(status=410, body=status_body(410, f"too old resource version: {since}", "Expired"),
                                content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if since < self.compacted:
            await resp.write(json.dumps({"type": "ERROR", "object": json.loads(
                status_body(410, f"too old resource version: {since}", "Expired"))}).encode() + b"\n")
            await resp.write_eof()
            return resp
        self._watchers[id(request)] = request
        deadline = time.monotonic() + min(float(q.get("timeoutSeconds", 30)), self.max_watch_seconds)
        sent = since
        allow_bookmarks = q.get("allowWatchBookmarks") == "true"
        next_bookmark = time.monotonic() + (self.bookmark_interval or 0)
        try:
            while not self._closing:
                for rv, res, type_, obj in self.history:
                    if rv > sent and res == resource and self._matches(resource, ns, obj, ""):
                        await resp.write(json.dumps({"type": type_, "object": obj}).encode() + b"\n")
                sent = max(sent, self.rv)
                now = time.monotonic()
                bookmarks = allow_bookmarks and self.bookmark_interval
                if now >= deadline:
                    break
                if bookmarks and now >= next_bookmark:
                    await resp.write(json.dumps({"type": "BOOKMARK", "object": {
                        "metadata": {"resourceVersion": str(self.rv)}}}).encode() + b"\n")
                    next_bookmark = now + self.bookmark_interval  # type: ignore[operator]
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    async with self._cond:
                        await asyncio.wait_for(self._cond.wait(), timeout=max(wait, 0.001))
                except asyncio.TimeoutError:
                    pass
            if not self._closing:
                await resp.write_eof()
        except (ConnectionError, RuntimeError, ClientError):
            pass  # the client went away or we dropped it
        finally:
            self._watchers.pop(id(request), None)
        return resp
