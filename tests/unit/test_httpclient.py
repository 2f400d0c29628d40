"""ecotui.httpclient.AsyncClient: a response it has read is freed by reference counting alone (httpx binds each
response's stream to the response: a cycle that kept query_range bodies alive until a full collection)."""
from __future__ import annotations

import gc
import weakref

import httpx
import pytest

from ecotui.httpclient import AsyncClient, unbind

BODY = b"x" * 500_000


async def _chunks():
    for i in range(0, len(BODY), 100_000):
        yield BODY[i:i + 100_000]


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/stream":
        return httpx.Response(200, content=_chunks())
    if request.url.path == "/redirect":
        return httpx.Response(302, headers={"Location": "/body"})
    return httpx.Response(200, content=BODY, headers={"X-Test": "1"})


async def _read(client: httpx.AsyncClient, path: str = "/body") -> weakref.ref[httpx.Response]:
    resp = await client.get(path)
    assert resp.status_code == 200 and resp.content == BODY and resp.headers["X-Test"] == "1"
    assert resp.json  # the response stays whole for the caller
    return weakref.ref(resp)


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_read_response_dies_with_its_last_reference(no_gc):
    async with AsyncClient(transport=httpx.MockTransport(handler), base_url="http://t") as c:
        ref = await _read(c)
        assert ref() is None
        ref = await _read(c.__class__(transport=httpx.MockTransport(handler), base_url="http://t",
                                      follow_redirects=True), "/redirect")
        assert ref() is None


async def test_plain_httpx_keeps_it_until_a_full_collection(no_gc):
    """The reason for the class: if httpx stops making the cycle, this fails and the class can go."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://t") as c:
        ref = await _read(c)
        assert ref() is not None
        gc.collect()
        assert ref() is None


async def test_streamed_responses_keep_their_stream_until_read():
    async with AsyncClient(transport=httpx.MockTransport(handler), base_url="http://t") as c:
        req = c.build_request("GET", "/stream")
        resp = await c.send(req, stream=True)
        bound = resp.stream
        assert unbind(resp) is resp and resp.stream is bound   # not read: left alone
        body = b"".join([chunk async for chunk in resp.aiter_bytes()])
        assert body == BODY
        await resp.aclose()
        unbind(resp)
        assert resp.stream is bound        # streamed, not buffered: nothing big to free
