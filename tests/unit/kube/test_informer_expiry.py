"""The informer against a fake API server with real resourceVersion semantics: continue tokens that expire in
the middle of a paged LIST (etcd compacted the snapshot's revision) and watches from a compacted RV (410).

What must hold in every case: the cache ends up exactly equal to the server's current state (no ghosts of
objects deleted meanwhile, no stale versions, nothing missing or twice), the informer never follows the
"inconsistent" continue token of an Expired error, and it goes on watching from the new list's RV.
"""
from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from conftest import FAST, make_client, wait_for, write_kubeconfig
from ecotui.kube.informer import Informer
from ecotui.kube.models import Pod, PodList
from ecotui.kube.store import ConnState
from fake_apiserver import FakeApiServer, Req, decode_continue, pod, status_body


@pytest_asyncio.fixture
async def client(tmp_path, api):
    c = make_client(write_kubeconfig(tmp_path / "config", api.url))
    yield c
    await c.aclose()


@pytest_asyncio.fixture
async def start():
    tasks: list[asyncio.Task] = []

    def run(inf: Informer) -> Informer:
        tasks.append(asyncio.create_task(inf.run()))
        return inf

    yield run
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def pods_informer(client) -> Informer:
    return Informer(client, "pods", "/api/v1/pods", PodList, Pod, initial_rv="", timing=FAST)


def matches_server(inf: Informer, api: FakeApiServer) -> bool:
    """The cache holds exactly the server's pods, each at the server's current resourceVersion."""
    items = inf.snapshot().items
    server = {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
              for o in api.objects["pods"].values()}
    return {k: p.metadata.resourceVersion for k, p in items.items()} == server


def never_followed_an_inconsistent_token(api: FakeApiServer) -> bool:
    return all(decode_continue(r.query["continue"])[0] > 0 for r in api.lists("pods") if "continue" in r.query)


async def change_the_cluster(api: FakeApiServer) -> None:
    """Between two pages: objects on the page already seen and on the pages still to come change."""
    await api.delete("pods", "ns", "p0001")                   # seen on page 1: must not stay as a ghost
    await api.delete("pods", "ns", "p0700")                   # on page 2, not seen yet
    await api.put("pods", pod("ns", "p0002", phase="Failed"))  # seen on page 1 at its old version
    await api.put("pods", pod("ns", "a-new"))                 # sorts before everything seen
    await api.put("pods", pod("ns", "zz-new"))                # sorts after everything


async def test_expired_continue_token_relists_from_scratch(api, client, start):
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])
    expired: list[Req] = []

    async def on_list(req: Req) -> None:
        if "continue" in req.query and not expired:  # the first continue: too late, etcd compacted meanwhile
            expired.append(req)
            await change_the_cluster(api)
            api.compact()

    api.on_list = on_list
    inf = start(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"), what="sync after the expired continue")
    assert matches_server(inf, api) and len(inf.snapshot().items) == 1203  # 1203 - 2 deleted + 2 created
    items = inf.snapshot().items
    assert "ns/p0001" not in items and "ns/p0700" not in items
    assert items["ns/p0002"].status.phase == "Failed" and {"ns/a-new", "ns/zz-new"} <= set(items)
    lists = api.lists("pods")
    assert "continue" in lists[1].query and lists[1] is expired[0]  # the page that got 410 Expired
    relist = lists[2].query
    assert "continue" not in relist and "resourceVersion" not in relist  # from scratch, consistent read
    assert "limit" not in relist  # in one piece, like client-go's pager: nothing left to expire
    assert never_followed_an_inconsistent_token(api)
    assert inf.stats["lists"] == 1 and inf.connection.state is ConnState.LIVE
    assert api.watches("pods")[0].query["resourceVersion"] == inf.resource_version == str(api.rv)
    await api.put("pods", pod("ns", "after"))
    await wait_for(lambda: "ns/after" in inf.snapshot().items, what="watch after the relist")
    assert matches_server(inf, api)


async def test_list_slower_than_compaction_still_syncs(api, client, start):
    """Every paged list expires before its second page (a big cluster over a slow link takes longer than
    etcd keeps revisions): like client-go's pager, fall back to one unpaged list, which cannot expire."""
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])

    async def on_list(req: Req) -> None:
        if "continue" in req.query:
            await api.put("pods", pod("ns", f"churn-{len(api.history)}"))
            api.compact()

    api.on_list = on_list
    inf = start(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"), what="sync despite expiring continue tokens")
    assert matches_server(inf, api)
    full = api.lists("pods")[-1].query
    assert "limit" not in full and "continue" not in full and "resourceVersion" not in full
    assert never_followed_an_inconsistent_token(api)


async def test_expired_continue_during_a_relist_of_a_filled_cache(api, client, start):
    """A watch 410 whose re-list at the last RV is refused too, so it is a paged consistent read, and that
    read's continue token expires: the cache is replaced whole once, with the right diff."""
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])
    inf = start(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    api.fail(lambda r: r.query.get("resourceVersionMatch") == "NotOlderThan", 410,
             status_body(410, "too old resource version", "Expired"))
    expired: list[Req] = []

    async def on_list(req: Req) -> None:
        if "continue" in req.query and not expired:
            expired.append(req)
            await change_the_cluster(api)
            api.compact()

    api.on_list = on_list
    old = dict(inf.snapshot().items)
    await api.delete("pods", "ns", "p1000")  # while the watch is down (below)
    api.drop_watches()
    api.compact()
    await wait_for(lambda: expired and inf.synced and matches_server(inf, api), what="relist")
    items = inf.snapshot().items
    assert len(items) == 1202 and "ns/p1000" not in items and "ns/p0001" not in items
    assert inf.last_resync is not None
    assert (inf.last_resync.added, inf.last_resync.deleted) == (
        len(set(items) - set(old)), len(set(old) - set(items))) == (2, 3)
    assert never_followed_an_inconsistent_token(api)
    await wait_for(lambda: inf.connection.state is ConnState.LIVE)


@pytest.mark.parametrize("as_event", [True, False], ids=["error-event-410", "http-410"])
async def test_watch_from_a_compacted_rv_relists(api, client, start, as_event):
    api.seed("pods", [pod("ns", n) for n in ("keep", "gone", "changed")])
    inf = start(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    old_rv = inf.resource_version
    api.expire_as_event = as_event
    api.fail(lambda r: r.watch, 503, times=10**6)  # the watch is down for a while...
    api.drop_watches()
    await wait_for(lambda: inf.connection.state is ConnState.RECONNECTING, what="watch down")
    api._record("pods", "DELETED", api.objects["pods"]["ns/gone"])  # ...the cluster changes meanwhile...
    api._record("pods", "MODIFIED", pod("ns", "changed", phase="Succeeded"))
    api._record("pods", "ADDED", pod("ns", "new"))
    api.compact()  # ...and etcd compacts past old_rv
    api.faults.clear()
    await wait_for(lambda: inf.stats["expired"] >= 1 and matches_server(inf, api), what="relist after 410")
    relist = api.lists("pods")[-1].query
    assert relist["resourceVersion"] == old_rv and relist["resourceVersionMatch"] == "NotOlderThan"
    assert "limit" not in relist  # served whole by the watch cache; NotOlderThan is never "too old"
    assert set(inf.snapshot().items) == {"ns/keep", "ns/changed", "ns/new"}
    assert inf.last_resync is not None
    assert (inf.last_resync.added, inf.last_resync.modified, inf.last_resync.deleted) == (1, 1, 1)
    await wait_for(lambda: api.watches("pods")[-1].query["resourceVersion"] == str(api.rv), what="re-watch")
    await api.put("pods", pod("ns", "later"))
    await wait_for(lambda: "ns/later" in inf.snapshot().items)

