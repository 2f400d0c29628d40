"""A small in-process Kubernetes API server for tests (aiohttp on 127.0.0.1, port 0 unless given).

It keeps objects per resource with a global resourceVersion (RV) and the full change history, serves
paginated LISTs (limit/continue) and WATCH streams (history after the requested RV, live events, optional
bookmarks), and can be told to fail: compact the history (`compact()`), queue canned responses (429 with
Retry-After, 403, malformed JSON...), require bearer tokens (401 otherwise), drop watch connections, or
stop and start again on the same port.

resourceVersion semantics follow the real kube-apiserver (api-concepts "Resource versions"; etcd3 store
and watch cache) as far as LIST+WATCH clients can tell:

LIST (`resourceVersionMatch` / `limit` / `resourceVersion`):
  - RV unset or "": most recent, a consistent read; paged when `limit` is given.
  - RV "0" (match unset or NotOlderThan): any, served from the "watch cache": the current state, and
    `limit` is ignored (the whole list, no continue token), as the watch cache does (client-go's reflector
    relies on it); `cache_ignores_limit = False` pages it instead, like servers that paginate from
    watch-cache snapshots.
  - RV N, match NotOlderThan (or unset without limit): the current state, served whole from the watch
    cache if no limit, paged (at the current RV) with a limit.
  - RV N, match Exact (or unset *with* limit, the legacy rule): the state at exactly N, rebuilt from the
    history; 410 Expired ("The resourceVersion for the provided list is too old.") if N was compacted.
  - N newer than the current RV: 504 Timeout "Too large resource version: N, current: M".
  - Invalid combinations are refused like the real server: resourceVersionMatch without resourceVersion,
    with continue, Exact with "0", an unknown value: 422 Invalid; resourceVersion with continue: 400.
  - Continue tokens are real-looking (base64url JSON {"v", "rv", "start"}): each page is read at the RV
    the first page was served at, from the key after the last one returned (so objects changed since
    show their old version, like etcd). A token whose RV was compacted fails with 410 Expired, the real
    message, and `metadata.continue` set to an "inconsistent" token (rv -1) that would continue at the
    latest RV. `remainingItemCount` is set when there is no selector.

WATCH:
  - RV unset/"" or "0": synthetic ADDED events for the current state, then changes.
  - RV N: every change after N; N older than the compaction point: 410 Expired "too old resource
    version: N (C)" as an in-stream ERROR event (`expire_as_event`, the default, as the watch cache and
    the etcd watcher both do once the watch is accepted) or as the HTTP status.

Knobs: `compact(rv=None)` forgets the history before `rv` (default: now), which expires older continue
tokens, Exact lists and watches; `on_list` (an async callable) runs before each LIST is served, e.g. to
change or compact the cluster between the pages of a paged list.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import ClientError, web

RESOURCES = ("pods", "nodes", "events", "namespaces", "deployments", "secrets")
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


def status_body(code: int, message: str, reason: str = "", **extra: Any) -> bytes:
    """A `Status` like the API server's (`extra`: e.g. metadata={"continue": ...}, details={...})."""
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": extra.pop("metadata", {}),
                       "status": "Failure", "message": message, "reason": reason, "code": code,
                       **extra}).encode()


# the messages of k8s.io/apiserver/pkg/storage/etcd3 (store.go) for compacted revisions
EXPIRED_LIST = "The resourceVersion for the provided list is too old."
EXPIRED_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this response "
                    "to retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the "
                    "first chunk was returned and now may show up in the list.")


def encode_continue(rv: int, start: str) -> str:
    """A continue token like storage.EncodeContinue: base64url (no padding) of {"v","rv","start"}."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(rv, start key) of a continue token; ValueError if it is not one."""
    try:
        d = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv, start = d["rv"], d["start"]
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"invalid continue token: {e}") from None
    if d.get("v") != "meta.k8s.io/v1" or not isinstance(rv, int) or rv == 0 or not isinstance(start, str):
        raise ValueError("continue key is not valid: incorrect encoded start resourceVersion "
                         "(version meta.k8s.io/v1)")
    return rv, start


class _Refused(Exception):
    def __init__(self, code: int, message: str, reason: str, **extra: Any) -> None:
        super().__init__(message)
        self.response = web.Response(status=code, body=status_body(code, message, reason, **extra),
                                     content_type="application/json")


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
        self.compacted = 0  # history before this RV is gone: older watches, Exact lists, continue tokens get 410
        self.expire_as_event = True  # a too-old watch: 410 as an in-stream ERROR event (False: HTTP status)
        self.on_list: Callable[[Req], Awaitable[None]] | None = None  # runs before each LIST is served
        self.cache_ignores_limit = True  # RV "0" lists come whole from the watch cache (False: paged)
        self.bookmark_interval: float | None = None
        self.max_watch_seconds = 30.0
        self.tokens: set[str] | None = None  # accepted bearer tokens (None: no auth check)
        self.requests: list[Req] = []
        self.faults: list[Fault] = []
        self.client_certs: list[dict[str, Any]] = []
        self._cond = asyncio.Condition()
        self._watchers: dict[int, web.BaseRequest] = {}
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
        for prefix in ("/apis/{group}/{version}",):  # any API group: resources are told apart by plural name
            app.router.add_get(prefix + "/{resource}", self._resource)
            app.router.add_get(prefix + "/namespaces/{ns}/{resource}", self._resource)
            app.router.add_get(prefix + "/namespaces/{ns}/{resource}/{name}", self._object)
            app.router.add_get(prefix + "/{resource}/{name}", self._object)
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

    def compact(self, rv: int | None = None) -> None:
        """Forget the history before `rv` (default: the current RV), like etcd's compaction: watches from an
        older RV, Exact lists at an older RV and continue tokens issued at an older RV get 410 Expired."""
        self.compacted = max(self.compacted, self.rv if rv is None else rv)

    def state_at(self, resource: str, rv: int) -> dict[str, dict[str, Any]]:
        """The objects of `resource` as they were at `rv` (rebuilt from the history)."""
        if rv >= self.rv:
            return self.objects[resource]
        out: dict[str, dict[str, Any]] = {}
        for at, res, type_, obj in self.history:
            if at > rv:
                break
            if res == resource:
                if type_ == "DELETED":
                    out.pop(_key(obj), None)
                else:
                    out[_key(obj)] = obj
        return out

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
        try:
            if req.watch:
                return await self._watch(request, resource, ns, q)
            if self.on_list is not None:
                await self.on_list(req)
            return self._list(resource, ns, q)
        except _Refused as e:
            return e.response

    def _parse_rv(self, value: str) -> int:
        try:
            rv = int(value)
            if rv < 0:
                raise ValueError(value)
        except ValueError:
            raise _Refused(400, f"invalid resource version: {value!r}", "BadRequest") from None
        return rv

    def _too_large(self, rv: int) -> None:
        if rv > self.rv:  # the watch cache waits up to 3 s for it, then gives up like this
            raise _Refused(504, f"Too large resource version: {rv}, current: {self.rv}", "Timeout",
                           details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}], "retryAfterSeconds": 1})

    def _list(self, resource: str, ns: str | None, q: dict[str, str]) -> web.Response:
        rv_param, match, cont = q.get("resourceVersion", ""), q.get("resourceVersionMatch", ""), q.get("continue", "")
        limit = int(q.get("limit", "0") or 0)
        problems = []  # metainternalversion/validation ValidateListOptions
        if match:
            if not rv_param:
                problems.append("resourceVersionMatch is forbidden unless resourceVersion is provided")
            if cont:
                problems.append("resourceVersionMatch is forbidden when continue is provided")
            if match not in ("Exact", "NotOlderThan"):
                problems.append(f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
                                '"Exact", "NotOlderThan", ""')
            if match == "Exact" and rv_param == "0":
                problems.append('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
        if problems:
            raise _Refused(422, f"ListOptions.meta.k8s.io \"\" is invalid: {'; '.join(problems)}", "Invalid")
        start = ""
        if cont:
            if rv_param and rv_param != "0":
                raise _Refused(400, "specifying resource version is not allowed when using continue", "BadRequest")
            try:
                at, start = decode_continue(cont)
            except ValueError as e:
                raise _Refused(400, str(e), "BadRequest") from None
            if at < 0:  # the "inconsistent" token of an expired one: go on at the latest RV
                at = self.rv
            elif at < self.compacted:
                next_token = encode_continue(-1, start)
                raise _Refused(410, EXPIRED_CONTINUE, "Expired", metadata={"continue": next_token})
        elif rv_param in ("", "0") and not match:
            at = self.rv  # "" most recent (consistent); "0" any (the watch cache: the current state)
            if rv_param == "0" and self.cache_ignores_limit:
                limit = 0
        elif rv_param == "0":  # NotOlderThan 0: any
            at = self.rv
            if self.cache_ignores_limit:
                limit = 0
        else:
            n = self._parse_rv(rv_param)
            self._too_large(n)
            exact = match == "Exact" or (not match and limit > 0)  # legacy: N with a limit means Exact
            if exact:
                if n < self.compacted:
                    raise _Refused(410, EXPIRED_LIST, "Expired")
                at = n
            else:
                at = self.rv
        sel = q.get("fieldSelector", "")
        state = self.state_at(resource, at)
        items = [o for k, o in sorted(state.items()) if k > start and self._matches(resource, ns, o, sel)]
        meta: dict[str, Any] = {"resourceVersion": str(at)}
        if limit and len(items) > limit:
            meta["continue"] = encode_continue(at, _key(items[limit - 1]) + "\x00")
            if not sel and not q.get("labelSelector"):
                meta["remainingItemCount"] = len(items) - limit
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
        rv_param = q.get("resourceVersion", "")
        if q.get("resourceVersionMatch") and q.get("sendInitialEvents") is None:
            raise _Refused(422, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch is forbidden for '
                                'watch unless sendInitialEvents is provided', "Invalid")
        initial = rv_param in ("", "0")  # "Get State and Start at Most Recent / Any"
        since = self.rv if initial else self._parse_rv(rv_param)
        too_old = None
        if since < self.compacted:
            too_old = status_body(410, f"too old resource version: {since} ({self.compacted})", "Expired")
            if not self.expire_as_event:
                return web.Response(status=410, body=too_old, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if too_old is not None:
            await resp.write(json.dumps({"type": "ERROR", "object": json.loads(too_old)}).encode() + b"\n")
            await resp.write_eof()
            return resp
        if initial:
            for _, o in sorted(self.objects[resource].items()):
                if self._matches(resource, ns, o, ""):
                    await resp.write(json.dumps({"type": "ADDED", "object": o}).encode() + b"\n")
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
