"""How a forward reaches its pod: opening a SPDY tunnel session (kubectl's transport, preferred) or a v4
port-forward WebSocket (one per connection, the fallback), and the v4 readiness probe."""
from __future__ import annotations

import asyncio
from typing import Any

from ..errors import ConnectError
from ..kube.channels import ChannelStream, StreamClosed
from ..kube.client import HttpStatusError
from ..textsafe import one_line
from .resolve import ForwardError, Resolved, object_path
from .spdy import TUNNEL_PROTOCOL, SpdyTunnel
from .tunnel import PORTFORWARD_PROTOCOLS


def portforward_path(res: Resolved) -> str:
    return object_path("pod", res.namespace, res.pod) + "/portforward"


async def open_tunnel(api: Any, res: Resolved) -> SpdyTunnel | None:
    """A SPDY session to the pod, or None when the API server does not offer the tunnel (then every
    connection gets its own v4 WebSocket). Other failures raise (403, 404, connection)."""
    try:
        stream: ChannelStream = await api.open_stream(portforward_path(res), [], [TUNNEL_PROTOCOL])
    except HttpStatusError as e:
        if e.status in (400, 426):
            return None
        raise
    except ConnectError as e:
        if "WebSocket upgrade" in e.message:
            return None
        raise
    if stream.protocol != TUNNEL_PROTOCOL:
        await stream.close()
        return None
    return SpdyTunnel(stream, res.pod)


async def open_v4(api: Any, res: Resolved) -> ChannelStream:
    stream: ChannelStream = await api.open_stream(portforward_path(res), [("ports", str(res.pod_port))],
                                                  list(PORTFORWARD_PROTOCOLS))
    return stream


async def probe_v4(stream: ChannelStream, res: Resolved, wait: float) -> bool:
    """Read the two port headers (checked) and listen `wait` seconds for error text: ForwardError with the line
    when there is one. True when the stream can still be handed to a connection (nothing else was read)."""
    try:
        seen = [False, False]
        while not all(seen):
            frame = await asyncio.wait_for(stream.recv_frame(), 10)
            if not frame or frame[0] > 1:
                continue
            if len(frame) != 3 or frame[1] | (frame[2] << 8) != res.pod_port:
                raise ForwardError(f"pod {res.pod}: unexpected port-forward header on channel {frame[0]}")
            seen[frame[0]] = True
        try:
            frame = await asyncio.wait_for(stream.recv_frame(), wait)
        except TimeoutError:
            return True
        if frame[:1] == b"\x01" and len(frame) > 1:
            raise ForwardError(one_line(bytes(frame[1:]).decode("utf-8", "replace"), 300))
        return False   # the pod spoke first (or closed): fine, but this stream cannot be handed on
    except TimeoutError:
        raise ForwardError(f"pod {res.pod}: no answer on the port-forward stream") from None
    except StreamClosed:
        raise ForwardError(f"pod {res.pod}: the port-forward stream closed at once") from None
