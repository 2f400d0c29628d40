"""Incident mode on the testbed, data side: an incident for payment-service in a real IncidentStore (a temp
state dir), `incident error-spike` running, the collector against a real workspace → the Warning event posted
to ecotrack, the journal's record, the note and payment-service's critical 5xx (the real Prometheus) are on the
timeline in time order; the snapshot of ecotrack (+ a namespace of our own holding a Secret whose value is known)
has no secret value in it, plain or base64; a viewer that may not list secrets gets a comment line instead.

The error-spike is undone in a finally for our target only (the testbed's `clear` would clear every helper's
incidents): its entry is dropped from incidents-applied.json and the incident file removed if it is ours."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ecotui.config import Config, ContextConfig
from ecotui.incident.collect import TimelineCollector
from ecotui.incident.snapshot import snapshot_namespaces, write_snapshot
from ecotui.incident.store import IncidentStore
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.ops.journal import Journal
from ecotui.ops.outcome import Target
from ecotui.workspace import Workspace, WorkspaceFactory
from e2e_objects import ViewerAccount, apply
from testbed import paths

pytestmark = pytest.mark.e2e
NS = "ecotrack"
SVC = "payment-service"
REPO = Path(__file__).resolve().parents[2]
SECRET_VALUE = "e2e-incident-s3cr3t-" + uuid.uuid4().hex[:8]


def workspace(tb, kubeconfig: str | None = None) -> Workspace:
    metrics = {"window": "20s", "refresh_s": 5, "timeout_s": 3}
    config = Config(contexts={tb.context: ContextConfig(prometheus_url=tb.prometheus_url, metrics=metrics)})
    kc = load_kubeconfig(kubeconfig or str(tb.kubeconfig))
    return WorkspaceFactory(kc, config, first_context=kc.current_context or tb.context,
                            all_namespaces=True).build(kc.current_context or tb.context)


def run_testbed_incident(tb, *args: str) -> str:
    p = subprocess.run([sys.executable, "-m", "testbed", "incident", *args], cwd=REPO, env=tb.env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr or p.stdout
    return p.stdout


def clear_own_error_spike(target: str) -> None:
    """What `incident clear` does for one error-spike (it only writes the incident file), for our target only."""
    mine = {"name": "error-spike", "target": target}
    applied = paths.state_dir() / "incidents-applied.json"
    try:
        entries = json.loads(applied.read_text())
        applied.write_text(json.dumps([e for e in entries if e != mine]))
    except (OSError, ValueError):
        pass
    current = paths.state_dir() / "incident.json"
    try:
        if {k: json.loads(current.read_text()).get(k) for k in mine} == mine:
            current.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


async def test_timeline_writes_itself_and_snapshot_has_no_secret_value(testbed, tmp_path):
    tb = testbed
    rid = uuid.uuid4().hex[:6]
    own_ns = f"incident-e2e-{rid}"
    ws = workspace(tb)
    event_name = f"{SVC}.incident-e2e-{rid}"
    store = IncidentStore()                      # ECOTUI_STATE_DIR: this test's temp dir (tests/conftest.py)
    assert str(store.root).startswith(str(tmp_path))
    journal = Journal()
    tb.create_namespace(own_ns)
    try:
        apply(tb, [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "payment-db", "namespace": own_ns},
                    "type": "Opaque", "stringData": {"password": SECRET_VALUE}}])
        inc = store.start(title="payments failing", services=[SVC], namespaces=[NS, own_ns], severity="P1",
                          impact="checkout fails for some users", context=tb.context, user="oncall")
        run_testbed_incident(tb, "error-spike", "--target", SVC)
        # a Warning event about a real payment-service pod, its message hostile
        pods = await ws.api.get(f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": f"app={SVC}"})
        pod = pods["items"][0]["metadata"]["name"]
        now = time.time()
        await ws.api.request("POST", f"/api/v1/namespaces/{NS}/events", json={
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": event_name, "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS, "apiVersion": "v1"},
            "reason": "IncidentE2E", "type": "Warning", "count": 1,
            "message": "Readiness probe failed: \x1b[2Jconnection refused\u202e", "firstTimestamp": iso(now),
            "lastTimestamp": iso(now), "source": {"component": "incident-e2e"}})
        await asyncio.sleep(0.05)
        journal.append("done", "rollout_undo", context=tb.context, namespace=NS, user="oncall",
                       targets=[Target("deployments", SVC, NS)], ok=True, message="rolled back to revision 2")
        await asyncio.sleep(0.05)
        store.note("DBA paged about the connection pool", user="oncall")

        col = TimelineCollector(store, ws, journal, interval=1.0)

        def entries(source: str, pred=lambda e: True) -> list:
            cur = store.current
            return [e for e in (cur.entries if cur else ()) if e.source == source and pred(e)]

        deadline = time.monotonic() + 75
        while time.monotonic() < deadline:
            await col.collect_once()
            if (entries("event", lambda e: e.data.get("name") == event_name)
                    and entries("metric", lambda e: e.data.get("service") == SVC and e.data.get("panel") == "err"
                                and e.data.get("level") == "crit")):
                break
            await asyncio.sleep(1.0)
        print("collector passes", col.passes, "last_error", repr(col.last_error))
        cur = store.current
        assert cur is not None
        (warning,) = entries("event", lambda e: e.data.get("name") == event_name)
        assert warning.kind == "IncidentE2E" and warning.data["namespace"] == NS
        assert f"Warning IncidentE2E pod/{pod}: Readiness probe failed:" in warning.text
        assert "\x1b" not in warning.text and "\u202e" not in warning.text and "\\x1b[2J" in warning.text
        (undo,) = entries("journal", lambda e: e.kind == "rollout_undo")
        assert undo.text.startswith(f"done rollout_undo deployments/{NS}/{SVC} → rolled back to revision 2")
        (note,) = entries("note")
        # the baseline 5xx ratio (~2 %) is already a warning with a 20 s window; the spike makes it critical
        breach = entries("metric", lambda e: e.data.get("service") == SVC and e.data.get("level") == "crit")
        assert breach, f"no critical 5xx of {SVC} recorded ({col.last_error})"
        assert breach[0].kind == "breach" and f"{SVC} 5xx critical:" in breach[0].text
        print("breach:", [e.text for e in entries("metric")])
        times = [e.time for e in cur.entries]
        assert times == sorted(times)
        keys = [e.key for e in cur.entries]
        assert len(keys) == len(set(keys))
        order = [e.key for e in cur.entries]
        assert order.index(cur.entries[0].key) == 0 and cur.entries[0].kind == "started"
        assert order.index(undo.key) < order.index(note.key)
        assert warning.time <= undo.time + 1.0          # events carry second precision
        # a second pass has nothing new for the entries already there
        before = {e.key for e in store.current.entries if e.source in ("journal", "note")}
        t0 = time.perf_counter()
        await col.collect_once()
        took = time.perf_counter() - t0
        print(f"one collector pass (journal, 6 event LISTs, 5 PromQL queries, store): {took * 1000:.0f} ms")
        assert took < col.interval * 5
        assert {e.key for e in store.current.entries if e.source in ("journal", "note")} == before

        text = await snapshot_namespaces(ws.api, cur.namespaces)
        path = write_snapshot(store, cur, text, time.time())
        assert path.parent == store.dir_for(cur) and path.name.startswith(f"snapshot-{NS}+{own_ns}-")
        saved = path.read_text()
        assert SECRET_VALUE not in saved
        assert base64.b64encode(SECRET_VALUE.encode()).decode() not in saved
        assert "kind: Secret" in saved and "password: <redacted>" in saved
        assert "managedFields:" not in saved and "# not captured" not in saved
        assert f"name: {SVC}\n" in saved and "kind: Deployment" in saved and "kind: HorizontalPodAutoscaler" in saved
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        print("snapshot:", path.stat().st_size, "bytes,", saved.count("\n- apiVersion:"), "objects")
        assert inc.id == cur.id
    finally:
        clear_own_error_spike(SVC)
        tb.kubectl("delete", "event", event_name, "-n", NS, check=False)
        tb.kubectl("delete", "namespace", own_ns, "--wait=false", check=False)
        await ws.stop()


async def test_snapshot_by_a_viewer_without_secrets_has_a_comment_line(testbed, tmp_path):
    rules = [{"apiGroups": ["", "apps", "batch", "autoscaling"],
              "resources": ["pods", "services", "configmaps", "deployments", "replicasets", "statefulsets",
                            "daemonsets", "jobs", "cronjobs", "horizontalpodautoscalers"],
              "verbs": ["get", "list"]}]
    with ViewerAccount(testbed, "incident-snap", tmp_path, rules) as viewer:
        ws = workspace(testbed, viewer.kubeconfig)
        try:
            deadline = time.monotonic() + 20     # RBAC caches: the binding may take a moment
            while True:
                text = await snapshot_namespaces(ws.api, [NS])
                if "# not captured: pods" not in text or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            await ws.stop()
    missing = [line for line in text.splitlines() if line.startswith("# not captured:")]
    assert len(missing) == 1, missing
    assert missing[0].startswith(f"# not captured: secrets in {NS}:") and "forbidden" in missing[0]
    assert "kind: Deployment" in text and "kind: Secret" not in text
