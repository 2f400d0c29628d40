"""Prometheus HTTP API client: `PromConfig`, `PromClient.query` / `query_range`, `PromError`.

Follows the real API (prometheus `docs/querying/api.md`), not only the testbed's Prometheus:
- POST form-encoded (long PromQL fits; Amazon Managed Prometheus signs the body later, in the AWS issue);
- the envelope `{"status","data":{"resultType","result"},"errorType","error","warnings"}`; sample values are
  strings so NaN / +Inf survive (`float()` parses them);
- 400 (bad parameters) and 422 (cannot execute) carry the Prometheus error text, shown as it is;
  503 is a timeout or abort; 401/403 are credentials; anything else (proxies) is the status and a body excerpt.
Every failure is a `PromError` whose `kind` says which, so a panel can say "unreachable", "timeout" or the
query's error — never a zero. `requests` counts requests sent (the benchmark reports them per minute).
"""
from __future__ import annotations

import asyncio
import base64
import ipaddress
import math
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec

from ..errors import EcotuiError
from ..httpclient import AsyncClient
from ..textsafe import one_line

ErrorKind = Literal["unreachable", "timeout", "query", "auth", "http", "malformed", "config"]


class PromError(EcotuiError):
    """A Prometheus request failed. `kind`: unreachable | timeout | query | auth | http | malformed | config.
    `message` is one line fit for a panel (for `query` it is Prometheus's own error text)."""

    def __init__(self, kind: ErrorKind, message: str, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint)
        self.kind: ErrorKind = kind
        self.status = status


@dataclass(frozen=True)
class PromConfig:
    """How to reach one Prometheus-compatible API. `token` (bearer) wins over username/password (basic)."""

    url: str
    token: str = ""
    username: str = ""
    password: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0       # seconds per request (also sent as the query's `timeout`)
    verify: bool = True

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def request_headers(self) -> dict[str, str]:
        h = dict(self.headers)
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        elif self.username or self.password:
            raw = f"{self.username}:{self.password}".encode()
            h["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        return h

    @property
    def loopback(self) -> bool:
        host = urllib.parse.urlsplit(self.base).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def _read_secret(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as e:
        raise PromError("config", f"prometheus: cannot read the {what} file {path}: {e.strerror or e}",
                        "check the context's prometheus settings in the config") from None


def prom_config(settings: Any, timeout: float = 10.0) -> PromConfig | None:
    """A `PromConfig` from a workspace's `PromSettings` (None when no URL). Reads token/password files now;
    raises PromError(kind="config") when one cannot be read."""
    url = getattr(settings, "url", None)
    if not url:
        return None
    token = _read_secret(settings.token_file, "token") if settings.token_file else ""
    password = _read_secret(settings.password_file, "password") if settings.password_file else ""
    return PromConfig(url=url, token=token, username=settings.user or "", password=password,
                      headers=tuple(settings.headers), timeout=timeout)


# ---- results ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """One element of an instant vector (or a scalar, with no labels)."""

    labels: Mapping[str, str]
    value: float          # NaN and ±Inf kept as floats
    ts: float             # unix seconds


@dataclass(frozen=True)
class Series:
    """One element of a range matrix: (unix seconds, value) points in time order."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PromResult:
    kind: str                                  # vector | matrix | scalar | string
    samples: tuple[Sample, ...] = ()           # vector / scalar
    series: tuple[Series, ...] = ()            # matrix
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.samples and not self.series


class _Envelope(msgspec.Struct):
    status: str = ""
    data: Any = None
    errorType: str = ""
    error: str = ""
    warnings: list[str] = []


_decode_envelope = msgspec.json.Decoder(_Envelope).decode


def _value(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ValueError("metric is not an object")
    return {str(k): str(v) for k, v in raw.items()}


def parse_result(data: Any, warnings: list[str] | None = None, elapsed_s: float = 0.0) -> PromResult:
    """The `data` object of a success envelope → PromResult. Raises PromError(kind="malformed")."""
    try:
        if not isinstance(data, dict):
            raise ValueError("data is not an object")
        kind = data.get("resultType")
        result: Any = data.get("result")
        warn = tuple(one_line(str(w), 200) for w in (warnings or ()))
        if kind == "vector":
            samples = []
            for el in result or ():
                ts, v = el["value"]
                samples.append(Sample(_labels(el.get("metric", {})), _value(v), float(ts)))
            return PromResult("vector", samples=tuple(samples), warnings=warn, elapsed_s=elapsed_s)
        if kind == "matrix":
            series = []
            for el in result or ():
                pts = tuple((float(ts), _value(v)) for ts, v in el.get("values", ()))
                series.append(Series(_labels(el.get("metric", {})), pts))
            return PromResult("matrix", series=tuple(series), warnings=warn, elapsed_s=elapsed_s)
        if kind == "scalar":
            ts, v = result
            return PromResult("scalar", samples=(Sample({}, _value(v), float(ts)),), warnings=warn,
                              elapsed_s=elapsed_s)
        if kind == "string":
            ts, v = result
            return PromResult("string", samples=(Sample({"value": str(v)}, math.nan, float(ts)),), warnings=warn,
                              elapsed_s=elapsed_s)
        raise ValueError(f"unknown resultType {kind!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise PromError("malformed", f"prometheus: malformed response ({one_line(str(e), 120)})") from None


BIG_BODY = 256 * 1024     # bytes: a response this large is decoded in a thread


def decode_body(status: int, body: bytes, elapsed: float) -> tuple[_Envelope | None, PromResult | None]:
    """(envelope, result): the result when it is a success envelope, else None (the caller says why).
    Raises PromError(kind="malformed")."""
    try:
        env = _decode_envelope(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    if status == 200 and env.status == "success":
        return env, parse_result(env.data, env.warnings, elapsed)
    return env, None


# ---- client -------------------------------------------------------------------------------------------------

@dataclass
class PromStats:
    requests: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)


class PromClient:
    """One Prometheus endpoint. Use `async with PromClient(cfg) as c:` or call `aclose()`."""

    def __init__(self, config: PromConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                 auth: httpx.Auth | None = None) -> None:
        self.config = config
        self._transport = transport
        self._auth = auth           # e.g. ecotui.aws.sigv4.SigV4Auth for Amazon Managed Prometheus
        self._http: httpx.AsyncClient | None = None
        self.stats = PromStats()

    async def __aenter__(self) -> PromClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            cfg = self.config
            self._http = AsyncClient(
                base_url=cfg.base, headers=cfg.request_headers(), verify=cfg.verify,
                timeout=httpx.Timeout(cfg.timeout + 1.0), transport=self._transport,
                trust_env=not cfg.loopback, follow_redirects=False, auth=self._auth,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8))
        return self._http

    async def query(self, expr: str, at: float | None = None, timeout: float | None = None) -> PromResult:
        """Instant query (`/api/v1/query`)."""
        form = {"query": expr}
        if at is not None:
            form["time"] = f"{at:.3f}"
        return await self._post("/api/v1/query", form, timeout)

    async def query_range(self, expr: str, start: float, end: float, step: float,
                          timeout: float | None = None) -> PromResult:
        """Range query (`/api/v1/query_range`); step in seconds (≥ 1)."""
        form = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{max(1.0, step):g}"}
        return await self._post("/api/v1/query_range", form, timeout)

    async def _post(self, path: str, form: dict[str, str], timeout: float | None) -> PromResult:
        t = self.config.timeout if timeout is None else timeout
        form = dict(form, timeout=f"{t:g}s")
        self.stats.requests += 1
        t0 = time.monotonic()
        try:
            resp = await self._client().post(path, data=form, timeout=httpx.Timeout(t + 1.0))
        except httpx.TimeoutException:
            self.stats.errors += 1
            raise PromError("timeout", f"prometheus: no answer within {t:g} s") from None
        except (httpx.TransportError, OSError) as e:
            self.stats.errors += 1
            raise PromError("unreachable", f"prometheus unreachable at {self.config.base}: "
                            f"{one_line(str(e) or type(e).__name__, 120)}") from None
        elapsed = time.monotonic() - t0
        if len(resp.content) > BIG_BODY:    # 10,000 series: tens of ms of Python, kept off the UI's loop
            env, result = await asyncio.to_thread(decode_body, resp.status_code, resp.content, elapsed)
        else:
            env, result = decode_body(resp.status_code, resp.content, elapsed)
        if result is not None:
            return result
        self.stats.errors += 1
        raise self._error(resp, env)

    def _error(self, resp: httpx.Response, env: _Envelope | None) -> PromError:
        status = resp.status_code
        text = one_line(env.error, 300) if env is not None and env.error else ""
        etype = env.errorType if env is not None else ""
        if status in (401, 403):
            return PromError("auth", f"prometheus: HTTP {status} {'unauthorized' if status == 401 else 'forbidden'}"
                             + (f": {text}" if text else ""), "check the context's prometheus credentials",
                             status=status)
        if etype == "timeout" or status == 503 and etype in ("", "timeout", "canceled"):
            return PromError("timeout", f"prometheus: {text or 'query timed out'}", status=status)
        if text and status in (400, 422) or etype in ("bad_data", "execution"):
            return PromError("query", text or f"HTTP {status}", status=status)
        if status == 200:
            return PromError("malformed", "prometheus: malformed response (not a success envelope)", status=status)
        body = text or one_line(resp.text, 160)
        return PromError("http", f"prometheus: HTTP {status}" + (f": {body}" if body else ""), status=status)
