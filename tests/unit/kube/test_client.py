"""KubeClient: pagination, watch stream parsing, generic requests and error mapping (one line, names server)."""
from __future__ import annotations

import json
import socket

import httpx
import pytest

from conftest import make_client, write_kubeconfig
from ecotui.errors import ApiError, ConnectError, ForbiddenError
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import HttpStatusError, KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from ecotui.kube.models import Pod, PodList
from fake_apiserver import pod, status_body


def mock_client(handler) -> KubeClient:
    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    return KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster),
                      transport=httpx.MockTransport(handler))


async def test_list_follows_continue_and_decodes_typed(tmp_path, api):
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])
    client = make_client(write_kubeconfig(tmp_path / "config", api.url))
    try:
        items, rv = await client.list("/api/v1/pods", PodList, params={"resourceVersion": str(api.rv)})
    finally:
        await client.aclose()
    assert len(items) == 1203 and all(isinstance(p, Pod) for p in items)
    assert len({p.metadata.name for p in items}) == 1203
    assert rv == str(api.rv)
    lists = api.lists("pods")
    assert [r.query.get("limit") for r in lists] == ["500", "500", "500"]  # RV=N with a limit: paged (Exact)
    assert lists[0].query.get("resourceVersion") == str(api.rv) and "continue" not in lists[0].query
    for r in lists[1:]:  # the API refuses resourceVersion together with continue
        assert r.query.get("continue") and "resourceVersion" not in r.query
    assert lists[0].auth == "Bearer t0"


async def test_watch_parses_partial_lines():
    ev1 = json.dumps({"type": "ADDED", "object": pod("ns", "a")}).encode()
    ev2 = json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "77"}}}).encode()
    ev3 = json.dumps({"type": "DELETED", "object": pod("ns", "b")}).encode()
    wire = ev1 + b"\n" + ev2 + b"\n\n" + ev3  # last line without newline
    seen: list[httpx.Request] = []

    async def body():
        for i in range(0, len(wire), 7):  # chunks cut lines anywhere
            yield wire[i:i + 7]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body())

    client = mock_client(handler)
    async with client.watch("/api/v1/pods", params={"resourceVersion": "5"}, timeout_seconds=321) as events:
        got = [ev async for ev in events]
    await client.aclose()
    assert [e.type for e in got] == ["ADDED", "BOOKMARK", "DELETED"]
    assert json.loads(bytes(got[0].object))["metadata"]["name"] == "a"
    assert json.loads(bytes(got[2].object))["metadata"]["name"] == "b"
    q = seen[0].url.params
    assert q["watch"] == "1" and q["timeoutSeconds"] == "321" and q["resourceVersion"] == "5"
    assert seen[0].extensions["timeout"]["read"] == 351
    assert seen[0].headers["accept"] == "application/json"


async def test_request_sends_json_patch_and_returns_body():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"kind": "Node", "spec": {"unschedulable": True}})

    client = mock_client(handler)
    out = await client.request("PATCH", "/api/v1/nodes/n1", json={"spec": {"unschedulable": True}},
                               content_type="application/strategic-merge-patch+json")
    await client.aclose()
    assert out == {"kind": "Node", "spec": {"unschedulable": True}}
    assert seen[0].method == "PATCH"
    assert seen[0].headers["content-type"] == "application/strategic-merge-patch+json"
    assert json.loads(seen[0].content) == {"spec": {"unschedulable": True}}
    assert seen[0].headers["authorization"] == "Bearer t"


@pytest.mark.parametrize("status, body, headers, exc, text", [
    (403, status_body(403, 'pods is forbidden: User "dev" cannot list resource "pods" in API group "" at the '
                           'cluster scope', "Forbidden"), {}, ForbiddenError,
     'http://127.0.0.1:9: forbidden: pods is forbidden: User "dev" cannot list resource "pods"'),
    (404, status_body(404, 'pods "x" not found', "NotFound"), {}, HttpStatusError,
     'http://127.0.0.1:9: GET /api/v1/pods failed with HTTP 404: pods "x" not found'),
    (500, b"<html>oops</html>", {}, HttpStatusError, "http://127.0.0.1:9: GET /api/v1/pods failed with HTTP 500"),
    (429, status_body(429, "Too many requests, please try again later.", "TooManyRequests"),
     {"Retry-After": "3"}, HttpStatusError, "failed with HTTP 429: Too many requests"),
    (200, b'{"metadata": {"resourceVersion": "1"}, "items": [{"metadata": ', {}, ApiError,
     "http://127.0.0.1:9: malformed JSON in the response to GET /api/v1/pods"),
    (403, status_body(403, "evil \x1b]0;pwned\x07 \x1b[2J message"), {}, ForbiddenError, "evil \\x1b]0;pwned"),
])
async def test_status_mapping(status, body, headers, exc, text):
    client = mock_client(lambda r: httpx.Response(status, content=body, headers=headers))
    with pytest.raises(exc) as ei:
        await client.list("/api/v1/pods", PodList)
    await client.aclose()
    e = ei.value
    assert text in e.message and "\n" not in e.message and "\x1b" not in e.message and "\x07" not in e.message
    if isinstance(e, HttpStatusError):
        assert e.status == status
        assert e.retry_after == (3.0 if status == 429 else None)


async def test_connection_refused_is_connect_error(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    client = make_client(write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{port}"))
    with pytest.raises(ConnectError) as ei:
        await client.get("/version")
    await client.aclose()
    assert ei.value.message == f"connection to http://127.0.0.1:{port} refused"
    assert "Traceback" not in str(ei.value) and ei.value.hint


async def test_connection_lost_mid_watch_is_connect_error(tmp_path, api):
    api.seed("pods", [pod("ns", "a")])
    client = make_client(write_kubeconfig(tmp_path / "config", api.url))
    got = []
    with pytest.raises(ConnectError) as ei:
        async with client.watch("/api/v1/pods", params={"resourceVersion": "0"}) as events:
            async for ev in events:
                got.append(ev.type)
                api.drop_watches()
    await client.aclose()
    assert got == ["ADDED"]
    assert ei.value.message.startswith(f"connection to {api.url} lost")


async def test_silent_server_times_out_as_connect_error():
    import asyncio

    done = asyncio.Event()

    async def never_answer(reader, writer):
        await reader.read(65536)
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cluster = ClusterInfo(name="slow", server=f"http://127.0.0.1:{port}")
    client = KubeClient(cluster, Authenticator(UserInfo(name="u"), cluster), timeout=0.2)
    try:
        with pytest.raises(ConnectError) as ei:
            await client.get("/version")
    finally:
        await client.aclose()
        done.set()
        server.close()
        await server.wait_closed()
    assert ei.value.message == f"http://127.0.0.1:{port} did not answer in time (ReadTimeout)"


async def test_pages_requests_the_next_page_while_this_one_is_still_arriving():
    """Pipelined pager: the continue token is in the first bytes (metadata precedes items), so page 2 is asked
    for before page 1's items have all arrived; the requests equal a sequential pager's."""
    import asyncio

    from ecotui.kube.client import _peek_continue
    log: list[str] = []
    second_asked = asyncio.Event()

    def page(n: int, cont: str, names: list[str]) -> tuple[bytes, bytes]:
        head = json.dumps({"kind": "PodList", "apiVersion": "v1",
                           "metadata": {"resourceVersion": "5", "continue": cont}})[:-1] + ', "items": ['
        items = ",".join(json.dumps(pod("ns", x)) for x in names) + "]}"
        return head.encode(), items.encode()

    async def body(head: bytes, rest: bytes, n: int):
        yield head
        log.append(f"page {n} head sent")
        if n == 1:
            await asyncio.wait_for(second_asked.wait(), 5)   # the rest of page 1 only after page 2 was asked
        yield rest
        log.append(f"page {n} done")

    async def handler(req: httpx.Request) -> httpx.Response:
        cont = req.url.params.get("continue")
        log.append(f"GET continue={cont}")
        if cont is None:
            assert req.url.params.get("resourceVersion") == "0" and req.url.params.get("limit") == "2"
            head, rest = page(1, "tok-2", ["a", "b"])
            return httpx.Response(200, content=body(head, rest, 1))
        assert cont == "tok-2" and "resourceVersion" not in req.url.params
        second_asked.set()
        head, rest = page(2, "", ["c"])
        return httpx.Response(200, content=body(head, rest, 2))

    client = mock_client(handler)
    try:
        items, rv = await client.list("/api/v1/pods", PodList, params={"resourceVersion": "0"}, limit=2)
    finally:
        await client.aclose()
    assert [p.metadata.name for p in items] == ["a", "b", "c"] and rv == "5"
    assert log.index("GET continue=tok-2") < log.index("page 1 done")
    assert _peek_continue(bytearray(b'{"metadata":{"continue":"x"},"items":[')) == "x"
    assert _peek_continue(bytearray(b'{"metadata":{"resourceVersion":"1"},"items":[')) == ""
    assert _peek_continue(bytearray(b'{"metadata":{"continue":"x"')) is None     # not arrived yet
