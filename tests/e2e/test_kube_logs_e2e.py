"""KubeLogSource against the testbed: KWOK serves every EcoTrack pod's container log from the file the log generator
appends to (CRI format), with follow. A fresh line reaches us for every pod of a Deployment within 2 s, matches
`kubectl logs --timestamps` over the same window, a deleted pod's stream ends and its replacement is followed,
and `previous` logs of crash-looping pods open (finite, DONE)."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.logs.kube import KubeLogSource
from ecotui.logs.kube_stream import parse_ts
from ecotui.logs.model import NS, Kind, LogLine, Selection, SourceState
from testbed import incidents, kwokcfg

pytestmark = pytest.mark.e2e

APP_NS = "ecotrack"
SVC = "user-service"
CRASH = "notification-service"


def client_for(tb) -> KubeClient:
    r = load_kubeconfig(str(tb.kubeconfig)).resolve(tb.context)
    return KubeClient(r.cluster, Authenticator(r.user, r.cluster))


class Run:
    def __init__(self, source: KubeLogSource) -> None:
        self.source = source
        self.lines: list[LogLine] = []
        self.task = asyncio.ensure_future(source.run(self.lines.extend))

    async def until(self, cond: Callable[[], Any], timeout: float, what: str) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = cond()
            if got:
                return got
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; status {self.source.status}")

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def running_pods(tb, app: str) -> list[str]:
    out = tb.kubectl("get", "pods", "-n", APP_NS, "-l", f"app={app}", "-o", "json").stdout
    return sorted(p["metadata"]["name"] for p in json.loads(out)["items"]
                  if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))


def new_file_lines(path: Path, offset: int) -> tuple[list[tuple[int, str]], int]:
    """Complete CRI lines appended since `offset`: (ts_ns, text)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    out = []
    for raw in data[:end].splitlines():
        ts, rest = parse_ts(raw)
        out.append((ts, rest.split(b" ", 2)[2].decode("utf-8", "replace")))  # "stdout F text"
    return out, offset + end


async def test_deployment_lines_arrive_within_2s_and_match_kubectl(testbed):
    pods = running_pods(testbed, SVC)
    assert pods
    client = client_for(testbed)
    run = Run(KubeLogSource(client, Selection(workload=("deployments", f"{APP_NS}/{SVC}"), since_s=2)))
    logfile = testbed.state_dir / "logs" / f"{SVC}.log"
    try:
        await run.until(lambda: run.source.status.state == SourceState.LIVE
                        and run.source.status.streams >= len(pods), 10, "all streams live")
        assert run.source.description.startswith(f"deployment {APP_NS}/{SVC} (")
        offset = logfile.stat().st_size
        new: list[tuple[int, str]] = []
        end = time.monotonic() + 5
        while not new and time.monotonic() < end:  # the generator writes a few lines a second
            await asyncio.sleep(0.02)
            new, offset = new_file_lines(logfile, offset)
        assert new, "the log generator wrote nothing in 5 s"
        t_file = time.monotonic()
        ts, text = new[0]
        followed = sorted({ln.pod for ln in run.lines if ln.kind == Kind.LINE})

        def everywhere() -> bool:
            have = {ln.pod for ln in run.lines if ln.ts_ns == ts and ln.text == text}
            return set(followed) <= have
        await run.until(everywhere, 2.0, f"line {text[:60]!r} in every pod's stream")
        took = time.monotonic() - t_file
        print(f"line in {len(followed)} streams {took * 1000:.0f} ms after it was in the file")
        assert took < 2.0
        assert set(pods) <= set(followed)
        one = next(ln for ln in run.lines if ln.text == text)
        assert (one.namespace, one.container, one.stream) == (APP_NS, SVC, f"{APP_NS}/{one.pod}/{SVC}")

        # the same window through kubectl logs --timestamps, for one container
        await asyncio.sleep(1.5)
        pod = pods[0]
        mine = [(ln.ts_ns, ln.text) for ln in run.lines if ln.pod == pod and ln.kind == Kind.LINE]
        lo, hi = mine[0][0], mine[-1][0]
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lo // NS))
        out = (await asyncio.to_thread(testbed.kubectl, "logs", "-n", APP_NS, pod, "-c", SVC, "--timestamps",
                                       f"--since-time={since}")).stdout
        theirs = [(t, r.decode("utf-8", "replace")) for t, r in
                  (parse_ts(x) for x in out.encode().split(b"\n") if x)]
        assert [x for x in theirs if lo <= x[0] <= hi] == mine
        assert len(mine) >= 2
    finally:
        await run.stop()
        await client.aclose()


async def test_deleted_pod_ends_its_stream_and_the_replacement_is_followed(testbed):
    pods = running_pods(testbed, SVC)
    client = client_for(testbed)
    run = Run(KubeLogSource(client, Selection(workload=("deployments", f"{APP_NS}/{SVC}"), since_s=1),
                            poll_interval=0.5))
    victim = pods[-1]
    try:
        await run.until(lambda: run.source.status.state == SourceState.LIVE
                        and run.source.status.streams >= len(pods), 10, "all streams live")
        await asyncio.to_thread(testbed.kubectl, "delete", "pod", "-n", APP_NS, victim, "--grace-period=1",
                                "--wait=false")
        removed = f"pod {APP_NS}/{victim} removed: stream of container {SVC} ended"
        await run.until(lambda: any(ln.kind == Kind.INFO and ln.text == removed for ln in run.lines), 20,
                        "the deleted pod's stream to end")
        added = await run.until(lambda: [ln.pod for ln in run.lines if ln.kind == Kind.INFO
                                         and ln.text.startswith(f"pod {APP_NS}/{SVC}-")
                                         and ln.text.endswith(" added")], 20, "a replacement pod")

        def replacement_lines() -> bool:
            return any(ln.kind == Kind.LINE and ln.pod in added for ln in run.lines)
        await run.until(replacement_lines, 10, "lines of the replacement pod")
        n = len(run.lines)
        await asyncio.sleep(0.5)
        assert not any(ln.pod == victim and ln.kind == Kind.LINE for ln in run.lines[n:])
    finally:
        await run.stop()
        await client.aclose()


@pytest.mark.disruptive
async def test_previous_logs_of_crashlooping_pods_open(testbed):
    client = client_for(testbed)
    try:
        await asyncio.to_thread(incidents.start, "crashloop", CRASH)

        def restarted() -> list[str]:
            out = testbed.kubectl("get", "pods", "-n", APP_NS, "-l", f"app={CRASH},{kwokcfg.CRASHLOOP_LABEL}=true",
                                  "-o", "json").stdout
            return [p["metadata"]["name"] for p in json.loads(out)["items"]
                    if any(c.get("restartCount", 0) > 0 for c in p["status"].get("containerStatuses") or ())]
        deadline = time.monotonic() + 25
        looping: list[str] = []
        while not looping and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            looping = await asyncio.to_thread(restarted)
        assert looping, f"no {CRASH} pod restarted within 25 s"
        source = KubeLogSource(client, Selection(pods=tuple(f"{APP_NS}/{p}" for p in looping), previous=True,
                                                 tail_lines=20))
        run = Run(source)
        await asyncio.wait_for(run.task, 10)
        print("previous:", [(ln.pod, ln.kind.value, ln.text[:120]) for ln in run.lines][:6])
        assert source.status.state == SourceState.DONE, source.status
        for p in looping:  # either the previous container's lines, or one line saying why there are none
            mine = [ln for ln in run.lines if ln.pod == p]
            lines = [ln for ln in mine if ln.kind == Kind.LINE]
            infos = [ln for ln in mine if ln.kind == Kind.INFO]
            assert (lines and all(ln.previous for ln in lines)) or len(infos) == 1, mine
            for ln in infos:
                assert ln.text.startswith(f"no previous logs for container {CRASH}: ") and "\n" not in ln.text
                assert ln.previous
    finally:
        await asyncio.to_thread(incidents.clear)
        await client.aclose()
    await asyncio.to_thread(testbed.kubectl, "rollout", "status", f"deployment/{CRASH}", "-n", APP_NS,
                            "--timeout=90s", timeout=120)
