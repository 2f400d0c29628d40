"""The fake API server's resourceVersion semantics, pinned to what the real kube-apiserver does (the data-layer
tests rely on them): LIST with "" / "0" / N and resourceVersionMatch, continue tokens that are read at the
RV of the first page and expire with the history, WATCH from "", "0", N and from a compacted RV."""
from __future__ import annotations

import json

import httpx
import pytest_asyncio

from fake_apiserver import EXPIRED_CONTINUE, EXPIRED_LIST, decode_continue, encode_continue, pod


@pytest_asyncio.fixture
async def h(api):
    async with httpx.AsyncClient(base_url=api.url) as c:
        yield c


def names(body: dict) -> list[str]:
    return [o["metadata"]["name"] for o in body["items"]]


async def get(h: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await h.get("/api/v1/pods", params=params)


async def test_paged_list_is_one_snapshot_at_the_first_pages_rv(api, h):
    api.seed("pods", [pod("ns", f"p{i}") for i in range(6)])
    rv0 = api.rv
    first = (await get(h, limit="2")).json()
    assert names(first) == ["p0", "p1"] and first["metadata"]["resourceVersion"] == str(rv0)
    assert first["metadata"]["remainingItemCount"] == 4
    token = first["metadata"]["continue"]
    assert decode_continue(token) == (rv0, "ns/p1\x00")
    await api.delete("pods", "ns", "p3")                   # later pages still show the snapshot:
    await api.put("pods", pod("ns", "p2", phase="Failed"))  # old versions, deleted objects, no new ones
    await api.put("pods", pod("ns", "p9"))
    second = (await get(h, limit="2", **{"continue": token})).json()
    assert names(second) == ["p2", "p3"] and second["items"][0]["status"]["phase"] == "Running"
    assert second["metadata"]["resourceVersion"] == str(rv0)
    third = (await get(h, limit="2", **{"continue": second["metadata"]["continue"]})).json()
    assert names(third) == ["p4", "p5"] and "continue" not in third["metadata"]


async def test_expired_continue_is_410_with_the_real_status(api, h):
    api.seed("pods", [pod("ns", f"p{i}") for i in range(5)])
    first = (await get(h, limit="2")).json()
    await api.put("pods", pod("ns", "p4", phase="Failed"))
    api.compact()
    r = await get(h, limit="2", **{"continue": first["metadata"]["continue"]})
    assert r.status_code == 410
    st = r.json()
    assert (st["kind"], st["status"], st["code"], st["reason"]) == ("Status", "Failure", 410, "Expired")
    assert st["message"] == EXPIRED_CONTINUE
    inconsistent = st["metadata"]["continue"]
    assert decode_continue(inconsistent) == (-1, "ns/p1\x00")
    rest = (await get(h, limit="10", **{"continue": inconsistent})).json()  # the remainder, at the latest RV
    assert names(rest) == ["p2", "p3", "p4"] and rest["items"][-1]["status"]["phase"] == "Failed"
    assert rest["metadata"]["resourceVersion"] == str(api.rv)


async def test_rv_0_is_served_whole_from_the_watch_cache(api, h):
    api.seed("pods", [pod("ns", f"p{i}") for i in range(5)])
    body = (await get(h, resourceVersion="0", limit="2")).json()
    assert len(body["items"]) == 5 and "continue" not in body["metadata"]
    body = (await get(h, resourceVersion="0", resourceVersionMatch="NotOlderThan", limit="2")).json()
    assert len(body["items"]) == 5
    api.cache_ignores_limit = False
    assert len((await get(h, resourceVersion="0", limit="2")).json()["items"]) == 2


async def test_not_older_than_exact_and_too_large(api, h):
    api.seed("pods", [pod("ns", "a"), pod("ns", "b")])
    old = api.rv
    await api.delete("pods", "ns", "a")
    now = (await get(h, resourceVersion=str(old), resourceVersionMatch="NotOlderThan")).json()
    assert names(now) == ["b"] and now["metadata"]["resourceVersion"] == str(api.rv)
    exact = (await get(h, resourceVersion=str(old), resourceVersionMatch="Exact")).json()
    assert names(exact) == ["a", "b"] and exact["metadata"]["resourceVersion"] == str(old)
    legacy = (await get(h, resourceVersion=str(old), limit="1")).json()  # RV=N with a limit: Exact
    assert names(legacy) == ["a"] and decode_continue(legacy["metadata"]["continue"])[0] == old
    api.compact()
    r = await get(h, resourceVersion=str(old), resourceVersionMatch="Exact")
    assert r.status_code == 410 and r.json()["reason"] == "Expired" and r.json()["message"] == EXPIRED_LIST
    r = await get(h, resourceVersion=str(old), resourceVersionMatch="NotOlderThan")
    assert r.status_code == 200  # NotOlderThan is never too old
    r = await get(h, resourceVersion=str(api.rv + 10), resourceVersionMatch="NotOlderThan")
    assert r.status_code == 504 and r.json()["reason"] == "Timeout"
    assert "Too large resource version" in r.json()["message"]


async def test_invalid_combinations_are_refused(api, h):
    api.seed("pods", [pod("ns", "a")])
    token = encode_continue(api.rv, "ns/a\x00")
    assert (await get(h, resourceVersionMatch="NotOlderThan")).status_code == 422
    assert (await get(h, resourceVersion="0", resourceVersionMatch="Exact")).status_code == 422
    assert (await get(h, resourceVersion="1", resourceVersionMatch="Newest")).status_code == 422
    assert (await get(h, resourceVersion=str(api.rv), **{"continue": token})).status_code == 400
    assert (await get(h, **{"continue": "not-a-token"})).status_code == 400


async def watch_lines(h: httpx.AsyncClient, **params: str) -> tuple[int, list[dict]]:
    async with h.stream("GET", "/api/v1/pods", params={"watch": "1", "timeoutSeconds": "1", **params}) as r:
        body = await r.aread()
    return r.status_code, [json.loads(x) for x in body.splitlines() if x.strip()]


async def test_watch_rv_semantics(api, h):
    api.seed("pods", [pod("ns", "a"), pod("ns", "b")])
    first = api.rv
    await api.delete("pods", "ns", "a")
    api.max_watch_seconds = 0.1
    for rv in ("", "0"):  # the current state as ADDED events
        code, evs = await watch_lines(h, resourceVersion=rv)
        assert code == 200 and [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "b")]
    code, evs = await watch_lines(h, resourceVersion=str(first - 1))  # every change after that RV
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "b"), ("DELETED", "a")]
    api.compact()
    code, evs = await watch_lines(h, resourceVersion=str(first))
    assert code == 200 and len(evs) == 1 and evs[0]["type"] == "ERROR"
    st = evs[0]["object"]
    assert (st["code"], st["reason"]) == (410, "Expired") and st["message"].startswith("too old resource version")
    api.expire_as_event = False
    code, _ = await watch_lines(h, resourceVersion=str(first))
    assert code == 410
    code, evs = await watch_lines(h, resourceVersion=str(api.rv))  # from the compaction point: fine
    assert code == 200 and evs == []
