"""The usage reader: metrics.k8s.io decoded as kubectl top reads it, the Prometheus fallback and its queries,
and the poller's readings (a failure is a line, never a zero; history per node/pod; seq moves on news only)."""
from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from ecotui.errors import ApiError
from ecotui.metrics import usage
from ecotui.metrics.prom import PromError, PromResult, Sample
from ecotui.metrics.usage import Figures, UsageSource, parse_duration, read_metrics_api, read_prometheus

NODES = {"items": [{"metadata": {"name": "n1"}, "timestamp": "2026-11-30T19:18:43Z", "window": "14.987s",
                    "usage": {"cpu": "226924347n", "memory": "1037Mi"}}]}
PODS = {"items": [{"metadata": {"name": "p1", "namespace": "ecotrack"}, "timestamp": "2026-11-30T19:18:44Z",
                   "window": "14.987s", "containers": [
                       {"name": "app", "usage": {"cpu": "15000460n", "memory": "90Mi"}},
                       {"name": "sidecar", "usage": {"cpu": "1m", "memory": "10Mi"}}]}]}


class FakeClient:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.paths: list[str] = []

    async def get(self, path: str, type_: Any = Any, *, params: Any = None) -> Any:
        self.paths.append(path)
        if self.fail is not None:
            raise self.fail
        body = NODES if path.endswith("/nodes") else PODS
        assert type_ is msgspec.Raw          # decoded off the loop by the reader
        return msgspec.Raw(msgspec.json.encode(body))


class FakeProm:
    def __init__(self, answers: dict[str, list[Sample]], fail: PromError | None = None) -> None:
        self.answers, self.fail = answers, fail
        self.queries: list[str] = []

    async def query(self, expr: str, at: float | None = None, timeout: float | None = None) -> PromResult:
        self.queries.append(expr)
        if self.fail is not None:
            raise self.fail
        return PromResult("vector", samples=tuple(self.answers.get(expr, [])))


def test_parse_duration_of_metrics_windows():
    assert parse_duration("14.987s") == pytest.approx(14.987)
    assert parse_duration("1m0s") == 60.0 and parse_duration("500ms") == 0.5
    assert parse_duration("bogus") == 0.0 and parse_duration("12") == 0.0


async def test_metrics_api_figures():
    c = FakeClient()
    f = await read_metrics_api(c)
    assert c.paths == ["/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/pods"]
    assert f.source == "metrics-server" and f.window == pytest.approx(14.987)
    assert f.nodes["n1"].cpu == pytest.approx(0.226924347) and f.nodes["n1"].memory == 1037 * 2**20
    p = f.pods["ecotrack/p1"]
    assert p.cpu == pytest.approx(0.016000460) and p.memory == 100 * 2**20
    assert [c.name for c in p.containers] == ["app", "sidecar"]
    assert f.at == usage.parse_time("2026-11-30T19:18:44Z")


def _s(labels: dict[str, str], v: float, ts: float = 100.0) -> Sample:
    return Sample(labels, v, ts)


async def test_prometheus_fallback_sums_containers_per_pod_and_reads_nodes():
    prom = FakeProm({
        usage.Q_POD_CPU: [_s({"namespace": "a", "pod": "p", "container": "x"}, 0.1),
                          _s({"namespace": "a", "pod": "p", "container": "y"}, 0.05)],
        usage.Q_POD_MEM: [_s({"namespace": "a", "pod": "p", "container": "x"}, 2.0**20)],
        usage.Q_NODE_CPU: [_s({"node": "n1"}, 0.5)],
        usage.Q_NODE_MEM: [_s({"node": "n1"}, 2.0**30)],
    })
    f = await read_prometheus(prom)  # type: ignore[arg-type]
    assert f.source == "prometheus" and f.at == 100.0
    p = f.pods["a/p"]
    assert p.cpu == pytest.approx(0.15) and p.memory == 2.0**20
    assert {c.name: (c.cpu, c.memory) for c in p.containers} == {"x": (0.1, 2.0**20), "y": (0.05, None)}
    assert f.nodes["n1"].cpu == 0.5 and f.nodes["n1"].memory == 2.0**30
    assert 'container!="POD"' in usage.Q_POD_CPU and "rate(container_cpu_usage_seconds_total" in usage.Q_POD_CPU


async def test_prometheus_node_figures_fall_back_to_container_sums_and_no_data_is_an_error():
    prom = FakeProm({usage.Q_POD_CPU: [_s({"namespace": "a", "pod": "p", "container": "x"}, 0.1)],
                     usage.Q_NODE_CPU_FROM_CTR: [_s({"node": "n1"}, 0.1)]})
    f = await read_prometheus(prom)  # type: ignore[arg-type]
    assert f.nodes["n1"].cpu == 0.1 and f.nodes["n1"].memory is None
    with pytest.raises(PromError, match="no data"):
        await read_prometheus(FakeProm({}))  # type: ignore[arg-type]


async def test_poll_uses_the_metrics_api_and_records_history():
    src = UsageSource(FakeClient(), clock=lambda: 1000.0)
    await src.poll()
    s = src.snapshot
    assert s.source == "metrics-server" and not s.problem and not s.error and s.seq == 1 and s.polled == 1000.0
    assert src.cpu.last(("pod", "ecotrack/p1")) == pytest.approx(0.01600046)
    assert src.memory.last(("node", "n1")) == 1037 * 2**20
    await src.poll()                       # the same window again: nothing new
    assert src.snapshot.seq == 1 and len(src.cpu.points(("node", "n1"))) == 1


async def test_without_metrics_api_it_says_so_and_uses_prometheus():
    prom = FakeProm({usage.Q_POD_CPU: [_s({"namespace": "a", "pod": "p", "container": "x"}, 0.1)]})
    src = UsageSource(FakeClient(ApiError("https://x: GET /apis/metrics.k8s.io/v1beta1/nodes failed with HTTP 404: "
                                          "the server could not find the requested resource", status=404)),
                      lambda: prom)  # type: ignore[arg-type,return-value]
    await src.poll()
    s = src.snapshot
    assert s.problem.startswith("metrics API not available: ") and "404" in s.problem
    assert s.note == "using Prometheus" and s.source == "prometheus" and s.pods["a/p"].cpu == 0.1 and not s.error


async def test_failures_are_lines_never_zeros():
    down = PromError("unreachable", "prometheus unreachable at http://127.0.0.1:1: connection refused")
    src = UsageSource(FakeClient(ApiError("no metrics", status=503)), lambda: FakeProm({}, down))  # type: ignore
    await src.poll()
    s = src.snapshot
    assert s.problem and s.error.startswith("prometheus unreachable") and not s.source
    assert not s.nodes and not s.pods and not s.has_figures
    seq = s.seq
    await src.poll()                      # the same failure again: nothing new to draw
    assert src.snapshot.seq == seq
    none = UsageSource(FakeClient(ApiError("no metrics", status=404)))
    await none.poll()
    assert "no Prometheus configured" in none.snapshot.error and not none.snapshot.pods


async def test_no_client_is_a_line():
    src = UsageSource(None)
    await src.poll()
    assert "no Kubernetes API client" in src.snapshot.problem


async def test_acquire_release_polls_only_while_held():
    import asyncio
    reads = []

    async def read() -> Figures:
        reads.append(1)
        return Figures("metrics-server", {}, {}, float(len(reads)), 15.0)

    src = UsageSource(None, read_api=read, interval=0.05)
    tok = src.acquire()
    for _ in range(100):
        if reads:
            break
        await asyncio.sleep(0.01)
    assert reads and src.active
    src.release(tok)
    await asyncio.sleep(0.02)
    n = len(reads)
    await asyncio.sleep(0.2)
    assert len(reads) == n and not src.active
    await src.stop()
    assert math.isfinite(src.snapshot.at)


# ---- review fixes: stale figures, retry pace, informers' grace, fallback off the loop, compact history ---------

class Flaky:
    """A metrics API read that answers with figures at a moving time, or fails while `fail` is set."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.fail: Exception | None = None

    async def __call__(self) -> Figures:
        if self.fail is not None:
            raise self.fail
        self.t += 15
        pods = {"a/p": usage.PodUsage("a", "p", 0.25, 2.0**27)}
        return Figures("metrics-server", {"n1": usage.NodeUsage("n1", 1.0, 2.0**30)}, pods, self.t, 15.0)


class FakeRefresher:
    interval = 15.0


class StubRefresher:
    interval = 15.0

    def start(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def kick(self) -> None: ...

    async def stop(self) -> None: ...


async def test_a_failed_poll_keeps_the_last_figures_marked_stale_with_the_problem():
    read = Flaky()
    now = [1015.0]
    src = UsageSource(None, read_api=read, clock=lambda: now[0])
    await src.poll()
    good = src.snapshot
    assert good.has_figures and not good.stale and good.pods["a/p"].cpu == 0.25
    read.fail = ApiError("GET /apis/metrics.k8s.io/v1beta1/pods failed with HTTP 503: service unavailable",
                         status=503)
    now[0] += 15
    await src.poll()
    s = src.snapshot
    assert s.stale and s.has_figures and s.seq > good.seq             # redrawn: marked stale
    assert s.pods is good.pods and s.nodes["n1"].cpu == 1.0            # the last figures, not blank
    assert s.problem.startswith("metrics API not available") and "503" in s.problem
    assert "no Prometheus configured" in s.error
    assert s.age == pytest.approx(now[0] - good.at)
    read.fail = None
    now[0] += 15
    await src.poll()
    assert not src.snapshot.stale and not src.snapshot.problem and not src.snapshot.error
    # figures older than STALE_KEEP are not shown as if they were usage
    read.fail = ApiError("down", status=503)
    now[0] = src.snapshot.at + usage.STALE_KEEP + 1
    await src.poll()
    assert not src.snapshot.has_figures and not src.snapshot.pods and src.snapshot.problem


async def test_a_first_failure_is_retried_at_the_normal_pace_and_only_repeated_ones_back_off():
    read = Flaky()
    src = UsageSource(None, read_api=read, interval=15.0)
    ref = src._refresher = FakeRefresher()  # type: ignore[assignment]
    await src.poll()
    assert ref.interval == 15.0
    read.fail = ApiError("blip", status=503)
    await src.poll()
    assert ref.interval == 15.0 and src.failures == 1                 # a blip: not 30 s of blank
    await src.poll()
    assert ref.interval == 15.0
    await src.poll()
    assert ref.interval == usage.UNAVAILABLE_RETRY and src.failures == usage.BACKOFF_AFTER
    read.fail = None
    await src.poll()
    assert ref.interval == 15.0 and src.failures == 0


class CountingAlloc:
    def __init__(self) -> None:
        self.starts = self.cancels = 0
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if not self._running:
            self.starts += 1
        self._running = True

    def cancel(self) -> list:
        self.cancels += int(self._running)
        self._running = False
        return []

    async def stop(self) -> None:
        self.cancel()


async def test_the_requests_informers_stop_a_grace_period_after_the_last_holder_lets_go():
    import asyncio
    alloc = CountingAlloc()
    src = UsageSource(None, read_api=Flaky(), interval=60, alloc=alloc, alloc_grace=0.1)  # type: ignore[arg-type]
    src._refresher = StubRefresher()  # type: ignore[assignment]   # polling is not what this test is about
    tok = src.acquire()
    assert alloc.running
    src.release(tok)
    await asyncio.sleep(0.03)
    tok = src.acquire()                      # back within the grace period: the informers keep running
    await asyncio.sleep(0.15)
    assert alloc.running and alloc.cancels == 0 and alloc.starts == 1
    src.release(tok)
    for _ in range(50):
        if not alloc.running:
            break
        await asyncio.sleep(0.02)
    assert not alloc.running and alloc.cancels == 1
    src.acquire()                            # needed again: started afresh
    assert alloc.running and alloc.starts == 2
    await src.stop()


async def test_the_prometheus_fallback_aggregates_in_a_thread(monkeypatch):
    import threading
    threads: list[int] = []
    real = usage.aggregate_prometheus

    def spy(*a):
        threads.append(threading.get_ident())
        return real(*a)
    monkeypatch.setattr(usage, "aggregate_prometheus", spy)
    prom = FakeProm({usage.Q_POD_CPU: [_s({"namespace": "a", "pod": f"p{i}", "container": "x"}, 0.1)
                                       for i in range(100)]})
    f = await read_prometheus(prom)  # type: ignore[arg-type]
    assert len(f.pods) == 100 and threads and threads[0] != threading.get_ident()


async def test_history_is_recorded_per_sample_and_compactly():
    read = Flaky()
    src = UsageSource(None, read_api=read)
    for _ in range(3):
        await src.poll()
    assert src.cpu.values(("pod", "a/p")) == (0.25, 0.25, 0.25)
    assert src.memory.last(("node", "n1")) == 2.0**30 and src.cpu.samples == 3
    await src.poll()
    read.t -= 15                            # the same sample time again: not a new point
    await src.poll()
    assert src.cpu.samples == 4


def test_sample_history_gaps_window_and_reclaimed_keys():
    from ecotui.metrics.history import SampleHistory
    h = SampleHistory(window_s=100.0)
    h.add_sample(0.0, [("a", 1.0), ("b", None)])
    h.add_sample(10.0, [("a", 2.0), ("c", 3.0)])
    assert not h.add_sample(10.0, [("a", 9.0)])                       # not newer: ignored
    assert h.points("a") == ((0.0, 1.0), (10.0, 2.0))
    assert h.points("b") == () and h.last("b") is None              # unknown value: a gap, never 0
    assert h.points("c") == ((10.0, 3.0),) and h.points("zzz") == ()
    for i in range(200):                                              # 200 short-lived keys come and go
        h.add_sample(20.0 + i, [("a", 1.0), (f"tmp{i}", 1.0)])
    assert h.samples <= 101                                           # the window drops old samples
    assert len(h) < 180 and "tmp0" not in h.keys()                   # gone keys' slots were reclaimed
    assert h.points("a")[-1] == (219.0, 1.0)
    assert h.points("tmp199") == ((219.0, 1.0),)
