"""aiohttp application exposing the Loki HTTP API subset documented in testbed/LOKI_API.md."""
from __future__ import annotations

import datetime
import json
import re
import time
import weakref
from pathlib import Path

import msgspec
from aiohttp import WSCloseCode, web

from . import params as P
from .logql import LogQLError, parse_query, parse_selector
from .store import Store
from .tail import serve_tail

STORES = web.AppKey("stores", dict)
CONFIG = web.AppKey("config", dict)
SOCKETS = web.AppKey("sockets", dict)  # tenant -> WeakSet of open tail sockets
HOUR_NS = 3600 * P.NS
LABELS_SINCE_NS = 6 * HOUR_NS
_LABEL_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TENANT_OK = re.compile(r"[A-Za-z0-9!_.*'()-]{1,150}\Z")
VERSION = "testbed-loki-2"
NO_AUTH_TENANT = "fake"  # Loki's tenant when auth_enabled is false
CATEGORIZE = "categorize-labels"
# Loki 3 `discover_service_name` default: the first of these labels becomes service_name
SERVICE_NAME_FROM = ("service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container",
                     "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name")
LEVEL_KEYS = ("level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL", "Lvl")
_LOGFMT_LEVEL = re.compile(r'(?:^|\s)(?:level|lvl|severity)=("?)([A-Za-z]+)\1')
_JSON_LEVEL = re.compile(r'"(?:level|LEVEL|Level|severity|SEVERITY|Severity|lvl)"\s*:\s*"([A-Za-z]+)"')


class HTTPError(Exception):
    def __init__(self, status: int, msg: str):
        super().__init__(msg)
        self.status = status


def _error(msg: str, status: int = 400) -> web.Response:
    """Loki's error answers: the message as text/plain (Go's http.Error), never JSON."""
    return web.Response(status=status, text=msg.rstrip("\n") + "\n", content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


def _bad(handler):
    """Turn parameter/query errors into 400 text answers; check the tenant first (401 without one)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            tenant(request)
            return await handler(request)
        except (LogQLError, P.ParamError) as exc:
            return _error(str(exc))
        except HTTPError as exc:
            return _error(str(exc), exc.status)

    wrapped.__name__ = handler.__name__
    return wrapped


def tenant(request: web.Request) -> str:
    """X-Scope-OrgID when auth is enabled (401 `no org id` without it), else Loki's single tenant "fake"."""
    if not request.app[CONFIG]["auth_enabled"]:
        return NO_AUTH_TENANT
    org = request.headers.get("X-Scope-OrgID", "").strip()
    if not org:
        raise HTTPError(401, "no org id")
    if "|" in org:
        raise HTTPError(400, "multi-tenant queries are not supported by the testbed Loki subset")
    if not _TENANT_OK.match(org) or org in (".", ".."):
        raise HTTPError(401, f"tenant ID {org!r} contains unsupported characters")
    return org


def store_of(request: web.Request) -> Store:
    t = tenant(request)
    stores = request.app[STORES]
    s = stores.get(t)
    if s is None:
        cfg = request.app[CONFIG]
        path = Path(cfg["data_dir"]) / f"{t}.wal" if cfg["data_dir"] else None
        s = stores[t] = Store(cfg["max_lines"], path)
    return s


async def _params(request: web.Request) -> dict[str, str]:
    """Query string, merged with a urlencoded POST form (Loki accepts both for queries)."""
    out = dict(request.query)
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        out.update({k: str(v) for k, v in (await request.post()).items()})
    return out


def detect_level(line: str) -> str:
    """Loki 3's detected_level (approximately): a JSON or logfmt level field, else keywords in the line."""
    m = (_JSON_LEVEL.search(line) if line.startswith("{") else None) or (
        _LOGFMT_LEVEL.search(line) if ("level=" in line or "lvl=" in line or "severity=" in line) else None)
    if m:
        v = m.group(m.lastindex or 1).lower()
        return {"warning": "warn", "err": "error", "eror": "error", "crit": "critical", "dbg": "debug",
                "inf": "info", "trc": "trace"}.get(v, v)
    if "info" in line or "INFO" in line:
        return "info"
    if "err" in line or "ERR" in line:
        return "error"
    if "warn" in line or "WARN" in line:
        return "warn"
    if "CRITICAL" in line or "critical" in line:
        return "critical"
    if "debug" in line or "DEBUG" in line:
        return "debug"
    return "unknown"


def _stream_name(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


class _FastStream(msgspec.Struct):
    stream: dict[str, str]
    values: list[tuple[str, str]]


class _FastBody(msgspec.Struct):
    streams: list[_FastStream]


_decode_fast = msgspec.json.Decoder(_FastBody).decode


def _structure_fast(raw: bytes) -> list[tuple[dict[str, str], list[tuple]]] | None:
    """The usual push (string labels, 2-element values, digit timestamps) decoded straight into typed values;
    None for anything else, which the general path then reads (and explains)."""
    try:
        body = _decode_fast(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    out = []
    for st in body.streams:
        if not all(_LABEL_NAME_OK.match(k) for k in st.stream):
            return None
        vals = st.values
        if not all(ts.isdigit() for ts, _ in vals):
            return None
        out.append((st.stream, [(int(ts), line, ()) for ts, line in vals]))
    return out


def _structure(body: object) -> list[tuple[dict[str, str], list[tuple]]]:
    """The general path: a decoded JSON body checked field by field. Raises ValueError (nothing stored)."""
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        raise ValueError('expected a JSON object {"streams": [...]}')
    out: list[tuple[dict[str, str], list[tuple]]] = []
    for si, st in enumerate(body["streams"]):
        where = f"streams[{si}]"
        if not isinstance(st, dict):
            raise ValueError(f"{where}: expected an object with 'stream' and 'values'")
        labels = st.get("stream")
        if not isinstance(labels, dict):
            raise ValueError(f"{where}.stream: expected an object of label pairs")
        for k, v in labels.items():
            if not _LABEL_NAME_OK.match(k):
                raise ValueError(f"{where}.stream: invalid label name {k!r}")
            if not isinstance(v, str):
                raise ValueError(f"{where}.stream: label {k!r} must have a string value")
        values = st.get("values")
        if not isinstance(values, list):
            raise ValueError(f"{where}.values: expected a list of [\"<unix ns>\", \"<line>\"] pairs")
        entries: list[tuple] = []
        for vi, val in enumerate(values):
            vw = f"{where}.values[{vi}]"
            if not isinstance(val, list) or len(val) not in (2, 3):
                raise ValueError(f'{vw}: expected ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {{metadata}}]')
            ts, line = val[0], val[1]
            if not (isinstance(ts, str) and ts.isdigit()):
                raise ValueError(f"{vw}: timestamp must be a JSON string of unix nanoseconds, got {val[0]!r}")
            if not isinstance(line, str):
                raise ValueError(f"{vw}: log line must be a string")
            meta: tuple = ()
            if len(val) == 3:
                if not (isinstance(val[2], dict) and all(isinstance(x, str) for x in val[2].values())):
                    raise ValueError(f"{vw}: structured metadata must be an object of string values")
                meta = tuple(sorted(val[2].items()))
            entries.append((int(ts), line, meta))
        out.append((labels, entries))
    return out


def _parse_push(streams: list[tuple[dict[str, str], list[tuple]]], cfg: dict,
                now: int) -> tuple[list[tuple[dict[str, str], list[tuple]]], list[str]]:
    """Per-stream/entry validation: failures are collected and the rest is stored, as Loki's distributor does (it
    then answers 400 with the failures)."""
    batch: list[tuple[dict[str, str], list[tuple]]] = []
    rejected: list[str] = []
    too_old = now - cfg["reject_old_samples_max_age"]
    too_new = now + cfg["creation_grace_period"]
    max_size = cfg["max_line_size"]
    for labels, entries in streams:
        labels = {k: v for k, v in labels.items() if v != ""}  # Loki drops empty-valued labels
        name = _stream_name(labels)
        if not labels:
            rejected.append("error at least one label pair is required per stream")
            continue
        if len(labels) > cfg["max_label_names_per_series"]:
            rejected.append(f"stream '{name}' has {len(labels)} label names; limit {cfg['max_label_names_per_series']}")
            continue
        ok = []
        for ts, line, meta in entries:
            if too_old <= ts <= too_new and (len(line) * 4 <= max_size or max_size <= 0):
                ok.append((ts, line, meta))  # the usual entry (UTF-8 takes at most 4 bytes a code point)
            elif ts < too_old:
                rejected.append(f"entry for stream '{name}' has timestamp too old: {_rfc(ts)}, oldest acceptable "
                                f"timestamp is: {_rfc(too_old)}")
            elif ts > too_new:
                rejected.append(f"entry for stream '{name}' has timestamp too new: {_rfc(ts)}")
            elif len(line.encode("utf-8", "surrogatepass")) > cfg["max_line_size"] > 0:
                rejected.append(f"max entry size '{cfg['max_line_size']}' bytes exceeded for stream '{name}' while "
                                f"adding an entry with length '{len(line.encode('utf-8', 'surrogatepass'))}' bytes")
            else:
                ok.append((ts, line, meta))
        if cfg["discover"]:
            if "service_name" not in labels:
                labels["service_name"] = next((labels[k] for k in SERVICE_NAME_FROM if k in labels),
                                              "unknown_service")
            if not any(k in labels for k in ("level", "detected_level", *LEVEL_KEYS)):
                levels = _LEVEL_META
                if not any(meta for _, _, meta in ok):
                    ok = [(ts, line, levels[detect_level(line)]) for ts, line, _ in ok]
                else:
                    ok = [(ts, line, levels[detect_level(line)] if not meta else meta
                           if any(k == "detected_level" for k, _ in meta)
                           else tuple(sorted(meta + (("detected_level", _meta_level(meta) or detect_level(line)),))))
                          for ts, line, meta in ok]
        batch.append((labels, ok))
    return batch, rejected


class _LevelMeta(dict):
    def __missing__(self, level: str) -> tuple:
        self[level] = (("detected_level", level),)
        return self[level]


_LEVEL_META = _LevelMeta()


def _meta_level(meta: tuple) -> str:
    for k, v in meta:
        if k in LEVEL_KEYS:
            return v.lower()
    return ""


def _rfc(ts: int) -> str:
    secs, ns = divmod(ts, P.NS)
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


async def push(request: web.Request) -> web.Response:
    try:
        tenant(request)
    except HTTPError as exc:
        return _error(str(exc), exc.status)
    raw_ctype = request.headers.get("Content-Type", "").strip()
    if not raw_ctype:
        return _error("mime: no media type")
    if request.content_type != "application/json":
        # Loki reads every other Content-Type as snappy-compressed protobuf
        return _error(f"Content-Type {request.content_type!r} is read as snappy protobuf, which the testbed Loki "
                      "does not decode (not supported by the testbed Loki subset): push JSON with "
                      "Content-Type: application/json")
    raw = await request.read()
    streams = _structure_fast(raw)
    if streams is None:
        try:
            try:
                body = _decode_json(raw)  # fast; the stdlib (its messages, lone surrogates) for anything else
            except (msgspec.DecodeError, UnicodeDecodeError):
                body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(f"malformed push body: invalid JSON: {exc}")
    try:
        if streams is None:
            streams = _structure(body)
        batch, rejected = _parse_push(streams, request.app[CONFIG], P.now_ns())
    except ValueError as exc:
        return _error(f"malformed push body: {exc}")
    store_of(request).push(batch)
    if rejected:
        more = f"\n... and {len(rejected) - 10} more" if len(rejected) > 10 else ""
        return _error("\n".join(rejected[:10]) + more)
    return web.Response(status=204)


def _categorize(request: web.Request) -> bool:
    return CATEGORIZE in request.headers.get("X-Loki-Response-Encoding-Flags", "").split(",")


def encode_streams(rows, categorize: bool) -> list[dict]:
    """rows: (labels, ts, line, metadata) in the order to send. Without categorize-labels, structured metadata
    merges into the labels (one stored stream may become several); with it, metadata is a 3rd value element."""
    groups: dict[tuple, dict] = {}
    seen: dict[tuple[int, tuple], list] = {}  # (id of the stored labels, metadata) -> the group's values
    for labels, ts, line, meta in rows:
        values = seen.get((id(labels), () if categorize else meta))
        if values is None:
            merged = labels if categorize or not meta else {**dict(meta), **labels}
            key = tuple(sorted(merged.items()))
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"stream": dict(merged), "values": []}
            values = seen[(id(labels), () if categorize else meta)] = g["values"]
        if categorize and meta:
            values.append([str(ts), line, {"structuredMetadata": dict(meta)}])
        else:
            values.append([str(ts), line])
    return [groups[k] for k in sorted(groups)]


def _stats(rows, seconds: float) -> dict:
    n = len(rows)
    b = sum(len(r[2]) for r in rows)
    summary = {"bytesProcessedPerSecond": int(b / seconds) if seconds else b, "linesProcessedPerSecond":
               int(n / seconds) if seconds else n, "totalBytesProcessed": b, "totalLinesProcessed": n,
               "execTime": seconds, "queueTime": 0, "subqueries": 0, "totalEntriesReturned": n, "splits": 0,
               "shards": 0, "totalPostFilterLines": n, "totalStructuredMetadataBytesProcessed": 0}
    store = {"totalChunksRef": 0, "totalChunksDownloaded": 0, "chunksDownloadTime": 0, "queryReferencedStructured":
             False, "chunk": {"headChunkBytes": b, "headChunkLines": n, "decompressedBytes": 0,
                              "decompressedLines": 0, "compressedBytes": 0, "totalDuplicates": 0,
                              "postFilterLines": n, "headChunkStructuredMetadataBytes": 0,
                              "decompressedStructuredMetadataBytes": 0}, "chunkRefsFetchTime": 0,
             "congestionControlLatency": 0, "pipelineWrapperFilteredLines": 0}
    cache = {k: {"entriesFound": 0, "entriesRequested": 0, "entriesStored": 0, "bytesReceived": 0, "bytesSent": 0,
                 "requests": 0, "downloadTime": 0, "queryLengthServed": 0}
             for k in ("chunk", "index", "result", "statsResult", "volumeResult", "seriesResult", "labelResult",
                       "instantMetricResult")}
    return {"summary": summary, "querier": {"store": store},
            "ingester": {"totalReached": 1, "totalChunksMatched": 0, "totalBatches": 1, "totalLinesSent": n,
                         "store": store}, "cache": cache}


def _streams_response(request: web.Request, store: Store, rows, start: int, t0: float) -> web.Response:
    categorize = _categorize(request)
    data: dict = {"resultType": "streams", "result": encode_streams(rows, categorize),
                  "stats": _stats(rows, time.monotonic() - t0)}
    if categorize:
        data["encodingFlags"] = [CATEGORIZE]
    body: dict = {"status": "success", "data": data}
    if store.evicted_upto >= start:
        body["warnings"] = [f"the testbed Loki dropped older entries to stay under its line bound "
                            f"({store.max_lines}): entries up to {_rfc(store.evicted_upto)} may be missing"]
    try:
        raw = _encode_json(body)  # msgspec: a 5000-line page costs a fraction of the stdlib's time
    except UnicodeEncodeError:  # lone surrogates: the stdlib escapes them
        raw = json.dumps(body).encode()
    return web.Response(body=raw, content_type="application/json")


@_bad
async def query_range(request: web.Request) -> web.Response:
    t0 = time.monotonic()
    p = await _params(request)
    query = parse_query(p.get("query", ""))
    start, end = P.parse_range(p, HOUR_NS)
    if end < start:
        raise P.ParamError("end timestamp must not be before or equal to start time")
    limit = P.parse_limit(p, 100, request.app[CONFIG]["max_entries_limit"])
    direction = P.parse_direction(p)
    interval = P.parse_step_interval(p, start, end)
    store = store_of(request)
    rows = store.select_meta(query, start, end, limit, direction, interval)
    return _streams_response(request, store, rows, start, t0)


@_bad
async def query_instant(request: web.Request) -> web.Response:
    p = await _params(request)
    parse_query(p.get("query", ""))  # metric queries: refused as outside the subset
    raise P.ParamError("log queries are not supported as an instant query type, please change your query to a "
                       "range query type")


def _scope(p: dict[str, str]):
    return parse_selector(p["query"]) if p.get("query") else None


def _list_response(values: list[str]) -> web.Response:
    # Loki omits `data` when there is nothing (and does not promise an order)
    return web.json_response({"status": "success", "data": values} if values else {"status": "success"})


@_bad
async def labels(request: web.Request) -> web.Response:
    p = await _params(request)
    start, end = P.parse_range(p, LABELS_SINCE_NS)
    return _list_response(store_of(request).label_names(_scope(p), start, end))


@_bad
async def label_values(request: web.Request) -> web.Response:
    p = await _params(request)
    start, end = P.parse_range(p, LABELS_SINCE_NS)
    name = request.match_info["name"]
    return _list_response(store_of(request).label_values(name, _scope(p), start, end))


@_bad
async def series(request: web.Request) -> web.Response:
    matches: list[str] = list(request.query.getall("match[]", []))
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        matches += [str(m) for m in (await request.post()).getall("match[]", [])]
    if not matches:
        raise P.ParamError("match[] is required: at least one stream selector")
    start, end = P.parse_range(request.query, LABELS_SINCE_NS)
    store = store_of(request)
    seen: dict[tuple, dict[str, str]] = {}
    for m in matches:
        for s in store.matching_streams(parse_selector(m), start, end):
            seen[s.key] = dict(s.labels)
    return web.json_response({"status": "success", "data": [seen[k] for k in sorted(seen)]})


@_bad
async def tail(request: web.Request) -> web.StreamResponse:
    p = request.query
    cfg = request.app[CONFIG]
    start = P.parse_timestamp("start", p.get("start"), P.now_ns() - HOUR_NS)
    raw_limit = p.get("limit") or "100"
    try:
        limit = int(raw_limit)
    except ValueError:
        raise P.ParamError(f"invalid limit {raw_limit!r}: expected a positive integer") from None
    try:
        delay = int(p.get("delay_for") or 0)
    except ValueError:
        raise P.ParamError(f"invalid delay_for {p.get('delay_for')!r}: expected whole seconds") from None
    if delay > 5:
        raise P.ParamError("delay_for can't be greater than 5")
    # Everything below fails after the upgrade, as a 1011 close with the reason (Loki's querier errors).
    error = ""
    query = None
    try:
        query = parse_query(p.get("query", ""))
    except LogQLError as exc:
        error = str(exc)
    if not error and limit > cfg["max_entries_limit"]:
        error = (f"max entries limit per query exceeded, limit > max_entries_limit "
                 f"({limit} > {cfg['max_entries_limit']})")
    if not error and limit <= 0:
        error = "limit must be a positive value"
    t = tenant(request)
    sockets = request.app[SOCKETS].setdefault(t, weakref.WeakSet())
    if not error and len(sockets) >= cfg["max_concurrent_tail_requests"]:
        error = (f"max concurrent tail requests limit exceeded, count > limit "
                 f"({len(sockets) + 1} > {cfg['max_concurrent_tail_requests']})")
    return await serve_tail(request, store_of(request), query, start, limit, float(max(delay, 0)),
                            cfg["tail_max_duration"], sockets, error=error, categorize=_categorize(request),
                            overlap_s=cfg["tail_overlap"])


async def ready(request: web.Request) -> web.Response:
    wait = request.app[CONFIG]["ready_at"] - time.monotonic()
    if wait > 0:  # like Loki's ingester joining its ring for ~15 s after start
        return _error(f"Ingester not ready: waiting for {wait:.0f}s after being ready", 503)
    return web.Response(text="ready\n")


async def buildinfo(request: web.Request) -> web.Response:
    return web.json_response({"version": VERSION, "revision": "", "branch": "", "buildUser": "", "buildDate": "",
                              "goVersion": ""})


async def metrics(request: web.Request) -> web.Response:
    stores = list(request.app[STORES].values())
    rows = [
        ("loki_testbed_streams", "gauge", "Streams held in memory.", sum(len(s.streams) for s in stores)),
        ("loki_testbed_lines", "gauge", "Lines held in memory.", sum(s.total for s in stores)),
        ("loki_testbed_lines_max", "gauge", "Configured line bound (per tenant).", request.app[CONFIG]["max_lines"]),
        ("loki_testbed_lines_received_total", "counter", "Lines accepted by push (this process).",
         sum(s.received for s in stores)),
        ("loki_testbed_lines_evicted_total", "counter", "Oldest lines dropped to stay under the bound.",
         sum(s.evicted for s in stores)),
        ("loki_testbed_tail_connections", "gauge", "Open tail WebSockets.",
         sum(len(w) for w in request.app[SOCKETS].values())),
    ]
    text = "".join(f"# HELP {n} {h}\n# TYPE {n} {t}\n{n} {v}\n" for n, t, h, v in rows)
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


async def _close_sockets(app: web.Application) -> None:
    for group in app[SOCKETS].values():
        for ws in list(group):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _close_stores(app: web.Application) -> None:
    for s in app[STORES].values():
        s.close()


def make_app(store: Store | None = None, *, max_lines: int = 200_000, max_entries_limit: int = 5000,
             tail_max_duration: float = 3600.0, auth_enabled: bool = False, data_dir: str | Path | None = None,
             max_concurrent_tail_requests: int = 10, max_line_size: int = 256 * 1024, discover: bool = True,
             ready_delay: float = 0.0, tail_overlap: float = 0.5,
             reject_old_samples_max_age: float = 7 * 86400.0, creation_grace_period: float = 600.0,
             max_label_names_per_series: int = 15) -> web.Application:
    """Build the Loki-API application. Pass `store` to share/inspect the (auth disabled) tenant's store (tests).
    With `data_dir`, each tenant's store persists to DATA_DIR/<tenant>.wal and is reloaded on start."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[CONFIG] = {"max_entries_limit": max_entries_limit, "tail_max_duration": tail_max_duration,
                   "auth_enabled": auth_enabled, "data_dir": str(data_dir) if data_dir else "",
                   "max_lines": max_lines, "max_concurrent_tail_requests": max_concurrent_tail_requests,
                   "max_line_size": max_line_size, "discover": discover,
                   "ready_at": time.monotonic() + ready_delay, "tail_overlap": tail_overlap,
                   "reject_old_samples_max_age": int(reject_old_samples_max_age * P.NS),
                   "creation_grace_period": int(creation_grace_period * P.NS),
                   "max_label_names_per_series": max_label_names_per_series}
    stores: dict[str, Store] = {}
    if store is not None:
        stores[NO_AUTH_TENANT] = store
    elif data_dir:  # reload every tenant that has data
        for f in sorted(Path(data_dir).glob("*.wal")):
            stores[f.stem] = Store(max_lines, f)
    app[STORES] = stores
    app[SOCKETS] = {}
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_close_stores)
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
