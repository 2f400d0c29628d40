"""One async HTTP client per cluster: TLS and credentials from the kubeconfig, errors mapped to one clear line.

Requests go through one `httpx.AsyncClient` (default timeout 30 s; a watch's read timeout is its
timeoutSeconds + 30 s) with `Accept: application/json`; responses are decoded with msgspec into the slim
structs of `models.py`. A 401 makes the authenticator load credentials again (re-read the tokenFile, re-run
the exec plugin) and the request is sent once more; a second 401 is an AuthError.
"""
from __future__ import annotations

import asyncio
import builtins
import ipaddress
import os
import socket
import ssl
import tempfile
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncGenerator, AsyncIterator, Mapping, Sequence, TypeVar
from urllib.parse import urlsplit

import httpx
import msgspec

from .. import __version__
from . import rawstream
from .writegate import WriteGate
from ..errors import ApiError, AuthError, ConnectError, EcotuiError, ForbiddenError, KubeconfigError
from ..httpclient import AsyncClient
from .auth import Authenticator, Credentials, LoopAuthProxy
from .kubeconfig import ClusterInfo
from .models import ListMeta, Status
from ..textsafe import one_line

if TYPE_CHECKING:
    from .channels import ChannelStream

T = TypeVar("T")
Params = Mapping[str, str] | None


class _ListHead(msgspec.Struct):
    metadata: ListMeta = ListMeta()


_decode_list_head = msgspec.json.Decoder(_ListHead).decode
_PEEK_LIMIT = 1 << 16
MAX_LINE = 4 << 20            # stream_lines: longer lines are cut (memory stays bounded)
CUT_MARKER = b" \xe2\x80\xa6[ecotui: line cut at 4 MiB]"
LOG_POOL = 256                # connections of the separate pool stream_lines uses (one per followed stream)


def _peek_continue(buf: bytearray) -> str | None:
    """The continue token of a list from its first bytes: None while `"items"` has not arrived yet, "" when
    the list has no next page, or when the head cannot be read that way (the caller then takes the token from
    the decoded page)."""
    i = buf.find(b'"items"')
    if i < 0:
        return None if len(buf) < _PEEK_LIMIT else ""
    head = bytes(buf[:i]).rstrip()
    if not head.endswith(b","):
        return ""
    try:
        return _decode_list_head(head[:-1] + b"}").metadata.continue_
    except msgspec.DecodeError:
        return ""


class HttpStatusError(ApiError):
    """An unexpected HTTP status; keeps the API's Status reason and the Retry-After header (seconds)."""

    def __init__(self, message: str, hint: str = "", status: int = 0, reason: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(message, hint, status)
        self.reason = reason
        self.retry_after = retry_after


class WatchEvent(msgspec.Struct, gc=False):
    """One line of a watch stream; `object` is still raw JSON (decode it with the kind's struct)."""

    type: str
    object: msgspec.Raw = msgspec.Raw(b"null")


_decode_event = msgspec.json.Decoder(WatchEvent).decode
_decode_status = msgspec.json.Decoder(Status).decode
_TLS_HINT = "check certificate-authority(-data) and tls-server-name of this cluster in the kubeconfig"
_NET_HINT = "is the API server up and reachable from here (VPN, tunnel, security groups)?"


def ssl_context(cluster: ClusterInfo, cert_pem: bytes | None = None, key_pem: bytes | None = None,
                user: str = "") -> ssl.SSLContext:
    """A client TLS context like kubectl's: only the kubeconfig CA when one is given, else the system store."""
    try:
        ctx = ssl.create_default_context(cadata=cluster.ca_pem.decode("ascii", "replace") if cluster.ca_pem
                                         else None)
    except (ssl.SSLError, ValueError) as e:
        raise KubeconfigError(f"cluster {cluster.name!r}: certificate-authority is not a valid PEM certificate "
                              f"({one_line(str(e), 100)})", _TLS_HINT) from None
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)  # Go does not apply Python 3.13's strict checks
    if cluster.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_pem and key_pem:
        with tempfile.TemporaryDirectory(prefix="ecotui-") as d:  # load_cert_chain only reads files
            paths = []
            for name, data in (("cert.pem", cert_pem), ("key.pem", key_pem)):
                p = os.path.join(d, name)
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                paths.append(p)
            try:
                ctx.load_cert_chain(paths[0], paths[1])
            except (ssl.SSLError, ValueError) as e:
                raise KubeconfigError(f"user {user!r}: client certificate or key cannot be used "
                                      f"({one_line(str(e), 100)})",
                                      "check client-certificate(-data) and client-key(-data)") from None
    return ctx


def _chain(e: BaseException | None):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (ecotui sends no proxy env to those; forwards bind there unless told)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class KubeClient:
    """Talks to one API server. All methods raise `ecotui.errors.EcotuiError` subclasses, never httpx errors."""

    def __init__(self, cluster: ClusterInfo, auth: Authenticator | LoopAuthProxy, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None, gate: WriteGate | None = None,
                 lazy: bool = False) -> None:
        self.cluster = cluster
        self.gate = gate if gate is not None else WriteGate(cluster.server)
        self.auth = auth
        self.server = cluster.server
        self.timeout = timeout
        self._transport = transport
        self._host = urlsplit(cluster.server).hostname or ""
        self._ext = {"sni_hostname": cluster.tls_server_name} if cluster.tls_server_name else {}
        self._cert: tuple[bytes | None, bytes | None] = (auth.user.cert_pem, auth.user.key_pem)
        # builds the TLS context now (bad certs fail early) unless `lazy` (a sibling: made on its own loop)
        self._http: httpx.AsyncClient | None = None if lazy else self._make_http(*self._cert)
        self._retired: list[httpx.AsyncClient] = []
        self._decoders: dict[Any, msgspec.json.Decoder] = {}
        self._closing: asyncio.Future[None] | None = None
        self._logs_http: tuple[bytes | None, httpx.AsyncClient] | None = None  # stream_lines' own pool
        self._raw_ctx: dict[tuple[bytes | None, bytes | None], ssl.SSLContext] = {}  # rawstream's TLS contexts

    def _make_http(self, cert: bytes | None, key: bytes | None, *, pool: int = 20) -> httpx.AsyncClient:
        verify: Any = True
        if self.server.startswith("https://") and self._transport is None:
            verify = ssl_context(self.cluster, cert, key, self.auth.user.name)
        kw: dict[str, Any] = {}
        if self.cluster.proxy_url:
            kw["proxy"] = self.cluster.proxy_url
        return AsyncClient(
            base_url=self.server, verify=verify, timeout=httpx.Timeout(self.timeout), transport=self._transport,
            headers={"Accept": "application/json", "User-Agent": f"ecotui/{__version__}"},
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=10),
            trust_env=not is_loopback(self._host), **kw)  # like Go: no env proxy for loopback servers

    async def aclose(self) -> None:
        logs = [self._logs_http[1]] if self._logs_http else []
        for c in [*self._retired, *([self._http] if self._http else []), *logs]:
            await c.aclose()
        self._retired.clear()
        self._logs_http = None

    def sibling(self) -> KubeClient:
        """A new client of the same cluster (timeout, write gate, transport) for another thread and its event
        loop. Call it on this client's loop: credentials are still loaded there (`LoopAuthProxy`), so exec
        plugins and EKS tokens stay single-flight. Its httpx clients are made at first use, on the loop that
        uses it; close it (`aclose`) on that loop."""
        a = self.auth
        proxy = LoopAuthProxy(a.auth, a.loop) if isinstance(a, LoopAuthProxy) else \
            LoopAuthProxy(a, asyncio.get_running_loop())
        return KubeClient(self.cluster, proxy, timeout=self.timeout, transport=self._transport, gate=self.gate,
                          lazy=True)

    # ---- low level ----------------------------------------------------------------------------

    def _http_for(self, creds: Credentials, logs: bool = False) -> httpx.AsyncClient:
        if logs:  # long-lived log streams get their own pool so they never starve the main one (20)
            if self._logs_http is None or (creds.cert_pem and creds.cert_pem != self._logs_http[0]):
                prev = self._logs_http
                self._logs_http = (creds.cert_pem, self._make_http(creds.cert_pem, creds.key_pem, pool=LOG_POOL))
                if prev is not None:  # open streams keep their connection until they end
                    self._retired.append(prev[1])
            return self._logs_http[1]
        if self._http is None:
            self._http = self._make_http(*self._cert)
        if creds.cert_pem and (creds.cert_pem, creds.key_pem) != self._cert:  # exec plugin returned a new cert
            http = self._make_http(creds.cert_pem, creds.key_pem)
            self._retired.append(self._http)  # still serving open watches; they move over when they end
            if len(self._retired) > 2:
                old = self._retired.pop(0)
                self._closing = asyncio.ensure_future(old.aclose())
            self._cert, self._http = (creds.cert_pem, creds.key_pem), http
        return self._http

    async def _send(self, method: str, path: str, *, params: Params = None, content: bytes | None = None,
                    content_type: str | None = None, stream: bool = False,
                    timeout: httpx.Timeout | None = None, logs: bool = False) -> httpx.Response:
        self.gate.check(method, path)  # every request passes here: a read-only gate stops writes unsent
        creds = await self.auth.credentials()
        for attempt in (0, 1):
            headers = {}
            if creds.authorization:
                headers["Authorization"] = creds.authorization
            if content_type:
                headers["Content-Type"] = content_type
            http = self._http_for(creds, logs)
            req = http.build_request(method, path, params=params, content=content, headers=headers,
                                     extensions=self._ext or None, timeout=timeout or httpx.USE_CLIENT_DEFAULT)
            try:
                resp = await http.send(req, stream=stream)
                if resp.status_code >= 400 and stream:
                    await resp.aread()
            except httpx.HTTPError as e:
                raise self.transport_error(e) from None
            if resp.status_code == 401 and attempt == 0 and self.auth.refreshable:
                await resp.aclose()
                creds = await self.auth.reload(creds)
                continue
            if resp.status_code >= 400:
                await resp.aclose()
                raise self.status_error(resp, method, path)
            return resp
        raise AssertionError("unreachable")

    def transport_error(self, e: BaseException) -> ConnectError:
        """Map an httpx/OS error to a ConnectError naming the server (TLS problems get their own hint)."""
        s = self.server
        chain = list(_chain(e))
        text = one_line(" / ".join(dict.fromkeys(str(x) for x in chain if str(x))), 200) or type(e).__name__
        verify = next((x for x in chain if isinstance(x, ssl.SSLCertVerificationError)), None)
        if verify is not None or "CERTIFICATE_VERIFY_FAILED" in text:
            why = one_line(getattr(verify, "verify_message", "") or "certificate verify failed", 120)
            return ConnectError(f"TLS verification of {s} failed: {why}", _TLS_HINT)
        if any(isinstance(x, ssl.SSLError) for x in chain):
            return ConnectError(f"TLS handshake with {s} failed: {text}", _TLS_HINT)
        if isinstance(e, httpx.TimeoutException):
            return ConnectError(f"{s} did not answer in time ({type(e).__name__})", _NET_HINT)
        if any(isinstance(x, socket.gaierror) for x in chain):
            return ConnectError(f"cannot resolve the host {self._host!r} of {s}", "check the server URL and DNS")
        if any(isinstance(x, ConnectionRefusedError) for x in chain):
            return ConnectError(f"connection to {s} refused", _NET_HINT)
        if isinstance(e, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
            return ConnectError(f"connection to {s} lost: {text}", _NET_HINT)
        return ConnectError(f"cannot connect to {s}: {text}", _NET_HINT)

    def status_error(self, resp: httpx.Response, method: str, path: str) -> EcotuiError:
        code = resp.status_code
        try:
            st = _decode_status(resp.content)
        except (msgspec.DecodeError, httpx.ResponseNotRead):
            st = Status()
        msg = one_line(st.message, 300) if st.message else f"{method} {path}"
        if code == 401:
            return AuthError(f"{self.server}: credentials of user {self.auth.user.name!r} ({self.auth.method}) "
                             f"rejected (401): {msg}",
                             "log in again (e.g. aws sso login) or fix the user in the kubeconfig")
        if code == 403:
            return ForbiddenError(f"{self.server}: forbidden: {msg}",
                                  "ask for the RBAC permission, or use another context or namespace")
        retry_after = None
        try:
            retry_after = float(resp.headers.get("Retry-After", ""))
        except ValueError:
            pass
        return HttpStatusError(f"{self.server}: {method} {path} failed with HTTP {code}: {msg}",
                               status=code, reason=st.reason, retry_after=retry_after)

    def _decode(self, data: bytes | bytearray, type_: Any, what: str) -> Any:
        dec = self._decoders.get(type_)
        if dec is None:
            dec = self._decoders[type_] = msgspec.json.Decoder(type_)
        try:
            return dec.decode(data)
        except msgspec.DecodeError as e:
            raise ApiError(f"{self.server}: malformed JSON in the response to {what}: {one_line(str(e), 120)}",
                           status=200) from None

    # ---- public API ---------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Params = None, json: Any = None,
                      content: bytes | None = None, content_type: str | None = None,
                      timeout: float | None = None) -> Any:
        """Any request (PATCH, POST, DELETE...). `json` is encoded with msgspec (dicts or structs) and sent as
        `content_type` (default application/json). Returns the decoded JSON body (dicts/lists) or None."""
        if json is not None:
            content = msgspec.json.encode(json)
            content_type = content_type or "application/json"
        resp = await self._send(method, path, params=params, content=content, content_type=content_type,
                                timeout=httpx.Timeout(timeout) if timeout else None)
        return self._decode(resp.content, Any, f"{method} {path}") if resp.content.strip() else None

    async def get(self, path: str, type_: type[T] | Any = Any, *, params: Params = None) -> T:
        """GET and decode into `type_` (a msgspec struct; default: plain dicts/lists)."""
        resp = await self._send("GET", path, params=params)
        return self._decode(resp.content, type_, f"GET {path}")

    async def list(self, path: str, list_type: type[T], *, params: Params = None,
                   limit: int | None = 500) -> tuple[list[Any], str]:
        """Paginated LIST: follows `continue` until done. Returns (items, resourceVersion of the list)."""
        items: list[Any] = []
        rv = ""
        async with aclosing(self.pages(path, list_type, params=params, limit=limit)) as pages:
            async for page in pages:
                items.extend(page.items)
                rv = page.metadata.resourceVersion
        return items, rv

    async def pages(self, path: str, list_type: type[T], *, params: Params = None,
                    limit: int | None = 500) -> AsyncGenerator[Any, None]:
        """A paginated LIST, page by page (decoded as `list_type`), pipelined: the API server writes a list's
        `metadata` (with the continue token) before its `items`, so the next page is requested as soon as the
        first bytes of this one have arrived, and the server builds page N+1 while page N is still being
        received and decoded here. Pages come out in order; the requests are exactly those of a sequential
        pager (same parameters, same tokens). Close it (`aclosing`) to drop a request still in flight."""
        base = dict(params or {})
        if limit:
            base["limit"] = str(limit)
        what = f"GET {path}"

        def follow(token: str) -> asyncio.Task[httpx.Response]:
            q = {k: v for k, v in base.items() if k not in ("resourceVersion", "resourceVersionMatch")}
            q["continue"] = token  # the API refuses resourceVersion together with continue
            return asyncio.ensure_future(self._send("GET", path, params=q, stream=True))

        nxt: asyncio.Task[httpx.Response] | None = asyncio.ensure_future(
            self._send("GET", path, params=base, stream=True))
        try:
            while nxt is not None:
                resp = await nxt
                nxt = None
                buf = bytearray()
                peeked = False
                try:
                    async for chunk in resp.aiter_bytes():
                        buf += chunk
                        if not peeked:
                            token = _peek_continue(buf)
                            if token is not None:
                                peeked = True
                                if token:
                                    nxt = follow(token)
                except httpx.HTTPError as e:
                    raise self.transport_error(e) from None
                finally:
                    await resp.aclose()
                page: Any = self._decode(buf, list_type, what)
                del buf
                if nxt is None and page.metadata.continue_:  # the token was not where we looked first
                    nxt = follow(page.metadata.continue_)
                yield page
        finally:
            if nxt is not None:
                nxt.cancel()
                try:
                    await (await nxt).aclose()
                except BaseException:  # noqa: BLE001 - cancelled or failed: nothing to release
                    pass

    @asynccontextmanager
    async def watch(self, path: str, *, params: Params = None,
                    timeout_seconds: int = 300) -> AsyncIterator[AsyncGenerator[WatchEvent, None]]:
        """WATCH. Use as `async with client.watch(path, params=...) as events: async for ev in events: ...`.

        Entering sends the request and raises mapped errors for an HTTP error status (410, 429, 403...), so
        once inside, the watch is established. `events` yields each event of the newline-delimited JSON
        stream (partial lines are buffered) until the server ends it; in-stream ERROR events are yielded
        too (their object is a Status). Leaving the block releases the connection."""
        q = {**(params or {}), "watch": "1", "timeoutSeconds": str(timeout_seconds)}
        resp = await self._send("GET", path, params=q, stream=True,
                                timeout=httpx.Timeout(self.timeout, read=timeout_seconds + 30))
        try:
            yield self._events(resp, path)
        finally:
            await resp.aclose()

    async def _events(self, resp: httpx.Response, path: str) -> AsyncGenerator[WatchEvent, None]:
        buf = bytearray()
        try:
            async for chunk in resp.aiter_bytes():
                buf += chunk
                start = 0
                while (nl := buf.find(b"\n", start)) >= 0:
                    line = bytes(buf[start:nl])
                    start = nl + 1
                    if line.strip():
                        yield self._decode(line, WatchEvent, f"WATCH {path}")
                del buf[:start]
        except httpx.HTTPError as e:
            raise self.transport_error(e) from None
        if bytes(buf).strip():
            yield self._decode(bytes(buf), WatchEvent, f"WATCH {path}")

    async def open_stream(self, path: str, params: Sequence[tuple[str, str]], protocols: Sequence[str], *,
                          open_timeout: float = 10.0) -> ChannelStream:
        """A WebSocket channel stream (exec/attach/portforward): `ecotui.kube.channels.open_stream`."""
        from .channels import open_stream
        return await open_stream(self, path, params, protocols, open_timeout=open_timeout)

    async def stream_lines(self, path: str, *, params: Params = None, follow: bool = True,
                           max_line: int = MAX_LINE) -> AsyncGenerator[bytes, None]:
        """`stream_line_batches`, one line at a time."""
        async with aclosing(self.stream_line_batches(path, params=params, follow=follow,
                                                     max_line=max_line)) as batches:
            async for batch in batches:
                for line in batch:
                    yield line

    async def stream_line_batches(self, path: str, *, params: Params = None, follow: bool = True,
                                  max_line: int = MAX_LINE) -> AsyncGenerator[builtins.list[bytes], None]:
        """GET a line-oriented stream (`pods/{name}/log`) and yield its complete lines as raw bytes, without the
        "\\n", a list per chunk received (one split per chunk: at 50k lines/s a step of this generator per line
        was most of the reader's work).

        Passes the write gate like every request (a GET is never refused). Runs on a separate connection pool
        (`LOG_POOL` connections) so hundreds of open log streams never block the other requests. A `follow`
        stream has no read timeout (a quiet container sends nothing for hours); a finite one has the client's.
        A line longer than `max_line` bytes is yielded cut to `max_line` bytes + `CUT_MARKER` and the rest of
        it is skipped, so memory stays bounded. An HTTP error status raises at the first `__anext__`
        (mapped like every request: ForbiddenError, HttpStatusError(status=400)…), a lost connection raises
        ConnectError; the server ending the stream ends the iteration (a last line without "\\n" included).
        Close it (`aclosing`) to release the connection early."""
        buf = b""        # the incomplete last line of what came so far
        skipping = False  # inside the rest of a line already cut
        async with aclosing(self._log_body(path, params, follow)) as body:
            async for chunk in body:
                nl = chunk.rfind(b"\n")
                if nl < 0:
                    if skipping:
                        continue
                    buf += chunk
                    if len(buf) > max_line:
                        yield [buf[:max_line] + CUT_MARKER]
                        buf, skipping = b"", True
                    continue
                whole = buf + chunk[:nl] if buf else chunk[:nl]
                buf = chunk[nl + 1:]
                lines = whole.split(b"\n")
                if skipping:
                    del lines[0]   # the end of the cut line
                    skipping = False
                if len(whole) > max_line:  # only then can one of them be too long
                    lines = [ln if len(ln) <= max_line else ln[:max_line] + CUT_MARKER for ln in lines]
                if len(buf) > max_line:
                    lines.append(buf[:max_line] + CUT_MARKER)
                    buf, skipping = b"", True
                if lines:
                    yield lines
        if buf and not skipping:
            yield [buf]

    def _raw_logs(self) -> bool:
        """Log streams read by `rawstream` (see there) — the same request httpx would send: no test transport,
        no proxy from the kubeconfig or (for a non-loopback server) from the environment."""
        if self._transport is not None or self.cluster.proxy_url or not self.server.startswith(("https://", "http://")):
            return False
        return is_loopback(self._host) or not rawstream.proxy_applies(self.server)

    def _raw_ssl(self, creds: Credentials) -> ssl.SSLContext:
        key = (creds.cert_pem or self._cert[0], creds.key_pem or self._cert[1])
        ctx = self._raw_ctx.get(key)
        if ctx is None:
            if len(self._raw_ctx) > 4:
                self._raw_ctx.clear()
            ctx = self._raw_ctx[key] = ssl_context(self.cluster, key[0], key[1], self.auth.user.name)
        return ctx

    async def _log_body(self, path: str, params: Params, follow: bool) -> AsyncGenerator[bytes, None]:
        """The body of a log request as it arrives (through `rawstream` when it can, else httpx)."""
        if not self._raw_logs():
            timeout = httpx.Timeout(self.timeout, read=None) if follow else None
            resp = await self._send("GET", path, params=params, stream=True, timeout=timeout, logs=True)
            try:
                async for chunk in resp.aiter_bytes():
                    yield chunk
            except httpx.HTTPError as e:
                raise self.transport_error(e) from None
            finally:
                await resp.aclose()
            return
        self.gate.check("GET", path)
        qs = str(httpx.QueryParams(params)) if params else ""
        target = path + ("?" + qs if qs else "")
        creds = await self.auth.credentials()
        for attempt in (0, 1):
            headers = {"Accept": "*/*", "User-Agent": f"ecotui/{__version__}"}
            if creds.authorization:
                headers["Authorization"] = creds.authorization
            try:
                raw = await rawstream.get(self.server, target, headers,
                                           ssl_ctx=self._raw_ssl(creds) if self.server.startswith("https://") else None,
                                           server_hostname=self.cluster.tls_server_name, timeout=self.timeout)
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                raise self._raw_error(e) from None
            if raw.status >= 400:
                body = await raw.read_all()
                await raw.aclose()
                if raw.status == 401 and attempt == 0 and self.auth.refreshable:
                    creds = await self.auth.reload(creds)
                    continue
                fake = httpx.Response(raw.status, headers=raw.headers, content=body,
                                      request=httpx.Request("GET", self.server + target))
                raise self.status_error(fake, "GET", path)
            try:
                async for piece in raw.body(None if follow else self.timeout):
                    yield piece
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                raise self._raw_error(e) from None
            finally:
                await raw.aclose()
            return

    def _raw_error(self, e: BaseException) -> ConnectError:
        if isinstance(e, asyncio.TimeoutError):
            return self.transport_error(httpx.ReadTimeout(str(e) or "timed out"))
        if isinstance(e, rawstream.StreamProtocolError):
            return self.transport_error(httpx.RemoteProtocolError(str(e)))
        if isinstance(e, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
            wrapped = httpx.ReadError(str(e) or type(e).__name__)
            wrapped.__cause__ = e
            return self.transport_error(wrapped)
        wrapped2 = httpx.ConnectError(str(e) or type(e).__name__)
        wrapped2.__cause__ = e
        return self.transport_error(wrapped2)
