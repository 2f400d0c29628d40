"""KubeLogSource against a small fake API server (httpx.MockTransport): selection → pods, one stream per container,
reopen after EOF with sinceTime and exact de-duplication, restarts, previous (incl. 400), pods added/removed,
403, batching, cancellation closes every stream."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import ClusterInfo, UserInfo
from ecotui.logs.kube import KubeLogSource
from ecotui.logs.kube_stream import parse_ts
from ecotui.logs.model import NS, Kind, LogLine, Selection, SourceState

T0 = 1_800_000_000 * NS  # 2027-01-15T08:00:00Z


def stamp(ts_ns: int) -> str:
    s, frac = divmod(ts_ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"


def pod(ns: str, name: str, *, labels: dict[str, str] | None = None, containers=("app",), node: str = "n1",
        restarts: int = 0, cid: str = "c1", running: bool = True) -> dict[str, Any]:
    state = {"running": {"startedAt": "x"}} if running else {"waiting": {"reason": "ContainerCreating"}}
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node, "containers": [{"name": c} for c in containers]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": c, "restartCount": restarts, "containerID": f"containerd://{cid}-{c}" if running else "",
                 "state": state} for c in containers]}}


class FakeCluster:
    """Pods, their containers' log lines (ts_ns, bytes) and a follow that streams appended lines."""

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.logs: dict[str, list[tuple[int, bytes]]] = {}        # "ns/pod/c" -> current container's lines
        self.previous: dict[str, list[tuple[int, bytes]]] = {}
        self.forbidden: set[str] = set()
        self.eof: set[str] = set()          # streams to end (as the API server may) at their next look
        self.drop: set[str] = set()         # streams whose connection breaks at their next look
        self.requests: list[httpx.Request] = []
        self.open: dict[str, int] = {}       # follow streams open per key
        self.workloads = {"/apis/apps/v1/namespaces/ns/deployments/web":
                          {"spec": {"selector": {"matchLabels": {"app": "web"}}}},
                          "/apis/apps/v1/namespaces/ns/statefulsets/db":
                          {"spec": {"selector": {"matchLabels": {"app": "db"}, "matchExpressions": [
                              {"key": "tier", "operator": "In", "values": ["b", "a"]}]}}}}

    def add(self, key: str, ts_ns: int, text: bytes | str) -> None:
        self.logs.setdefault(key, []).append((ts_ns, text.encode() if isinstance(text, str) else text))

    def n_open(self) -> int:
        return sum(self.open.values())

    def log_requests(self) -> list[httpx.QueryParams]:
        return [r.url.params for r in self.requests if r.url.path.endswith("/log")]

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, q = request.url.path, request.url.params
        if path in self.workloads:
            return httpx.Response(200, json=self.workloads[path])
        parts = path.strip("/").split("/")
        if path == "/api/v1/pods" or (len(parts) == 5 and parts[4] == "pods"):
            ns = parts[3] if len(parts) == 5 else None
            items = [p for p in self.pods.values() if ns in (None, p["metadata"]["namespace"])
                     and _labels_match(p, q.get("labelSelector", ""))
                     and _fields_match(p, q.get("fieldSelector", ""))]
            return httpx.Response(200, json={"metadata": {"resourceVersion": "1"}, "items": items})
        if len(parts) == 6 and parts[4] == "pods":
            p = self.pods.get(f"{parts[3]}/{parts[5]}")
            return httpx.Response(200, json=p) if p else _status(404, "NotFound", f'pods "{parts[5]}" not found')
        if len(parts) == 7 and parts[6] == "log":
            return self._log(f"{parts[3]}/{parts[5]}", q)
        return _status(404, "NotFound", path)

    def _log(self, pkey: str, q: httpx.QueryParams) -> httpx.Response:
        c = q["container"]
        key = f"{pkey}/{c}"
        if pkey in self.forbidden:
            return _status(403, "Forbidden", f'pods "{pkey}" is forbidden: User "u" cannot get resource "pods/log"')
        if q.get("previous") == "true":
            if key not in self.previous:
                return _status(400, "BadRequest",
                               f'previous terminated container "{c}" in pod "{pkey.split("/")[1]}" not found')
            lines = self.previous[key]
        else:
            lines = self.logs.setdefault(key, [])
        since = 0
        if "sinceTime" in q:
            since = parse_ts(q["sinceTime"].encode() + b" ")[0]
        tail = int(q["tailLines"]) if "tailLines" in q else None
        follow = q.get("follow") == "true"
        self.eof.discard(key)

        def wire(ts: int, text: bytes) -> bytes:
            return stamp(ts).encode() + b" " + text + b"\n"

        async def body():
            self.open[key] = self.open.get(key, 0) + 1
            try:
                sent = len(lines)
                todo = [x for x in lines[:sent] if x[0] >= since]
                if tail is not None:
                    todo = todo[-tail:] if tail else []
                if todo:
                    yield b"".join(wire(*x) for x in todo)
                cur = lines
                for _ in range(2000):  # bounded: 20 s at most
                    if not follow or key in self.eof or self.logs.get(key) is not cur:
                        return
                    if key in self.drop:
                        self.drop.discard(key)
                        raise httpx.ReadError("connection reset by peer")
                    if len(cur) > sent:
                        yield b"".join(wire(*x) for x in cur[sent:])
                        sent = len(cur)
                    await asyncio.sleep(0.01)
            finally:
                self.open[key] -= 1

        return httpx.Response(200, content=body())


def _status(code: int, reason: str, message: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "status": "Failure", "message": message,
                                      "reason": reason, "code": code})


def _labels_match(p: dict[str, Any], sel: str) -> bool:
    labels = p["metadata"].get("labels") or {}
    for term in filter(None, sel.split(",")):
        k, _, v = term.partition("=")
        if "=" in term and labels.get(k) != v:
            return False
    return True


def _fields_match(p: dict[str, Any], sel: str) -> bool:
    return not sel or sel == f"spec.nodeName={p['spec']['nodeName']}"


class Run:
    """A source running in a task; `lines` collects every batch."""

    def __init__(self, source: KubeLogSource) -> None:
        self.source = source
        self.batches: list[list[LogLine]] = []
        self.task = asyncio.ensure_future(source.run(lambda b: self.batches.append(list(b))))

    @property
    def lines(self) -> list[LogLine]:
        return [ln for b in self.batches for ln in b]

    def texts(self, stream: str | None = None, kind: Kind = Kind.LINE) -> list[str]:
        return [ln.text for ln in self.lines if ln.kind == kind and (stream is None or ln.stream == stream)]

    async def until(self, cond: Callable[[], Any], timeout: float = 3.0, what: str = "condition") -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; status {self.source.status}; "
                                     f"lines {[ln.text for ln in self.lines]}")
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def make(fake: FakeCluster, selection: Selection, **kw) -> tuple[KubeClient, Run]:
    cluster = ClusterInfo(name="mock", server="http://127.0.0.1:9")
    client = KubeClient(cluster, Authenticator(UserInfo(name="u", token="t"), cluster),
                        transport=httpx.MockTransport(fake.handler))
    kw = {"poll_interval": 0.05, "flush_interval": 0.02, "backoff": (0.02, 0.05), **kw}
    return client, Run(KubeLogSource(client, selection, **kw))


DEPLOY = Selection(workload=("deployments", "ns/web"))


async def test_deployment_all_pods_all_containers_fields_and_live_lines():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a", containers=("app", "sidecar"))
    fake.pods["ns/b"] = pod("ns", "b")
    fake.pods["ns/other"] = pod("ns", "other", labels={"app": "else"})
    fake.add("ns/a/app", T0 + 1, "a1")
    fake.add("ns/a/sidecar", T0 + 2, "s1")
    fake.add("ns/b/app", T0 + 3, "b1")
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: len(run.texts()) == 3, what="backfill")
        await run.until(lambda: run.source.status.state == SourceState.LIVE and run.source.status.streams == 3)
        fake.add("ns/b/app", T0 + 4, "b2 appended")
        await run.until(lambda: "b2 appended" in run.texts())
        ln = next(ln for ln in run.lines if ln.text == "b2 appended")
        assert (ln.ts_ns, ln.stream, ln.pod, ln.container, ln.namespace, ln.previous) == (
            T0 + 4, "ns/b/app", "b", "app", "ns", False)
        assert run.source.description == "deployment ns/web (2 pods)"
        q = fake.log_requests()[0]
        assert q["follow"] == "true" and q["timestamps"] == "true" and q["sinceSeconds"] == "900"
        lists = [r for r in fake.requests if r.url.path == "/api/v1/namespaces/ns/pods"]
        assert lists[0].url.params["labelSelector"] == "app=web"
        assert not any("other" in s for s in {ln.stream for ln in run.lines})
    finally:
        await run.stop()
        await client.aclose()
    assert fake.n_open() == 0  # cancelling closes every stream


async def test_reopen_after_eof_with_since_time_and_exact_dedup_at_the_boundary():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    k = "ns/a/app"
    t = T0 + 500_000_000
    for ts, text in [(T0 + 1, "early same second"), (t - 1, "before"), (t, "dup"), (t, "same-ts other")]:
        fake.add(k, ts, text)
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: len(run.texts()) == 4)
        # the server ends the stream; meanwhile lines arrive AT the last timestamp (one repeats a text) and after
        fake.add(k, t, "dup")
        fake.add(k, t, "new at same ts")
        fake.add(k, t + 1, "after")
        fake.eof.add(k)
        await run.until(lambda: "after" in run.texts(), what="reopened stream")
        assert run.texts() == ["early same second", "before", "dup", "same-ts other", "dup", "new at same ts",
                               "after"]
        reopen = fake.log_requests()[1]
        assert reopen["sinceTime"] == "2027-01-15T08:00:00Z" and "sinceSeconds" not in reopen
        fake.add(k, t + 2, "later")
        await run.until(lambda: "later" in run.texts())
        assert run.texts().count("dup") == 2 and run.texts().count("after") == 1
    finally:
        await run.stop()
        await client.aclose()


async def test_connection_loss_is_reconnecting_then_resumed_without_duplicates():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    k = "ns/a/app"
    fake.add(k, T0 + 1, "one")
    client, run = make(fake, DEPLOY, backoff=(0.4, 0.4))
    try:
        await run.until(lambda: run.texts() == ["one"] and run.source.status.state == SourceState.LIVE)
        fake.drop.add(k)
        await run.until(lambda: run.source.status.state == SourceState.RECONNECTING)
        assert "1 stream reconnecting: " in run.source.status.message
        assert "connection" in run.source.status.message and run.source.status.streams == 0
        fake.add(k, T0 + 2, "two")
        await run.until(lambda: "two" in run.texts() and run.source.status.state == SourceState.LIVE)
        assert run.texts() == ["one", "two"]
    finally:
        await run.stop()
        await client.aclose()


async def test_restart_is_picked_up_from_its_start_without_old_lines_again():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    k = "ns/a/app"
    fake.add(k, T0 + 1, "old 1")
    fake.add(k, T0 + 2, "old 2")
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: len(run.texts()) == 2)
        # the container dies (stream ends, status not running yet), then runs again as a new container
        fake.pods["ns/a"] = pod("ns", "a", running=False, restarts=1)
        fake.eof.add(k)
        await asyncio.sleep(0.15)
        fake.pods["ns/a"] = pod("ns", "a", restarts=1, cid="c2")
        fake.logs[k] = fake.logs[k] + [(T0 + 10 * NS, b"new 1")]  # the kubelet-like file keeps the old lines
        await run.until(lambda: "new 1" in run.texts())
        info = run.texts(kind=Kind.INFO)
        assert info == ["container app restarted (restarts: 1)"]
        assert run.texts() == ["old 1", "old 2", "new 1"]
        assert [ln.kind for ln in run.lines].index(Kind.INFO) == 2  # marker between old and new
    finally:
        await run.stop()
        await client.aclose()


async def test_previous_logs_are_finite_and_a_400_is_one_line_per_container():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a", restarts=3)
    fake.pods["ns/b"] = pod("ns", "b")
    fake.previous["ns/a/app"] = [(T0 + 1, b"crash 1"), (T0 + 2, b"panic: boom")]
    client, run = make(fake, Selection(workload=("deployments", "ns/web"), previous=True, tail_lines=50))
    try:
        await asyncio.wait_for(run.task, 3)
    finally:
        await client.aclose()
    assert run.source.status.state == SourceState.DONE
    assert [(ln.text, ln.previous, ln.stream) for ln in run.lines if ln.kind == Kind.LINE] == [
        ("crash 1", True, "ns/a/app"), ("panic: boom", True, "ns/a/app")]
    assert run.texts(kind=Kind.INFO) == [
        'no previous logs for container app: previous terminated container "app" in pod "b" not found']
    for q in fake.log_requests():
        assert q["previous"] == "true" and "follow" not in q and q["tailLines"] == "50"
    assert fake.n_open() == 0


async def test_pods_added_and_removed_are_followed():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    fake.add("ns/a/app", T0 + 1, "a1")
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: "a1" in run.texts())
        fake.add("ns/b/app", T0 + 2, "b1")
        fake.pods["ns/b"] = pod("ns", "b")
        await run.until(lambda: "b1" in run.texts(), what="the new pod's lines")
        assert run.texts(kind=Kind.INFO) == ["pod ns/b added"]
        assert run.source.description == "deployment ns/web (2 pods)"
        del fake.pods["ns/a"]
        await run.until(lambda: fake.open.get("ns/a/app") == 0, what="the removed pod's stream closed")
        await run.until(lambda: "pod ns/a removed: stream of container app ended" in run.texts(kind=Kind.INFO))
        removed = next(ln for ln in run.lines if "removed" in ln.text)
        assert removed.stream == "ns/a/app"
        await run.until(lambda: run.source.status.streams == 1)
    finally:
        await run.stop()
        await client.aclose()


async def test_container_waiting_to_start_is_opened_once_it_runs_and_only_the_selected_container():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a", containers=("app", "sidecar"), running=False)
    fake.add("ns/a/sidecar", T0 + 1, "side")
    fake.add("ns/a/app", T0 + 1, "app")
    client, run = make(fake, Selection(pods=("ns/a",), container="sidecar"))
    try:
        await asyncio.sleep(0.15)
        assert fake.log_requests() == [] and run.source.status.streams == 0
        fake.pods["ns/a"] = pod("ns", "a", containers=("app", "sidecar"))
        await run.until(lambda: run.texts() == ["side"])
        assert [q["container"] for q in fake.log_requests()] == ["sidecar"]
    finally:
        await run.stop()
        await client.aclose()


async def test_invalid_utf8_is_replaced_and_huge_lines_are_cut():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    fake.add("ns/a/app", T0 + 1, b"bad \xff\xfe bytes")
    fake.add("ns/a/app", T0 + 2, b"x" * (5 << 20))
    fake.add("ns/a/app", T0 + 3, b"next")
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: "next" in run.texts())
        texts = run.texts()
        assert texts[0] == "bad \ufffd\ufffd bytes"
        assert len(texts[1]) < (4 << 20) + 100 and texts[1].endswith("[ecotui: line cut at 4 MiB]")
        assert texts[2] == "next"
    finally:
        await run.stop()
        await client.aclose()


async def test_lines_are_batched():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    for i in range(2500):
        fake.add("ns/a/app", T0 + i, f"l{i}")
    client, run = make(fake, DEPLOY, flush_interval=0.5)
    try:
        await run.until(lambda: len(run.texts()) == 2500)
        assert len(run.batches) <= 4 and max(len(b) for b in run.batches) == 1000
        assert run.texts() == [f"l{i}" for i in range(2500)]
        n = len(run.batches)
        for i in range(5):
            fake.add("ns/a/app", T0 + 10_000 + i, f"m{i}")
        await run.until(lambda: len(run.texts()) == 2505)
        assert len(run.batches) == n + 1  # a few lines within one flush interval: one batch
    finally:
        await run.stop()
        await client.aclose()


async def test_forbidden_is_one_line_and_error():
    fake = FakeCluster()
    fake.pods["ns/a"] = pod("ns", "a")
    fake.pods["ns/b"] = pod("ns", "b")
    fake.forbidden |= {"ns/a", "ns/b"}
    client, run = make(fake, DEPLOY)
    try:
        await run.until(lambda: run.source.status.state == SourceState.ERROR)
        assert "not allowed: get pods/log in ns" in run.source.status.message
        await asyncio.sleep(0.1)
        info = run.texts(kind=Kind.INFO)
        assert len(info) == 1 and info[0].startswith("not allowed: get pods/log in namespace ns")
        assert len(fake.log_requests()) == 2  # not retried
    finally:
        await run.stop()
        await client.aclose()


async def test_max_streams_and_the_status_says_how_many_more():
    fake = FakeCluster()
    for name in "abc":
        fake.pods[f"ns/{name}"] = pod("ns", name)
    client, run = make(fake, DEPLOY, max_streams=2)
    try:
        await run.until(lambda: run.source.status.streams == 2 and run.source.status.state == SourceState.LIVE)
        assert "1 more containers not followed (limit 2)" in run.source.status.message
        assert len(fake.log_requests()) == 2
    finally:
        await run.stop()
        await client.aclose()


@pytest.mark.parametrize("selection, path, params", [
    (Selection(node="n7"), "/api/v1/pods", {"fieldSelector": "spec.nodeName=n7"}),
    (Selection(namespace="ns"), "/api/v1/namespaces/ns/pods", {}),
    (Selection(namespace="ns", selector="app=web"), "/api/v1/namespaces/ns/pods", {"labelSelector": "app=web"}),
    (Selection(workload=("statefulsets", "ns/db")), "/api/v1/namespaces/ns/pods",
     {"labelSelector": "app=db,tier in (a,b)"}),
])
async def test_selection_resolves_to_a_pod_list(selection, path, params):
    fake = FakeCluster()
    client, run = make(fake, selection)
    try:
        await run.until(lambda: run.source.status.state == SourceState.LIVE)
        lst = next(r for r in fake.requests if r.url.path.endswith("/pods"))
        assert lst.url.path == path
        assert {k: v for k, v in lst.url.params.items() if k != "limit"} == params
        assert run.source.status.message == "no pods selected yet"
    finally:
        await run.stop()
        await client.aclose()


async def test_missing_workload_is_one_error_line():
    fake = FakeCluster()
    client, run = make(fake, Selection(workload=("deployments", "ns/nope")))
    try:
        await asyncio.wait_for(run.task, 3)
    finally:
        await client.aclose()
    assert run.source.status.state == SourceState.ERROR
    assert run.source.status.message == "deployment ns/nope not found"
