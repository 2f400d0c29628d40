"""Fetch and parse a Spring Boot actuator health endpoint (`/actuator/health`) — one request, one immutable result.

Spring answers `{"status": "UP", "components": {"db": {"status": "UP", "details": {...}}, "redis": ...}}`
with HTTP 200, or the same body with `"status": "DOWN"` and HTTP 503 (a DOWN service is a result, not an error).
Spring Boot 2.0/2.1 named `components` `details`; 1.x put the indicators at the top level: all three are read.
A composite indicator (`db` with `components` of its own) counts as one component with its own status.

Anything that is not a health answer is ERROR with one line: connection refused, timeout, an HTTP status
without a health body (401, 404, 500 text), a body that is not JSON or has no `status`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ecotui.textsafe import one_line

UP, DOWN, UNKNOWN, ERROR = "UP", "DOWN", "UNKNOWN", "ERROR"
OUT_OF_SERVICE = "OUT_OF_SERVICE"
MAX_BODY = 1 << 20          # a health body is a few KB; anything larger is not one
_TOP_LEVEL_SKIP = {"status", "components", "details", "description", "groups"}


@dataclass(frozen=True)
class Component:
    name: str
    status: str                 # UP / DOWN / OUT_OF_SERVICE / UNKNOWN / a custom status, as the service says
    detail: str = ""            # one line: the interesting details (error first), "" when none


@dataclass(frozen=True)
class HealthResult:
    status: str                           # UP, DOWN, OUT_OF_SERVICE, UNKNOWN (or a custom one), or ERROR
    components: tuple[Component, ...] = ()
    latency_ms: float | None = None       # request → whole body, None when nothing came back
    http_status: int | None = None
    error: str = ""                       # one line when status is ERROR


def severity(status: str) -> str:
    """The theme's semantic style for a status: UP ok, DOWN critical, anything else a warning."""
    s = status.upper()
    if s == UP:
        return "ok"
    if s == DOWN:
        return "critical"
    return "warning"


def _detail(details: Any) -> str:
    """The details worth a line: an error first, then a few scalar key=value pairs."""
    if not isinstance(details, dict) or not details:
        return ""
    parts: list[str] = []
    err = details.get("error") or details.get("exception") or details.get("message")
    if err:
        parts.append(str(err))
    for k, v in details.items():
        if k in ("error", "exception", "message") or isinstance(v, (dict, list)):
            continue
        parts.append(f"{k}={v}")
        if len(parts) >= 5:
            break
    return one_line("; ".join(parts), 300)


def _status_of(node: Any) -> str:
    if isinstance(node, dict):
        st = node.get("status")
        if isinstance(st, dict):             # Spring Boot 1.x sometimes nests {"code": "UP"}
            st = st.get("code")
        if isinstance(st, str) and st.strip():
            return one_line(st.strip().upper(), 20)
    return UNKNOWN


def parse_health(doc: Any) -> tuple[str, tuple[Component, ...]] | None:
    """A decoded health body → (status, components), or None when it is not a health answer."""
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), (str, dict)):
        return None
    comps = doc.get("components")
    if not isinstance(comps, dict):
        comps = doc.get("details") if isinstance(doc.get("details"), dict) else None
    if comps is None:      # 1.x: indicators at the top level
        comps = {k: v for k, v in doc.items() if k not in _TOP_LEVEL_SKIP and isinstance(v, dict)}
    out = []
    for name, node in comps.items():
        if not isinstance(node, dict):
            continue
        detail = _detail(node.get("details"))
        if not detail and isinstance(node.get("components"), dict):   # composite: name its failing parts
            bad = [f"{k} {_status_of(v)}" for k, v in node["components"].items() if _status_of(v) != UP]
            detail = one_line(", ".join(bad), 200)
        out.append(Component(one_line(str(name), 40), _status_of(node), detail))
    return _status_of(doc), tuple(out)


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _error_line(exc: Exception, url: str, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g}s ({url})"
    if isinstance(exc, httpx.ConnectError):
        if _refused(exc):
            return f"connection refused ({url})"
        return f"cannot connect to {url}: {one_line(str(exc) or type(exc).__name__, 120)}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return f"connection closed by the server without an answer ({url})"
    return f"{type(exc).__name__}: {one_line(str(exc), 160)} ({url})"


async def fetch_health(client: httpx.AsyncClient, url: str, *, timeout: float = 5.0,
                       clock: Callable[[], float] = time.perf_counter) -> HealthResult:
    """GET `url` and read it as an actuator health answer. Never raises (except cancellation)."""
    t0 = clock()
    try:
        async with client.stream("GET", url, timeout=timeout,
                                 headers={"Accept": "application/vnd.spring-boot.actuator.v3+json, "
                                                    "application/json"}) as resp:
            body = b""
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    return HealthResult(ERROR, http_status=resp.status_code,
                                        error=f"HTTP {resp.status_code}: body larger than {MAX_BODY >> 20} MB "
                                              "(not a health answer)")
            code = resp.status_code
            ctype = resp.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        return HealthResult(ERROR, error=_error_line(exc, url, timeout))
    except OSError as exc:
        return HealthResult(ERROR, error=f"{url}: {one_line(str(exc) or type(exc).__name__, 160)}")
    latency = (clock() - t0) * 1000.0
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    parsed = parse_health(doc) if doc is not None else None
    if parsed is not None:
        status, comps = parsed
        return HealthResult(status, comps, latency, code)
    if code >= 400:
        head = one_line(body[:200].decode("utf-8", "replace"), 80)
        return HealthResult(ERROR, (), latency, code, f"HTTP {code}" + (f": {head}" if head else ""))
    what = "not JSON" if doc is None else "JSON without a status"
    return HealthResult(ERROR, (), latency, code,
                        f"HTTP {code} but {what} ({one_line(ctype, 60) or 'no content type'}): not an actuator "
                        "health endpoint?")
