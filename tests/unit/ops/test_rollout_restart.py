"""plan_restart (kubectl.kubernetes.io/restartedAt, strategic merge, fieldManager=kubectl-rollout, stamped
when applied), plan_pause / plan_resume (deployments only), and their refusals."""
from __future__ import annotations

import re

import pytest
from test_rollout_fakes import APPS, NS, FakeAPI, deployment, workload

from ecotui.errors import ReadOnlyError
from ecotui.ops import rollout
from ecotui.ops.api import STRATEGIC
from ecotui.ops.rollout import plan_pause, plan_restart, plan_resume, rfc3339_now

KINDS = {"deployments": deployment(), "statefulsets": workload("StatefulSet"), "daemonsets": workload("DaemonSet")}


def api_for(kind: str, obj=None) -> tuple[FakeAPI, str]:
    obj = obj or KINDS[kind]
    path = f"{APPS}/{kind}/{obj['metadata']['name']}"
    return FakeAPI({path: obj}), path


def test_rfc3339_now_is_gos_format():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", rfc3339_now())


@pytest.mark.parametrize("kind", list(KINDS))
async def test_restart_patches_restarted_at_with_kubectl_rollout_field_manager(kind, monkeypatch):
    api, path = api_for(kind)
    name = KINDS[kind]["metadata"]["name"]
    plan = await plan_restart(api, kind, NS, name)
    assert plan.preview.blocked == "" and plan.preview.action == "rollout_restart"
    monkeypatch.setattr(rollout, "rfc3339_now", lambda: "2026-05-04T10:11:12Z")   # taken when applied
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"{kind[:-1]} {NS}/{name} restarted"
    assert api.mutations == [("PATCH", path, {"fieldManager": "kubectl-rollout"}, {"spec": {"template": {
        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-05-04T10:11:12Z"}}}}}, STRATEGIC)]


async def test_restart_refusals_and_warnings():
    api, _ = api_for("deployments", deployment(paused=True))
    plan = await plan_restart(api, "deployments", NS, "web")
    assert plan.preview.blocked == "can't restart paused deployment (run rollout resume first)"
    assert not (await plan.apply(api)).ok and api.mutations == []
    sts = workload("StatefulSet")
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    plan = await plan_restart(api_for("statefulsets", sts)[0], "statefulsets", NS, "db")
    assert plan.preview.warnings == ("updateStrategy OnDelete: the pods are only replaced when they are deleted",)
    assert "not supported for pods" in (await plan_restart(FakeAPI(), "pods", NS, "x")).preview.blocked
    assert "HTTP 404" in (await plan_restart(FakeAPI(), "deployments", NS, "x")).preview.blocked


async def test_restart_read_only_is_a_failed_outcome():
    api, _ = api_for("deployments")
    plan = await plan_restart(api, "deployments", NS, "web")
    api.fail = ReadOnlyError("context ecotui-testbed is read-only: PATCH not sent")
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == "context ecotui-testbed is read-only: PATCH not sent"


async def test_pause_and_resume_patches():
    api, path = api_for("deployments")
    outcome = await (await plan_pause(api, "deployments", NS, "web")).apply(api)
    assert outcome.ok and outcome.message == f"deployment {NS}/web paused"
    assert api.mutations == [("PATCH", path, {"fieldManager": "kubectl-rollout"}, {"spec": {"paused": True}},
                              STRATEGIC)]
    api, path = api_for("deployments", deployment(paused=True))
    plan = await plan_resume(api, "deployments", NS, "web")
    assert plan.preview.action == "rollout_resume"
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"deployment {NS}/web resumed"
    assert api.mutations == [("PATCH", path, {"fieldManager": "kubectl-rollout"}, {"spec": {"paused": None}},
                              STRATEGIC)]


async def test_pause_resume_refusals():
    api, _ = api_for("deployments", deployment(paused=True))
    assert (await plan_pause(api, "deployments", NS, "web")).preview.blocked == 'deployment "web" is already paused'
    api, _ = api_for("deployments")
    assert (await plan_resume(api, "deployments", NS, "web")).preview.blocked == 'deployment "web" is not paused'
    for kind in ("statefulsets", "daemonsets"):
        api = FakeAPI()
        assert (await plan_pause(api, kind, NS, "db")).preview.blocked == (
            f"pausing is not supported for {kind}: kubectl pauses and resumes deployments only")
        assert "resuming is not supported" in (await plan_resume(api, kind, NS, "db")).preview.blocked
        assert api.calls == []


async def test_restart_reads_the_object_again_when_applied(monkeypatch):
    api, path = api_for("deployments", deployment())
    plan = await plan_restart(api, "deployments", NS, "web")
    api.objects[path]["spec"]["paused"] = True            # paused between the preview and the confirm
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == "can't restart paused deployment (run rollout resume first)"
    assert api.mutations == [] and api.calls[-1] == ("GET", path, None, None, None)

    api.objects[path]["spec"]["paused"] = False
    api.objects[path]["spec"]["template"]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/restartedAt": "2026-05-04T10:11:12Z"}
    monkeypatch.setattr(rollout, "rfc3339_now", lambda: "2026-05-04T10:11:12Z")   # the same second again
    outcome = await plan.apply(api)
    assert not outcome.ok and "restart has already been triggered within the past second" in outcome.message
    assert api.mutations == []
    del api.objects[path]
    assert "HTTP 404" in (await plan.apply(api)).message
