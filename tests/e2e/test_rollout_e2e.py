"""Rollouts, restart, pause/resume and scale (ecotui/ops/rollout.py, scale.py) against the testbed's real
kube-apiserver and controller-manager, through the real KubeClient, compared with kubectl where kubectl is the
reference: after our undo the object's template is the previous ReplicaSet's / ControllerRevision's (what
`kubectl rollout undo` restores), history numbers and change-causes equal `kubectl rollout history`, restart
makes a new ReplicaSet, scale sets spec.replicas. Everything runs in a namespace of its own, except the one
test that undoes `incident crashloop` on ecotrack/notification-service (cleared again in a finally)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.session import ClusterSession
from ecotui.ops.rollout import (plan_pause, plan_restart, plan_resume, plan_undo, rollout_history,
                                rollout_status)
from ecotui.ops.scale import plan_scale
from ecotui.ops.template_diff import without_hash

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
POLL_S, WAIT_S = 0.25, 25.0


@pytest.fixture(scope="module")
def ns(testbed):
    name = f"rollout-e2e-{uuid.uuid4().hex[:6]}"
    testbed.create_namespace(name)
    try:
        yield name
    finally:
        testbed.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
async def api(testbed) -> AsyncIterator[KubeClient]:
    client = ClusterSession(load_kubeconfig(str(testbed.kubeconfig)), context=testbed.context).client
    try:
        yield client
    finally:
        await client.aclose()


def _template(app: str, image: str, env: str = "1") -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "image": image, "env": [{"name": "LEVEL", "value": env}],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def _workload(kind: str, ns: str, name: str, image: str, replicas: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": _template(name, image)}
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": ns,
                         "annotations": {"kubernetes.io/change-cause": f"create {image}"}},
            "spec": spec}


def _get(tb, ns: str, what: str) -> dict[str, Any]:
    return json.loads(tb.kubectl("get", what, "-n", ns, "-o", "json").stdout)


def _wait(what: str, check, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def _observed(tb, ns: str, what: str) -> dict[str, Any]:
    """Wait until the controller observed the object's generation; returns the object."""
    def check():
        o = _get(tb, ns, what)
        return o if o.get("status", {}).get("observedGeneration", 0) >= o["metadata"]["generation"] else None
    return _wait(f"{what} observed", check)


def _create(tb, ns: str, kind: str, name: str, image: str, replicas: int = 1) -> None:
    tb.kubectl("apply", "-f", "-", input=json.dumps(_workload(kind, ns, name, image, replicas)))
    _observed(tb, ns, f"{kind.lower()}/{name}")


def _new_image(tb, ns: str, what: str, image: str, env: str) -> None:
    """A second revision: another image and env value, with its own change-cause (as `kubectl annotate`)."""
    container = {"name": "app", "image": image, "env": [{"name": "LEVEL", "value": env}]}
    tb.kubectl("patch", what, "-n", ns, "-p", json.dumps({"spec": {"template": {"spec": {"containers": [container]}}}}))
    tb.kubectl("annotate", what, f"kubernetes.io/change-cause=set {image}", "--overwrite", "-n", ns)
    _observed(tb, ns, what)


def _kubectl_history(tb, ns: str, what: str) -> list[tuple[int, str]]:
    lines = tb.kubectl("rollout", "history", what, "-n", ns).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("REVISION"))
    rows = [line.split(None, 1) for line in lines[start + 1:] if line.strip()]
    return [(int(r[0]), r[1].strip() if len(r) > 1 else "<none>") for r in rows]


def _ours(revs) -> list[tuple[int, str]]:
    return [(r.number, r.change_cause or "<none>") for r in revs]


def _controlled_rs(tb, ns: str, deploy: dict[str, Any]) -> list[dict[str, Any]]:
    uid = deploy["metadata"]["uid"]
    items = _get(tb, ns, "replicasets")["items"]
    return [rs for rs in items if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences", ()))]


async def test_deployment_undo_restores_previous_replicaset_template(testbed, ns, api):
    tb = testbed
    _create(tb, ns, "Deployment", "web", "registry.local/web:1.0")
    _new_image(tb, ns, "deployment/web", "registry.local/web:2.0", "2")

    revs = await rollout_history(api, "deployments", ns, "web")
    assert _ours(revs) == _kubectl_history(tb, ns, "deployment/web")
    assert [r.number for r in revs] == [1, 2] and revs[-1].current and not revs[0].current
    assert revs[0].images == ("registry.local/web:1.0",) and revs[1].images == ("registry.local/web:2.0",)

    deploy = _get(tb, ns, "deployment/web")
    previous = next(rs for rs in _controlled_rs(tb, ns, deploy)
                    if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1")
    plan = await plan_undo(api, "deployments", ns, "web")
    assert not plan.preview.blocked and plan.preview.params["to_revision"] == 1
    assert plan.preview.lines[:2] == ("- container app image: registry.local/web:2.0",
                                      "+ container app image: registry.local/web:1.0")
    assert "+ container app env LEVEL: 1" in plan.preview.lines

    outcome = await plan.apply(api)
    assert outcome.ok, outcome.message
    assert outcome.message == f"deployment {ns}/web rolled back to revision 1"
    after = _observed(tb, ns, "deployment/web")
    # what `kubectl rollout undo` restores: the RS's template without pod-template-hash, its annotations
    assert after["spec"]["template"] == without_hash(previous["spec"]["template"])
    assert after["metadata"]["annotations"]["kubernetes.io/change-cause"] == "create registry.local/web:1.0"
    # the controller moved the old ReplicaSet to revision 3, as after kubectl's undo
    hist = _kubectl_history(tb, ns, "deployment/web")
    assert hist == [(2, "set registry.local/web:2.0"), (3, "create registry.local/web:1.0")]
    assert _ours(await rollout_history(api, "deployments", ns, "web")) == hist

    # the same undo again goes back to 2.0; asking for revision 3 (current) is refused like kubectl
    same = await plan_undo(api, "deployments", ns, "web", to_revision=3)
    assert same.preview.blocked == "skipped rollback (current template already matches revision 3)"
    missing = await plan_undo(api, "deployments", ns, "web", to_revision=9)
    assert missing.preview.blocked == "unable to find specified revision 9 in history"
    assert "unable to find specified revision 9" in tb.kubectl(
        "rollout", "undo", "deployment/web", "--to-revision=9", "-n", ns, check=False).stderr


async def test_no_previous_revision_is_blocked(testbed, ns, api):
    _create(testbed, ns, "Deployment", "single", "registry.local/single:1.0")
    plan = await plan_undo(api, "deployments", ns, "single")
    assert plan.preview.blocked.startswith('no rollout history found for deployment "single"')
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == plan.preview.blocked
    assert "no rollout history found" in testbed.kubectl("rollout", "undo", "deployment/single", "-n", ns,
                                                         check=False).stderr
    gone = await plan_undo(api, "deployments", ns, "no-such")
    assert "not found" in gone.preview.blocked


async def test_pause_blocks_undo_and_restart_resume_clears_it(testbed, ns, api):
    tb = testbed
    _create(tb, ns, "Deployment", "paused", "registry.local/p:1.0")
    _new_image(tb, ns, "deployment/paused", "registry.local/p:2.0", "2")
    outcome = await (await plan_pause(api, "deployments", ns, "paused")).apply(api)
    assert outcome.ok and outcome.message == f"deployment {ns}/paused paused"
    assert tb.kubectl("get", "deployment/paused", "-n", ns, "-o", "jsonpath={.spec.paused}").stdout == "true"
    assert (await plan_pause(api, "deployments", ns, "paused")).preview.blocked == \
        'deployment "paused" is already paused'

    undo = await plan_undo(api, "deployments", ns, "paused")
    assert undo.preview.blocked.startswith("you cannot rollback a paused deployment")
    restart = await plan_restart(api, "deployments", ns, "paused")
    assert restart.preview.blocked == "can't restart paused deployment (run rollout resume first)"
    status = await rollout_status(api, "deployments", ns, "paused")
    assert any(line.startswith("paused:") for line in status.lines)

    outcome = await (await plan_resume(api, "deployments", ns, "paused")).apply(api)
    assert outcome.ok and outcome.message == f"deployment {ns}/paused resumed"
    assert tb.kubectl("get", "deployment/paused", "-n", ns, "-o", "jsonpath={.spec.paused}").stdout == ""
    assert not (await plan_undo(api, "deployments", ns, "paused")).preview.blocked
    blocked = await plan_pause(api, "statefulsets", ns, "paused")
    assert "not supported" in blocked.preview.blocked


async def test_restart_creates_a_new_replicaset(testbed, ns, api):
    tb = testbed
    _create(tb, ns, "Deployment", "restart", "registry.local/r:1.0")
    before = {rs["metadata"]["name"] for rs in _controlled_rs(tb, ns, _get(tb, ns, "deployment/restart"))}
    outcome = await (await plan_restart(api, "deployments", ns, "restart")).apply(api)
    assert outcome.ok and outcome.message == f"deployment {ns}/restart restarted"
    deploy = _observed(tb, ns, "deployment/restart")
    stamp = deploy["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert stamp == outcome.details["body"]["spec"]["template"]["metadata"]["annotations"][
        "kubectl.kubernetes.io/restartedAt"]
    managed = json.loads(tb.kubectl("get", "deployment/restart", "-n", ns, "-o", "json",
                                    "--show-managed-fields").stdout)["metadata"]["managedFields"]
    assert any(m.get("manager") == "kubectl-rollout" and m.get("operation") == "Update" for m in managed)
    new = _wait("a new ReplicaSet", lambda: [rs for rs in _controlled_rs(tb, ns, deploy)
                                             if rs["metadata"]["name"] not in before])
    assert new[0]["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == stamp
    done = _wait("kubectl: rolled out", lambda: "successfully rolled out" in tb.kubectl(
        "rollout", "status", "deployment/restart", "-n", ns, "--watch=false").stdout)
    status = await rollout_status(api, "deployments", ns, "restart")
    assert done and status.done and not status.stuck
    assert status.message == 'deployment "restart" successfully rolled out'
    assert status.lines[1] == "replicas: 1 desired, 1 updated, 1 ready, 1 available"
    assert any(line.startswith("condition Available=True") for line in status.lines)


async def test_scale_sets_replicas_and_names_the_hpa(testbed, ns, api):
    tb = testbed
    _create(tb, ns, "Deployment", "scaled", "registry.local/s:1.0", replicas=1)
    with pytest.raises(ValueError, match="whole number"):
        await plan_scale(api, "deployments", ns, "scaled", "-1")
    plan = await plan_scale(api, "deployments", ns, "scaled", "2")
    assert plan.preview.warnings == ()
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"deployment {ns}/scaled scaled 1 → 2"
    assert tb.kubectl("get", "deployment/scaled", "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout == "2"

    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "scaled-hpa", "namespace": ns},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"},
                    "minReplicas": 2, "maxReplicas": 5,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 80}}}]}}
    tb.kubectl("apply", "-f", "-", input=json.dumps(hpa))
    plan = await plan_scale(api, "deployments", ns, "scaled", "3")
    assert "HPA scaled-hpa owns the replicas (2..5): it will change them back" in plan.preview.warnings

    _create(tb, ns, "StatefulSet", "db", "registry.local/db:1.0", replicas=1)
    outcome = await (await plan_scale(api, "statefulsets", ns, "db", "2")).apply(api)
    assert outcome.ok and outcome.message == f"statefulset {ns}/db scaled 1 → 2"
    assert tb.kubectl("get", "statefulset/db", "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout == "2"


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
async def test_undo_through_controller_revisions(testbed, ns, api, kind):
    tb = testbed
    kid, name = f"{kind.lower()}s", f"cr-{kind.lower()}"
    what = f"{kind.lower()}/{name}"
    _create(tb, ns, kind, name, "registry.local/cr:1.0")
    _new_image(tb, ns, what, "registry.local/cr:2.0", "2")
    revs = await rollout_history(api, kid, ns, name)
    assert _ours(revs) == _kubectl_history(tb, ns, what)
    assert [r.number for r in revs] == [1, 2] and revs[-1].current

    crs = json.loads(tb.kubectl("get", "controllerrevisions", "-n", ns, "-o", "json").stdout)["items"]
    first = next(c for c in crs if c["revision"] == 1 and c["metadata"]["name"].startswith(name + "-"))
    plan = await plan_undo(api, kid, ns, name)
    assert not plan.preview.blocked and plan.preview.params["to_revision"] == 1
    assert "+ container app image: registry.local/cr:1.0" in plan.preview.lines
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"{kind.lower()} {ns}/{name} rolled back to revision 1"
    after = _observed(tb, ns, what)
    want = dict(first["data"]["spec"]["template"])
    want.pop("$patch", None)
    assert after["spec"]["template"] == want
    # the controller gives the restored revision the next number, as after kubectl's undo
    _wait("history 2, 3", lambda: [n for n, _c in _kubectl_history(tb, ns, what)] == [2, 3])
    assert [r.number for r in await rollout_history(api, kid, ns, name)] == [2, 3]
    same = await plan_undo(api, kid, ns, name, to_revision=3)
    assert same.preview.blocked == "skipped rollback (current template already matches revision 3)"
    line = _wait("kubectl: rolled out", lambda: next((out for out in [tb.kubectl(
        "rollout", "status", what, "-n", ns, "--watch=false").stdout.strip()] if "complete" in out
        or "successfully" in out), None))
    status = await rollout_status(api, kid, ns, name)
    assert status.done and status.message == line


async def test_undo_out_of_incident_crashloop(testbed, api):
    tb, ns, name = testbed, "ecotrack", "notification-service"
    label = "ecotui.testbed/crashloop"

    def incident(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "testbed", "incident", *args], cwd=ROOT, env=tb.env, check=True,
                       capture_output=True, timeout=60)

    before = _get(tb, ns, f"deployment/{name}")
    assert label not in before["spec"]["template"]["metadata"].get("labels", {}), "crashloop already active"
    try:
        incident("crashloop")
        crashing = _observed(tb, ns, f"deployment/{name}")
        assert crashing["spec"]["template"]["metadata"]["labels"].get(label) == "true"
        plan = await plan_undo(api, "deployments", ns, name)
        assert not plan.preview.blocked, plan.preview.blocked
        assert f"- label {label}: true" in plan.preview.lines
        outcome = await plan.apply(api)
        assert outcome.ok, outcome.message
        after = _observed(tb, ns, f"deployment/{name}")
        assert after["spec"]["template"] == before["spec"]["template"]
    finally:
        incident("clear")


async def test_our_undo_equals_kubectl_rollout_undo_on_a_twin(testbed, ns, api):
    """Two deployments with the same history: kubectl undoes one, we undo the other; same template (but for
    the app label) and the same annotations."""
    tb = testbed
    for name in ("twin-kubectl", "twin-ours"):
        _create(tb, ns, "Deployment", name, "registry.local/twin:1.0")
        _new_image(tb, ns, f"deployment/{name}", "registry.local/twin:2.0", "2")
        tb.kubectl("annotate", f"deployment/{name}", "late=1", "-n", ns)   # on no ReplicaSet: undo drops it
    tb.kubectl("rollout", "undo", "deployment/twin-kubectl", "-n", ns)
    outcome = await (await plan_undo(api, "deployments", ns, "twin-ours")).apply(api)
    assert outcome.ok, outcome.message
    theirs, ours = _observed(tb, ns, "deployment/twin-kubectl"), _observed(tb, ns, "deployment/twin-ours")
    theirs = json.loads(json.dumps(theirs).replace("twin-kubectl", "twin-ours"))
    assert ours["spec"]["template"] == theirs["spec"]["template"]
    assert ours["metadata"]["annotations"] == theirs["metadata"]["annotations"]
    assert "late" not in ours["metadata"]["annotations"]
    assert _kubectl_history(tb, ns, "deployment/twin-ours") == _kubectl_history(tb, ns, "deployment/twin-kubectl")


async def test_stuck_rollout_is_named_as_such(testbed, ns, api):
    tb = testbed
    body = _workload("Deployment", ns, "stuck", "registry.local/stuck:1.0")
    body["spec"]["progressDeadlineSeconds"] = 1
    body["spec"]["template"]["metadata"]["labels"]["ecotui.testbed/crashloop"] = "true"   # KWOK: never ready
    tb.kubectl("apply", "-f", "-", input=json.dumps(body))
    err = _wait("kubectl: progress deadline", lambda: "exceeded its progress deadline" in tb.kubectl(
        "rollout", "status", "deployment/stuck", "-n", ns, "--watch=false", check=False).stderr)
    status = await rollout_status(api, "deployments", ns, "stuck")
    assert err and status.stuck and not status.done
    assert status.message == 'deployment "stuck" exceeded its progress deadline'
    assert any(line.startswith("condition Progressing=False (ProgressDeadlineExceeded)") for line in status.lines)
