"""`AsyncClient`: httpx's client, except that a response it has read is freed as soon as nobody holds it.

httpx (0.28) binds every response's stream to the response (`BoundAsyncStream._response`): a reference cycle, so a
response and its whole body live until the cyclic garbage collector's next full pass — which the UI runs only
when idle while a log stream goes on (`ecotui.ui.gc_idle`). Measured with automatic collection off, like the UI
during a burst: a Loki catch-up of 1.2M lines left 171 MiB of query_range bodies behind (`bench.logs_mem --garbage`);
with collection on, they were what the memory rule's 60–130 ms full passes collected. A list of 10,000 pods
(~30 MB) is kept the same way.

Here, once `send` has read the body (every call but `stream=True`), the response's stream is replaced by an empty
one: the cycle is gone and the response with its body goes when its last reference does. The response stays
whole for the caller (`content`, `text`, `json()`, headers, status). Streamed responses keep httpx's binding
(they are read later; their bodies are not buffered).
"""
from __future__ import annotations

from typing import Any

import httpx

__all__ = ["AsyncClient", "unbind"]

_EMPTY = b""


def unbind(resp: httpx.Response) -> httpx.Response:
    """Break the response ↔ stream cycle of a response whose body was read (a no-op otherwise)."""
    if resp.is_closed and hasattr(resp, "_content"):
        resp.stream = httpx.ByteStream(_EMPTY)
        for r in resp.history:
            unbind(r)
    return resp


class AsyncClient(httpx.AsyncClient):
    """httpx.AsyncClient whose read responses hold no reference cycle (see the module docstring)."""

    async def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        resp = await super().send(request, stream=stream, **kwargs)
        return resp if stream else unbind(resp)
