"""The Reflector port against the fake API server: sync, watch, bookmarks, 410 relists, backoff, states."""
from __future__ import annotations

import asyncio
from contextlib import aclosing
import time

import pytest
import pytest_asyncio

from conftest import FAST, make_client, wait_for, write_kubeconfig
from ecotui.kube.backoff import Backoff
from ecotui.kube.informer import Informer, Timing
from ecotui.kube.models import Event, EventList, Node, NodeList, Pod, PodList
from ecotui.kube.render import event_time_key
from ecotui.kube.store import ConnState
from fake_apiserver import event, node, pod, status_body


@pytest_asyncio.fixture
async def client(tmp_path, api):
    c = make_client(write_kubeconfig(tmp_path / "config", api.url))
    yield c
    await c.aclose()


class Running:
    def __init__(self, inf: Informer) -> None:
        self.inf = inf
        self.task = asyncio.create_task(inf.run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest_asyncio.fixture
async def run_informer():
    running: list[Running] = []

    def start(inf: Informer) -> Informer:
        running.append(Running(inf))
        return inf

    yield start
    for r in running:
        await r.stop()


def pods_informer(client, **kw) -> Informer:
    return Informer(client, "pods", "/api/v1/pods", PodList, Pod, initial_rv="", timing=kw.pop("timing", FAST), **kw)


def keys(inf: Informer) -> set[str]:
    return set(inf.snapshot().items)


async def test_initial_paged_sync_then_live(api, client, run_informer):
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])
    api.seed("nodes", [node("n1"), node("n2")])
    pods = run_informer(pods_informer(client))
    nodes = run_informer(Informer(client, "nodes", "/api/v1/nodes", NodeList, Node, namespaced=False, timing=FAST))
    await wait_for(lambda: pods.synced and nodes.synced)
    assert len(pods.snapshot().items) == 1203 and pods.snapshot().synced
    assert keys(nodes) == {"n1", "n2"}  # cluster-scoped kinds are keyed by name
    assert pods.connection.state is ConnState.LIVE
    first = api.lists("pods")[0].query
    assert "resourceVersion" not in first and first["limit"] == "500"  # RV="" paged consistent read
    assert api.lists("nodes")[0].query["resourceVersion"] == "0"  # small kinds: watch cache
    await wait_for(lambda: api.watches("pods"), what="watch")
    w = api.watches("pods")[0].query
    assert w["resourceVersion"] == pods.resource_version and w["allowWatchBookmarks"] == "true"
    assert 5 <= int(w["timeoutSeconds"]) <= 5  # FAST uses (5, 5); the default is 300-600
    assert len(api.lists("pods")) == 3


async def test_watch_applies_changes_and_bookmarks_only_advance_rv(api, client, run_informer):
    api.seed("pods", [pod("ns", "a"), pod("ns", "b")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    await api.put("pods", pod("ns", "c"))
    await api.put("pods", pod("ns", "a", phase="Failed"))
    await api.delete("pods", "ns", "b")
    await wait_for(lambda: keys(inf) == {"ns/a", "ns/c"}, what="watch events")
    await wait_for(lambda: inf.snapshot().items["ns/a"].status.phase == "Failed")
    assert inf.stats["events"] == 3 and inf.resource_version == str(api.rv)
    version, snap = inf.snapshot().version, inf.snapshot()
    api.rv += 5  # other kinds moved the RV on; only a bookmark can tell us
    api.bookmark_interval = 0.05
    await api._notify()
    await wait_for(lambda: inf.resource_version == str(api.rv), what="bookmark")
    assert inf.snapshot() is snap and inf.snapshot().version == version  # no data change, no copy


@pytest.mark.parametrize("as_event", [False, True], ids=["http-410", "error-event-410"])
async def test_relist_after_410_removes_objects_deleted_in_the_gap(api, client, run_informer, as_event):
    api.seed("pods", [pod("ns", n) for n in ("keep", "gone1", "gone2", "changed")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    old_rv = inf.resource_version
    await api.stop()  # the API server goes away; meanwhile the cluster changes and history is compacted
    await wait_for(lambda: inf.connection.state is ConnState.RECONNECTING, what="RECONNECTING")
    api.seed("pods", [pod("ns", "new"), pod("ns", "changed", phase="Succeeded")])
    api._record("pods", "DELETED", api.objects["pods"]["ns/gone1"])
    api._record("pods", "DELETED", api.objects["pods"]["ns/gone2"])
    api.compact()
    api.expire_as_event = as_event
    await api.start()
    await wait_for(lambda: keys(inf) == {"ns/keep", "ns/new", "ns/changed"}, what="relist")
    assert inf.snapshot().items["ns/changed"].status.phase == "Succeeded"
    assert len(inf.snapshot().items) == 3
    relist = api.lists("pods")[-1].query
    assert relist["resourceVersion"] == old_rv and relist["resourceVersionMatch"] == "NotOlderThan"
    assert "limit" not in relist
    assert inf.stats["expired"] == 1
    assert (inf.last_resync.added, inf.last_resync.modified, inf.last_resync.deleted) == (1, 1, 2)
    await wait_for(lambda: inf.connection.state is ConnState.LIVE)


async def test_relist_falls_back_to_fresh_list_when_rv_is_refused_too(api, client, run_informer):
    api.seed("pods", [pod("ns", "a"), pod("ns", "b")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    api.fail(lambda r: r.query.get("resourceVersionMatch") == "NotOlderThan", 410,
             status_body(410, "too old resource version", "Expired"))
    api._record("pods", "DELETED", api.objects["pods"]["ns/a"])
    api.compact()
    api.drop_watches()
    await wait_for(lambda: keys(inf) == {"ns/b"}, what="fresh relist")
    lists = api.lists("pods")
    assert lists[-2].query.get("resourceVersionMatch") == "NotOlderThan"  # refused with 410
    assert "resourceVersion" not in lists[-1].query and lists[-1].query["limit"] == "500"
    assert inf.connection.state is ConnState.LIVE


async def test_events_during_a_reconnect_are_applied_exactly_once(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    await api.put("pods", pod("ns", "b"))
    await wait_for(lambda: "ns/b" in keys(inf))
    before_events, rv_before_gap = inf.stats["events"], inf.resource_version
    await api.stop()
    await wait_for(lambda: inf.connection.state is ConnState.RECONNECTING)
    api.seed("pods", [pod("ns", "c"), pod("ns", "a", phase="Failed")])
    api._record("pods", "DELETED", api.objects["pods"]["ns/b"])
    await api.start()
    await wait_for(lambda: keys(inf) == {"ns/a", "ns/c"}, what="gap events")
    assert inf.stats["events"] - before_events == 3  # each gap event once: no duplicates, no re-list
    assert inf.stats["lists"] == 1
    assert api.watches("pods")[-1].query["resourceVersion"] == rv_before_gap
    await api.put("pods", pod("ns", "d"))
    await wait_for(lambda: "ns/d" in keys(inf))
    assert inf.stats["events"] - before_events == 4


async def test_429_retry_after_is_honoured(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    api.fail(lambda r: not r.watch, 429, status_body(429, "Too many requests", "TooManyRequests"),
             headers={"Retry-After": "1"})
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: len(api.lists("pods")) == 1)
    await wait_for(lambda: inf.connection.state is ConnState.RECONNECTING)
    assert "HTTP 429" in inf.connection.message
    await wait_for(lambda: inf.synced, what="sync after 429")
    first, second = api.lists("pods")[:2]
    assert second.at - first.at >= 0.95  # FAST's own backoff would have retried after <= 0.2 s


async def test_forbidden_is_error_state_with_message_then_recovers(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    api.fail(lambda r: not r.watch, 403, status_body(403, 'pods is forbidden: User "dev" cannot list resource '
                                                         '"pods"', "Forbidden"), times=1)
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.connection.state is ConnState.ERROR)
    assert inf.connection.message == f'pods: {client.server}: forbidden: pods is forbidden: User "dev" cannot ' \
                                     'list resource "pods"'
    assert not inf.synced
    await wait_for(lambda: inf.synced and inf.connection.state is ConnState.LIVE, what="retry after error")
    first, second = api.lists("pods")[:2]
    assert second.at - first.at >= FAST.error_retry * 0.9


async def test_states_reconnecting_stale_live(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    broke = time.time()
    await api.stop()
    await wait_for(lambda: inf.connection.state is ConnState.RECONNECTING)
    since = inf.connection.since
    assert abs(since - broke) < 0.5
    await wait_for(lambda: "refused" in inf.connection.message, what="refused")
    assert inf.connection.state is ConnState.RECONNECTING and inf.connection.since == since
    await wait_for(lambda: inf.connection.state is ConnState.STALE, what="STALE")
    assert inf.connection.since == since  # the last time the data was known good
    assert keys(inf) == {"ns/a"}  # stale data stays visible
    await api.start()
    t0 = time.monotonic()
    await wait_for(lambda: inf.connection.state is ConnState.LIVE, what="LIVE again")
    assert time.monotonic() - t0 < 1.0  # FAST caps the connection backoff at 0.2 s


def test_default_connection_backoff_recovers_within_seconds():
    t = Timing()
    bo = Backoff(*t.conn_backoff)
    delays = [bo.next() for _ in range(20)]
    assert max(delays) <= 4.0 and delays[0] <= 0.5 and delays[-1] >= 3.2
    assert t.stale_after == 15.0 and t.error_retry == 30.0 and t.watch_timeout == (300, 600)
    throttle = Backoff(*t.throttle_backoff, jitter=0.0)
    assert [throttle.next() for _ in range(7)] == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]


async def test_very_short_watches_back_off(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    api.max_watch_seconds = 0  # every watch ends at once with no events
    inf = run_informer(pods_informer(client, timing=Timing(conn_backoff=(0.05, 0.4), very_short_watch=0.5)))
    await wait_for(lambda: inf.synced)
    await asyncio.sleep(1.0)
    n = len(api.watches("pods"))
    assert 2 <= n <= 8  # backing off 0.05, 0.1, 0.2, 0.4, 0.4...; without backoff there would be hundreds
    gaps = [b.at - a.at for a, b in zip(api.watches("pods"), api.watches("pods")[1:])]
    assert gaps[-1] > gaps[0]


async def test_events_cache_keeps_only_the_newest(api, client, run_informer):
    api.seed("events", [event("ns", f"e{i}", "p", f"2026-01-01T00:00:{i:02d}Z") for i in range(8)])
    inf = run_informer(Informer(client, "events", "/api/v1/events", EventList, Event, initial_rv="", timing=FAST,
                                max_items=5, order_key=event_time_key))
    await wait_for(lambda: inf.synced and api.watches("events"))
    assert keys(inf) == {f"ns/e{i}" for i in range(3, 8)}
    await api.put("events", event("ns", "newest", "p", "2026-01-01T00:01:00Z"))
    await api.put("events", event("ns", "ancient", "p", "2025-01-01T00:00:00Z"))
    await api.put("events", event("ns", "e3", "p", "2026-01-01T00:02:00Z"))  # e3 happens again: now newest
    await wait_for(lambda: inf.stats["events"] == 3)
    assert keys(inf) == {"ns/e3", "ns/e5", "ns/e6", "ns/e7", "ns/newest"}


async def test_snapshot_is_copied_lazily_and_immutable(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced and api.watches("pods"))
    s1 = inf.snapshot()
    assert inf.snapshot() is s1  # nothing changed: no copy
    with pytest.raises(TypeError):
        s1.items["ns/x"] = None  # type: ignore[index]
    await api.put("pods", pod("ns", "b"))
    await wait_for(lambda: inf.snapshot() is not s1)
    s2 = inf.snapshot()
    assert set(s1.items) == {"ns/a"} and set(s2.items) == {"ns/a", "ns/b"} and s2.version > s1.version


async def test_malformed_list_is_error_state(api, client, run_informer):
    api.fail(lambda r: not r.watch, 200, b'{"items": [', times=100)
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.connection.state is ConnState.ERROR)
    assert "malformed JSON" in inf.connection.message and "\n" not in inf.connection.message


async def test_watch_expiring_right_after_every_relist_backs_off(api, client, run_informer):
    api.seed("pods", [pod("ns", "a")])
    api.compacted = 10**9  # a broken server: every watch is "too old", even from a fresh list
    inf = run_informer(pods_informer(client))
    await wait_for(lambda: inf.synced)
    await asyncio.sleep(0.6)
    assert inf.stats["expired"] >= 2
    assert len(api.lists("pods")) <= 8  # backing off from the second expiry on, not re-listing in a loop
    assert keys(inf) == {"ns/a"}


async def test_first_list_is_published_page_by_page_and_a_failed_page_relists_whole(api, client, run_informer):
    api.seed("pods", [pod("ns", f"p{i:04d}") for i in range(1203)])
    seen: list[tuple[int, bool, ConnState]] = []
    real_pages = client.pages
    inf = pods_informer(client)

    def pages(*args, **kw):
        async def each():
            async with aclosing(real_pages(*args, **kw)) as it:
                async for page in it:
                    yield page
                    snap = inf.snapshot()          # after the informer took the page: what the UI can see now
                    seen.append((len(snap.items), snap.synced, inf.connection.state))
                    if len(seen) == 1:
                        await api.delete("pods", "ns", "p0003")  # gone before the list is complete
        return each()

    client.pages = pages  # type: ignore[method-assign]
    api.fail(lambda r: "continue" in r.query and len(api.lists("pods")) == 3, 500, times=1)  # 3rd page, once
    run_informer(inf)
    await wait_for(lambda: inf.synced)
    assert seen[:2] == [(500, False, ConnState.LIVE), (1000, False, ConnState.LIVE)]
    snap = inf.snapshot()
    assert snap.synced and len(snap.items) == 1202 and "ns/p0003" not in snap.items   # whole re-list: no ghost
    assert inf.stats["lists"] == 1 and inf.stats["failures"] == 1
