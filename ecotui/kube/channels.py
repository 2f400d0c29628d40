"""WebSocket channel streams to the API server: the framing of `v4.channel.k8s.io` / `v5.channel.k8s.io`
(exec, attach, port-forward) over one WebSocket.

Every binary message is `[channel byte][payload]`. `open_stream` upgrades `GET path?params` with the offered
subprotocols, reusing the KubeClient's server URL, TLS context (`client.ssl_context`, cached per client
certificate), credentials (`client.auth.credentials()`, one retry after a 401 with `auth.reload`) and write gate
(`gate.check("GET", path)` first: read-only refuses exec/attach, allows port-forward). No proxy for a loopback
server (like Go), the cluster's proxy-url when set, else the environment's.

Handshake failures become one-line EcotuiErrors exactly like the KubeClient's requests (`status_error`):
403 → ForbiddenError (the API server's Status message), 401 → AuthError, 404 and others → HttpStatusError
(.status); refused / timeout / TLS → ConnectError naming the server.

`recv()` raises `StreamClosed` once the server has closed the stream (`.clean` False when the connection was
lost without a close handshake); `send()` on a closed stream raises it too.
"""
from __future__ import annotations

import ssl
import weakref
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import urlencode, urlsplit

import httpx
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, NegotiationError
from websockets.headers import validate_subprotocols
from websockets.typing import Subprotocol

from .. import __version__
from ..errors import ConnectError, EcotuiError
from ..textsafe import one_line
from .client import is_loopback, ssl_context

if TYPE_CHECKING:
    from .client import KubeClient

MAX_FRAME = 32 << 20            # largest message accepted from the server
QUEUE = (64, 16)                # frames buffered before the socket stops being read (high, low water)
WRITE_LIMIT = (256 << 10, 64 << 10)
_CHANNEL = [bytes([i]) for i in range(256)]


class StreamClosed(Exception):
    """The server closed the stream (the normal end). `clean` is False when the connection was lost without a
    close handshake; `code`/`reason` are the close frame's (when there was one)."""

    def __init__(self, message: str = "stream closed", *, clean: bool = True, code: int | None = None,
                 reason: str = "") -> None:
        super().__init__(message)
        self.clean = clean
        self.code = code
        self.reason = reason


def _closed(e: ConnectionClosed) -> StreamClosed:
    rcvd = e.rcvd
    code = rcvd.code if rcvd is not None else None
    reason = one_line(rcvd.reason, 200) if rcvd is not None else ""
    return StreamClosed(f"stream closed ({code or 'no close frame'}{': ' + reason if reason else ''})",
                        clean=isinstance(e, ConnectionClosedOK) or rcvd is not None, code=code, reason=reason)


class ChannelStream:
    """One open channel stream. `protocol` is the negotiated subprotocol ("" when the server chose none)."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol

    async def send(self, channel: int, data: bytes | bytearray | memoryview) -> None:
        """One binary frame [channel][data]."""
        try:
            await self.ws.send(_CHANNEL[channel] + data)
        except ConnectionClosed as e:
            raise _closed(e) from None

    async def recv_frame(self) -> bytes:
        """The next whole frame, channel byte included (no copy: the tunnel slices it with a memoryview).
        Raises StreamClosed at the end; an empty frame is returned as b"" (callers skip it)."""
        try:
            msg = await self.ws.recv()
        except ConnectionClosed as e:
            raise _closed(e) from None
        return msg.encode("utf-8", "replace") if isinstance(msg, str) else msg

    async def recv(self) -> tuple[int, bytes]:
        """The next frame as (channel, payload). Empty frames are skipped. Raises StreamClosed at the end."""
        while True:
            frame = await self.recv_frame()
            if frame:
                return frame[0], frame[1:]

    async def close_channel(self, channel: int) -> None:
        """v5 only: frame [255][channel] tells the server that channel is done (stdin EOF)."""
        if not self.protocol.startswith("v5."):
            raise ValueError(f"close_channel needs v5.channel.k8s.io (negotiated {self.protocol or 'none'!r})")
        await self.send(255, _CHANNEL[channel])

    async def close(self) -> None:
        try:
            await self.ws.close()
        except (ConnectionClosed, OSError):
            pass

    @property
    def closed(self) -> bool:
        return self.ws.close_code is not None

    async def __aenter__(self) -> ChannelStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _LaxSubprotocols(ClientConnection):
    """For subprotocols that are not HTTP tokens (kubectl's `SPDY/3.1+portforward.k8s.io` has a "/"), which the
    websockets library refuses to offer: they are sent as a plain header and the answer is checked here."""

    offered: tuple[str, ...] = ()

    async def handshake(self, *args: Any, **kw: Any) -> None:
        offered = self.offered

        def process_subprotocol(headers: Any) -> Any:
            got = [v.strip() for h in headers.get_all("Sec-WebSocket-Protocol") for v in h.split(",")]
            if not got:
                return None
            if len(got) != 1 or got[0] not in offered:
                raise NegotiationError(f"unexpected subprotocol {one_line(', '.join(got), 80)}")
            return got[0]

        self.protocol.process_subprotocol = process_subprotocol  # type: ignore[method-assign]
        await super().handshake(*args, **kw)


def _lax(protocols: Sequence[str]) -> bool:
    try:
        validate_subprotocols([Subprotocol(p) for p in protocols])
    except ValueError:
        return True
    return False


# TLS contexts per client (building one writes the client key to a temp file: do it once per certificate)
_ssl_cache: weakref.WeakKeyDictionary[Any, tuple[tuple[bytes | None, bytes | None], ssl.SSLContext]] = \
    weakref.WeakKeyDictionary()


def _ssl_for(client: KubeClient, cert: bytes | None, key: bytes | None) -> ssl.SSLContext:
    hit = _ssl_cache.get(client)
    if hit is not None and hit[0] == (cert, key):
        return hit[1]
    ctx = ssl_context(client.cluster, cert, key, client.auth.user.name)
    _ssl_cache[client] = ((cert, key), ctx)
    return ctx


def ws_url(server: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    parts = urlsplit(server)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = urlencode(list(params))
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}" + (f"?{query}" if query else "")


async def open_stream(client: KubeClient, path: str, params: Sequence[tuple[str, str]],
                      protocols: Sequence[str], *, open_timeout: float = 10.0) -> ChannelStream:
    """Upgrade `GET path?params` to a WebSocket offering `protocols` (best first). Raises EcotuiError kinds."""
    client.gate.check("GET", path)
    server = client.server
    url = ws_url(server, path, params)
    host = urlsplit(server).hostname or ""
    proxy: Any = client.cluster.proxy_url or (None if is_loopback(host) else True)
    creds = await client.auth.credentials()
    for attempt in (0, 1):
        headers = {"Authorization": creds.authorization} if creds.authorization else {}
        kw: dict[str, Any] = {}
        if url.startswith("wss://"):
            kw["ssl"] = _ssl_for(client, creds.cert_pem, creds.key_pem)
            if client.cluster.tls_server_name:
                kw["server_hostname"] = client.cluster.tls_server_name
        if _lax(protocols):
            headers["Sec-WebSocket-Protocol"] = ", ".join(protocols)
            kw["create_connection"] = type("_Lax", (_LaxSubprotocols,), {"offered": tuple(protocols)})
            offer = None
        else:
            offer = [Subprotocol(p) for p in protocols]
        try:
            ws = await connect(url, subprotocols=offer, additional_headers=headers,
                               user_agent_header=f"ecotui/{__version__}", proxy=proxy, compression=None,
                               open_timeout=open_timeout, max_size=MAX_FRAME, max_queue=QUEUE,
                               write_limit=WRITE_LIMIT, ping_interval=30, ping_timeout=30, close_timeout=2, **kw)
        except websockets.InvalidStatus as e:
            code = e.response.status_code
            if code == 401 and attempt == 0 and client.auth.refreshable:
                creds = await client.auth.reload(creds)
                continue
            resp = httpx.Response(code, content=bytes(e.response.body or b""),
                                  headers=[(k, v) for k, v in e.response.headers.raw_items()])
            raise client.status_error(resp, "GET", path) from None
        except TimeoutError:
            raise ConnectError(f"{server} did not answer the WebSocket upgrade of {path} in time "
                               f"({open_timeout:g} s)", "is the API server up and reachable from here?") from None
        except EcotuiError:
            raise
        except (OSError, ssl.SSLError, websockets.InvalidHandshake, websockets.InvalidURI, ValueError) as e:
            if isinstance(e, websockets.InvalidHandshake) and not isinstance(e, OSError):
                raise ConnectError(f"{server}: WebSocket upgrade of {path} failed: {one_line(str(e), 200)}",
                                   "the API server or a proxy in between does not accept WebSockets") from None
            raise client.transport_error(e) from None
        return ChannelStream(ws, ws.subprotocol or "")
    raise AssertionError("unreachable")
