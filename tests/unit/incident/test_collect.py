"""TimelineCollector with a fake API server, a real Journal and IncidentStore in a temp dir, a mock Prometheus:
one pass adds the new entries and a second adds none; an API failure is `last_error`, entries kept; metric
breaches recorded on warn/crit and on recovery."""
from __future__ import annotations

import asyncio
import time
import urllib.parse
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from ecotui.errors import ConnectError, ForbiddenError
from ecotui.incident.collect import TimelineCollector
from ecotui.incident.model import Incident
from ecotui.incident.store import IncidentStore
from ecotui.metrics.prom import PromClient, PromConfig
from ecotui.ops.journal import Journal
from ecotui.ops.outcome import Target
from ecotui.workspace import Profile, PromSettings

NOW = time.time()


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def make_store(tmp_path, inc: Incident) -> IncidentStore:
    """A real store in a temp dir with `inc`'s incident open (started now)."""
    store = IncidentStore(tmp_path / "incidents")
    store.start(title=inc.title, services=inc.services, namespaces=inc.namespaces, severity=inc.severity,
                impact=inc.impact, context=inc.context, user=inc.user)
    return store


class FakeAPI:
    def __init__(self) -> None:
        self.events: dict[tuple[str, str], list[dict]] = {}
        self.hpas: dict[str, list[dict]] = {}
        self.fail: BaseException | None = None
        self.calls: list[tuple[str, dict]] = []

    async def get(self, path: str, type_: Any = Any, *, params=None) -> Any:
        self.calls.append((path, dict(params or {})))
        if self.fail is not None:
            raise self.fail
        ns = path.split("/namespaces/")[1].split("/")[0]
        if path.endswith("/events"):
            items = self.events.get((ns, (params or {}).get("fieldSelector", "")), [])
        else:
            items = self.hpas.get(ns, [])
        return {"kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}


def ev(name: str, reason: str, kind: str, obj: str, *, type_: str = "Normal", t: float, count: int = 1,
       message: str = "m") -> dict:
    return {"metadata": {"name": name, "namespace": "ecotrack"}, "type": type_, "reason": reason,
            "message": message, "count": count, "firstTimestamp": iso(t), "lastTimestamp": iso(t),
            "involvedObject": {"kind": kind, "name": obj, "namespace": "ecotrack"}}


def incident(started: float) -> Incident:
    return Incident(id="INC-1", title="payments failing", services=("payment-service",), namespaces=("ecotrack",),
                    severity="P1", impact="checkout fails", context="prod", user="me", started=started)


def workspace(api: FakeAPI, prom: PromClient | None = None) -> SimpleNamespace:
    url = "http://127.0.0.1:9" if prom else None
    profile = Profile(context="prod", prometheus_url=url, prometheus=PromSettings(url=url),
                      metrics={"services": ["payment-service", "order-service"], "window": "20s"})
    return SimpleNamespace(profile=profile, api=api, prometheus=prom)


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


async def test_one_pass_adds_new_entries_and_a_second_adds_none(tmp_path, journal):
    inc = incident(time.time() - 2)
    store = make_store(tmp_path, inc)
    start = store.current.started
    api = FakeAPI()
    api.events[("ecotrack", "type=Warning")] = [
        ev("w.1", "BackOff", "Pod", "payment-service-x", type_="Warning", t=start + 1, message="Back-off")]
    api.events[("ecotrack", "reason=ScalingReplicaSet")] = [
        ev("r.1", "ScalingReplicaSet", "Deployment", "payment-service", t=start + 1.5, message="Scaled up")]
    api.events[("ecotrack", "reason=SuccessfulRescale")] = [
        ev("h.1", "SuccessfulRescale", "HorizontalPodAutoscaler", "pay-hpa", t=start + 1.6, message="New size: 4")]
    api.hpas["ecotrack"] = [{"metadata": {"name": "pay-hpa"}, "spec": {"scaleTargetRef": {"name": "payment-service"}}}]
    journal.append("done", "rollout_undo", context="prod", namespace="ecotrack", user="alice",
                   targets=[Target("deployments", "payment-service", "ecotrack")], ok=True, message="revision 3")
    journal.append("done", "cordon", context="staging", namespace=None, user="alice", targets=[])
    col = TimelineCollector(store, workspace(api), journal, interval=0.05)
    before = len(store.current.entries)
    added = await col.collect_once()
    assert col.last_error == ""
    assert added == 4
    got = [e for e in store.current.entries if e.source in ("journal", "event", "rollout", "hpa")]
    assert sorted(e.source for e in got) == ["event", "hpa", "journal", "rollout"]
    assert [e.time for e in store.current.entries] == sorted(e.time for e in store.current.entries)
    # three event LISTs with their field selectors + the HPA list (a rescale was there)
    selectors = [p.get("fieldSelector") for path, p in api.calls if path.endswith("/events")]
    assert selectors == ["type=Warning", "reason=ScalingReplicaSet", "reason=SuccessfulRescale"]
    assert any(path.endswith("/horizontalpodautoscalers") for path, _ in api.calls)
    # the same event seen again with a higher count: the one entry is updated, not duplicated
    warning = api.events[("ecotrack", "type=Warning")][0]
    warning["count"], warning["lastTimestamp"] = 5, iso(start + 30)
    assert await col.collect_once() == 1
    assert len(store.current.entries) == before + 4
    (ev_entry,) = [e for e in store.current.entries if e.source == "event"]
    assert ev_entry.text.endswith("(×5)")
    # the same journal and events again: nothing new, no write
    version = store.current.version
    assert await col.collect_once() == 0
    assert store.current.version == version


async def test_an_api_error_leaves_last_error_and_the_entries_already_stored(tmp_path, journal):
    store = make_store(tmp_path, incident(time.time() - 2))
    start = store.current.started
    api = FakeAPI()
    api.events[("ecotrack", "type=Warning")] = [ev("w.1", "BackOff", "Pod", "p", type_="Warning", t=start + 1)]
    col = TimelineCollector(store, workspace(api), journal)
    assert await col.collect_once() == 1
    kept = store.current.entries
    api.fail = ForbiddenError("https://127.0.0.1:6443: forbidden: events is forbidden")
    journal.append("done", "scale", context="prod", namespace="ecotrack", user="alice",
                   targets=[Target("deployments", "payment-service", "ecotrack")], ok=True, message="3 replicas")
    added = await col.collect_once()
    assert "events of ecotrack (type=Warning): https://127.0.0.1:6443: forbidden" in col.last_error
    assert "\n" not in col.last_error
    assert added == 1                                   # the journal still answered
    assert set(e.key for e in kept) <= set(e.key for e in store.current.entries)
    api.fail = ConnectError("connection to https://127.0.0.1:6443 refused")
    assert await col.collect_once() == 0
    assert "refused" in col.last_error
    api.fail = None
    assert await col.collect_once() == 0 and col.last_error == ""


async def test_no_open_incident_is_a_quiet_zero(tmp_path, journal):
    col = TimelineCollector(IncidentStore(tmp_path / "incidents"), workspace(FakeAPI()), journal)
    assert await col.collect_once() == 0 and col.last_error == "" and col.passes == 0


async def test_run_collects_every_interval_and_stops(tmp_path, journal):
    store = make_store(tmp_path, incident(time.time() - 2))
    col = TimelineCollector(store, workspace(FakeAPI()), journal, interval=0.02)
    task = asyncio.create_task(col.run())
    deadline = time.monotonic() + 5
    while col.passes < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    col.stop()
    await asyncio.wait_for(task, 2)
    assert col.passes >= 3


def prom(level: dict[str, str]) -> PromClient:
    """A mock Prometheus: payment-service's 5xx ratio is level['err']; everything else is healthy."""
    async def handler(req: httpx.Request) -> httpx.Response:
        q = dict(urllib.parse.parse_qsl(req.content.decode()))["query"]
        value = level["err"] if 'status=~"5.."' in q else "0.1"
        assert "order-service" not in q          # only the affected services are asked
        result = [{"metric": {"app": "payment-service"}, "value": [time.time(), value]}]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})
    return PromClient(PromConfig("http://127.0.0.1:9"), transport=httpx.MockTransport(handler))


async def test_metric_breaches_are_recorded_on_warn_crit_and_recovery(tmp_path, journal):
    store = make_store(tmp_path, incident(time.time() - 2))
    level = {"err": "0.001"}
    client = prom(level)
    col = TimelineCollector(store, workspace(FakeAPI(), client), journal)

    def metric() -> list[tuple[str, str]]:
        return [(e.kind, e.text) for e in store.current.entries if e.source == "metric"]

    try:
        assert await col.collect_once() == 0 and metric() == [] and col.last_error == ""   # ok at first: nothing
        level["err"] = "0.02"
        assert await col.collect_once() == 1
        level["err"] = "0.3"
        await col.collect_once()
        await col.collect_once()                                                          # still critical
        level["err"] = "0.001"
        await col.collect_once()
        assert metric() == [("breach", "payment-service 5xx warning: 2.0 %"),
                            ("breach", "payment-service 5xx critical: 30.0 %"),
                            ("recovered", "payment-service 5xx recovered: 0.1 %")]
        # a new collector (a restart) reads the last level from the incident: no second recovery
        col2 = TimelineCollector(store, workspace(FakeAPI(), client), journal)
        assert await col2.collect_once() == 0
    finally:
        await client.aclose()


async def test_prometheus_down_is_last_error_not_an_entry(tmp_path, journal):
    store = make_store(tmp_path, incident(time.time() - 2))

    async def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")
    client = PromClient(PromConfig("http://127.0.0.1:9"), transport=httpx.MockTransport(handler))
    col = TimelineCollector(store, workspace(FakeAPI(), client), journal)
    try:
        assert await col.collect_once() == 0
        assert col.last_error.startswith("key metrics: payment-service")
        assert [e for e in store.current.entries if e.source == "metric"] == []
    finally:
        await client.aclose()


async def test_another_context_reads_the_journal_only(tmp_path, journal):
    store = make_store(tmp_path, incident(time.time() - 2))
    api = FakeAPI()
    ws = workspace(api)
    ws.profile = Profile(context="staging")
    journal.append("done", "scale", context="prod", namespace="ecotrack", user="alice",
                   targets=[Target("deployments", "payment-service", "ecotrack")], ok=True, message="3 replicas")
    col = TimelineCollector(store, ws, journal)
    assert await col.collect_once() == 1
    assert api.calls == []
    assert "the incident is on context 'prod', the current one is 'staging'" in col.last_error
