"""Checks: target → ready pod (like kubectl exec sts/NAME), all checks at once within a timeout, every outcome a
CheckResult (never an exception)."""
from __future__ import annotations

import time
from typing import Any

import pytest
import pytest_asyncio

from ecotui.kube.client import HttpStatusError
from ecotui.podexec.checks import (DEFAULT_CHECKS, CheckSpec, label_selector, parse_target, pick_ready, resolve_pod,
                                   run_checks)
from podexec_fakes import FakeExec


def pod(name: str, ready: str | None, phase: str = "Running", deleting: bool = False) -> dict[str, Any]:
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready or ""}]
    md: dict[str, Any] = {"name": name}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "status": {"phase": phase, "conditions": conds}}


class Api:
    """GETs from a dict of path → body; exec streams through a real KubeClient to the fake endpoint."""

    def __init__(self, fake: FakeExec, objects: dict[str, Any]) -> None:
        self.client = fake.client()
        self.objects = objects
        self.gets: list[tuple[str, Any]] = []

    async def get(self, path: str, type_: Any = Any, *, params: Any = None) -> Any:
        self.gets.append((path, params))
        if path not in self.objects:
            raise HttpStatusError(f"{path.rsplit('/', 1)[-1]} not found", status=404)
        return self.objects[path]

    async def open_stream(self, path: str, params: Any, protocols: Any) -> Any:
        return await self.client.open_stream(path, params, protocols)


@pytest_asyncio.fixture
async def fake():
    srv = await FakeExec(pods={"ns/db-1", "ns/db-0", "ns/solo"}).start()
    try:
        yield srv
    finally:
        await srv.stop()


def test_defaults_are_the_runbook_checks():
    pg, redis = DEFAULT_CHECKS
    assert (pg.namespace, pg.target, pg.command) == ("ecotrack", "sts/postgres-primary",
                                                     ["psql", "-U", "ecotrack", "-d", "ecotrack", "-c", "SELECT 1;"])
    assert (redis.target, redis.command) == ("sts/redis", ["redis-cli", "ping"])


def test_parse_target_and_selector():
    assert parse_target("redis-0") == ("pod", "redis-0")
    assert parse_target("sts/redis") == ("statefulsets", "redis")
    assert parse_target("deploy/x") == ("deployments", "x")
    assert parse_target("svc/x") == ("services", "x")
    for bad in ("", "a/b/c", "cm/x", "sts/"):
        with pytest.raises(ValueError):
            parse_target(bad)
    sel = {"matchLabels": {"b": "2", "a": "1"},
           "matchExpressions": [{"key": "t", "operator": "In", "values": ["x", "y"]},
                                {"key": "u", "operator": "DoesNotExist"}]}
    assert label_selector(sel) == "a=1,b=2,t in (x,y),!u"


def test_pick_ready_prefers_the_longest_ready():
    pods = [pod("p-2", "2026-01-02T00:00:00Z"), pod("p-0", None), pod("p-1", "2026-01-01T00:00:00Z"),
            pod("p-3", "2025-01-01T00:00:00Z", deleting=True), pod("p-4", "2025-01-01T00:00:00Z", phase="Pending")]
    assert pick_ready(pods)["metadata"]["name"] == "p-1"
    assert pick_ready([pod("p-0", None)]) is None


async def test_resolve_statefulset_service_and_pod(fake):
    objs = {"/apis/apps/v1/namespaces/ns/statefulsets/db": {"spec": {"selector": {"matchLabels": {"app": "db"}}}},
            "/api/v1/namespaces/ns/services/db": {"spec": {"selector": {"app": "db"}}},
            "/api/v1/namespaces/ns/pods": {"items": [pod("db-0", None), pod("db-1", "2026-01-01T00:00:00Z")]},
            "/api/v1/namespaces/ns/pods/solo": pod("solo", "2026-01-01T00:00:00Z"),
            "/api/v1/namespaces/ns/pods/sick": pod("sick", None, phase="Pending"),
            "/apis/apps/v1/namespaces/ns/deployments/none": {"spec": {"selector": {"matchLabels": {"app": "n"}}}}}
    api = Api(fake, objs)
    assert await resolve_pod(api, "ns", "sts/db") == "db-1"
    assert api.gets[-1] == ("/api/v1/namespaces/ns/pods", {"labelSelector": "app=db"})
    assert await resolve_pod(api, "ns", "svc/db") == "db-1"
    assert await resolve_pod(api, "ns", "pod/solo") == "solo"
    with pytest.raises(ValueError, match="not ready"):
        await resolve_pod(api, "ns", "sick")
    objs["/api/v1/namespaces/ns/pods"] = {"items": [pod("db-0", None)]}
    with pytest.raises(ValueError, match="no ready pod for deploy/none in ns"):
        await resolve_pod(api, "ns", "deploy/none")
    with pytest.raises(HttpStatusError):
        await resolve_pod(api, "ns", "sts/missing")
    await api.client.aclose()


async def test_run_checks_concurrently_each_bounded(fake):
    objs = {"/apis/apps/v1/namespaces/ns/statefulsets/db": {"spec": {"selector": {"matchLabels": {"app": "db"}}}},
            "/api/v1/namespaces/ns/pods": {"items": [pod("db-0", "2026-01-01T00:00:00Z")]},
            "/api/v1/namespaces/ns/pods/solo": pod("solo", "2026-01-01T00:00:00Z")}
    api = Api(fake, objs)
    specs = [CheckSpec("ok", "ns", "sts/db", None, ["echo", "PONG"]),
             CheckSpec("fails", "ns", "solo", None, ["fail", "2"]),
             CheckSpec("slow", "ns", "solo", None, ["hang"]),
             CheckSpec("missing", "ns", "sts/nope", None, ["echo"]),
             CheckSpec("empty", "ns", "solo", None, [])]
    t0 = time.monotonic()
    ok, fails, slow, missing, empty = await run_checks(api, specs, timeout=1.0)
    assert time.monotonic() - t0 < 3        # at once, not one after another
    assert ok.ok and ok.pod == "db-0" and ok.result is not None and ok.result.stdout == "PONG\n"
    assert ok.duration > 0 and ok.ran_at > 0
    assert not fails.ok and fails.exit_code == 2 and fails.result.stderr == "boom\n" and fails.error == ""
    assert not slow.ok and slow.exit_code is None and ("timed out" in slow.error or "within" in slow.error)
    assert not missing.ok and missing.pod == "" and "not found" in missing.error
    assert "no command" in empty.error
    await api.client.aclose()


async def test_read_only_check_is_an_error_line(fake):
    objs = {"/api/v1/namespaces/ns/pods/solo": pod("solo", "2026-01-01T00:00:00Z")}
    api = Api(fake, objs)
    await api.client.aclose()
    api.client = fake.client(readonly=True)
    (r,) = await run_checks(api, [CheckSpec("x", "ns", "solo", None, ["echo", "x"])])
    assert not r.ok and r.error.startswith("read-only") and fake.upgrades == 0
    await api.client.aclose()
