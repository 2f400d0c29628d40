"""aiohttp application exposing the Loki HTTP API subset documented in testbed/LOKI_API.md."""
from __future__ import annotations

import json
import re
import weakref

from aiohttp import WSCloseCode, web

from . import params as P
from .logql import LogQLError, parse_query, parse_selector
from .store import Store
from .tail import serve_tail

STORE = web.AppKey("store", Store)
CONFIG = web.AppKey("config", dict)
SOCKETS = web.AppKey("sockets", weakref.WeakSet)
HOUR_NS = 3600 * P.NS
LABELS_SINCE_NS = 6 * HOUR_NS
_LABEL_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
VERSION = "testbed-loki-1"


def _error(msg: str, status: int = 400) -> web.Response:
    return web.json_response({"status": "error", "errorType": "bad_data", "error": msg}, status=status)


def _bad(handler):
    """Turn parameter/query errors into 400 JSON answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (LogQLError, P.ParamError) as exc:
            return _error(str(exc))

    wrapped.__name__ = handler.__name__
    return wrapped


async def _params(request: web.Request) -> dict[str, str]:
    """Query string, merged with a urlencoded POST form (Loki accepts both for queries)."""
    out = dict(request.query)
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        out.update(await request.post())
    return out


def _parse_push(body: object) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        raise ValueError('expected a JSON object {"streams": [...]}')
    batch = []
    for si, st in enumerate(body["streams"]):
        where = f"streams[{si}]"
        if not isinstance(st, dict):
            raise ValueError(f"{where}: expected an object with 'stream' and 'values'")
        labels = st.get("stream")
        if not isinstance(labels, dict) or not labels:
            raise ValueError(f"{where}.stream: at least one label pair is required per stream")
        for k, v in labels.items():
            if not _LABEL_NAME_OK.match(k):
                raise ValueError(f"{where}.stream: invalid label name {k!r}")
            if not isinstance(v, str):
                raise ValueError(f"{where}.stream: label {k!r} must have a string value")
        labels = {k: v for k, v in labels.items() if v != ""}  # Loki drops empty-valued labels
        if not labels:
            raise ValueError(f"{where}.stream: at least one label pair is required per stream")
        values = st.get("values")
        if not isinstance(values, list):
            raise ValueError(f"{where}.values: expected a list of [\"<unix ns>\", \"<line>\"] pairs")
        entries = []
        for vi, val in enumerate(values):
            vw = f"{where}.values[{vi}]"
            if not isinstance(val, list) or len(val) not in (2, 3):
                raise ValueError(f'{vw}: expected ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {{metadata}}]')
            ts, line = val[0], val[1]
            if isinstance(ts, str) and ts.isdigit():
                ts = int(ts)
            elif not (isinstance(ts, int) and not isinstance(ts, bool) and ts >= 0):
                raise ValueError(f"{vw}: timestamp must be a string of unix nanoseconds, got {val[0]!r}")
            if not isinstance(line, str):
                raise ValueError(f"{vw}: log line must be a string")
            if len(val) == 3 and not (isinstance(val[2], dict) and all(isinstance(x, str) for x in val[2].values())):
                raise ValueError(f"{vw}: structured metadata must be an object of string values")
            entries.append((ts, line))
        batch.append((labels, entries))
    return batch


async def push(request: web.Request) -> web.Response:
    ctype = request.content_type
    if ctype not in ("application/json", "application/octet-stream", "text/plain", ""):
        return _error(f"unsupported Content-Type {ctype!r}: the testbed Loki accepts JSON pushes only "
                      "(snappy protobuf is not supported by the testbed Loki subset)", 415)
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(f"malformed push body: invalid JSON: {exc}")
    try:
        batch = _parse_push(body)
    except ValueError as exc:
        return _error(f"malformed push body: {exc}")
    request.app[STORE].push(batch)
    return web.Response(status=204)


def _streams_response(result) -> web.Response:
    data = [{"stream": labels, "values": [[str(ts), line] for ts, line in entries]} for labels, entries in result]
    return web.json_response({"status": "success", "data": {"resultType": "streams", "result": data, "stats": {}}})


@_bad
async def query_range(request: web.Request) -> web.Response:
    p = await _params(request)
    query = parse_query(p.get("query", ""))
    start, end = P.parse_range(p, HOUR_NS)
    if end < start:
        raise P.ParamError("end timestamp must not be before or equal to start time")
    limit = P.parse_limit(p, 100, request.app[CONFIG]["max_entries_limit"])
    direction = P.parse_direction(p)
    return _streams_response(request.app[STORE].select(query, start, end, limit, direction))


@_bad
async def query_instant(request: web.Request) -> web.Response:
    p = await _params(request)
    query = parse_query(p.get("query", ""))
    at = P.parse_timestamp("time", p.get("time"), P.now_ns())
    since = P.parse_duration("since", p["since"]) if p.get("since") else HOUR_NS
    limit = P.parse_limit(p, 100, request.app[CONFIG]["max_entries_limit"])
    direction = P.parse_direction(p)
    return _streams_response(request.app[STORE].select(query, at - since, at + 1, limit, direction))


def _scope(p: dict[str, str]):
    return parse_selector(p["query"]) if p.get("query") else None


@_bad
async def labels(request: web.Request) -> web.Response:
    p = await _params(request)
    start, end = P.parse_range(p, LABELS_SINCE_NS)
    return web.json_response({"status": "success", "data": request.app[STORE].label_names(_scope(p), start, end)})


@_bad
async def label_values(request: web.Request) -> web.Response:
    p = await _params(request)
    start, end = P.parse_range(p, LABELS_SINCE_NS)
    name = request.match_info["name"]
    values = request.app[STORE].label_values(name, _scope(p), start, end)
    return web.json_response({"status": "success", "data": values})


@_bad
async def series(request: web.Request) -> web.Response:
    matches = request.query.getall("match[]", [])
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        matches += (await request.post()).getall("match[]", [])
    if not matches:
        raise P.ParamError("match[] is required: at least one stream selector")
    start, end = P.parse_range(request.query, LABELS_SINCE_NS)
    store = request.app[STORE]
    seen: dict[tuple, dict[str, str]] = {}
    for m in matches:
        for s in store.matching_streams(parse_selector(m), start, end):
            seen[s.key] = dict(s.labels)
    return web.json_response({"status": "success", "data": [seen[k] for k in sorted(seen)]})


@_bad
async def tail(request: web.Request) -> web.StreamResponse:
    p = request.query
    query = parse_query(p.get("query", ""))
    cfg = request.app[CONFIG]
    start = P.parse_timestamp("start", p.get("start"), P.now_ns() - HOUR_NS)
    limit = P.parse_limit(p, 100, cfg["max_entries_limit"])
    try:
        delay = int(p.get("delay_for") or 0)
    except ValueError:
        raise P.ParamError(f"invalid delay_for {p.get('delay_for')!r}: expected whole seconds") from None
    if not 0 <= delay <= 5:
        raise P.ParamError("delay_for can't be greater than 5" if delay > 5 else "delay_for must not be negative")
    return await serve_tail(request, request.app[STORE], query, start, limit, float(delay),
                            cfg["tail_max_duration"], request.app[SOCKETS])


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ready\n")


async def buildinfo(request: web.Request) -> web.Response:
    return web.json_response({"version": VERSION, "revision": "", "branch": "", "buildUser": "", "buildDate": "",
                              "goVersion": ""})


async def metrics(request: web.Request) -> web.Response:
    s = request.app[STORE]
    rows = [
        ("loki_testbed_streams", "gauge", "Streams held in memory.", len(s.streams)),
        ("loki_testbed_lines", "gauge", "Lines held in memory.", s.total),
        ("loki_testbed_lines_max", "gauge", "Configured line bound.", s.max_lines),
        ("loki_testbed_lines_received_total", "counter", "Lines accepted by push.", s.received),
        ("loki_testbed_lines_evicted_total", "counter", "Oldest lines dropped to stay under the bound.", s.evicted),
        ("loki_testbed_tail_connections", "gauge", "Open tail WebSockets.", len(request.app[SOCKETS])),
    ]
    text = "".join(f"# HELP {n} {h}\n# TYPE {n} {t}\n{n} {v}\n" for n, t, h, v in rows)
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


async def _close_sockets(app: web.Application) -> None:
    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def make_app(store: Store | None = None, *, max_lines: int = 200_000, max_entries_limit: int = 5000,
             tail_max_duration: float = 3600.0) -> web.Application:
    """Build the Loki-API application. Pass `store` to share/inspect it (tests)."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STORE] = store if store is not None else Store(max_lines)
    app[CONFIG] = {"max_entries_limit": max_entries_limit, "tail_max_duration": tail_max_duration}
    app[SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(_close_sockets)
    r = app.router
    r.add_post("/loki/api/v1/push", push)
    for method in ("GET", "POST"):
        r.add_route(method, "/loki/api/v1/query_range", query_range)
        r.add_route(method, "/loki/api/v1/query", query_instant)
        r.add_route(method, "/loki/api/v1/labels", labels)
        r.add_route(method, "/loki/api/v1/label/{name}/values", label_values)
        r.add_route(method, "/loki/api/v1/series", series)
    r.add_get("/loki/api/v1/tail", tail)
    r.add_get("/loki/api/v1/status/buildinfo", buildinfo)
    r.add_get("/ready", ready)
    r.add_get("/metrics", metrics)
    return app
