"""plan_scale: the typed value refused before any request, kubectl scale's request (merge patch of the scale
subresource), the HPA warning, refusals and API errors as failed Outcomes."""
from __future__ import annotations

import pytest
from test_rollout_fakes import APPS, NS, FakeAPI

from ecotui.errors import ForbiddenError, ReadOnlyError
from ecotui.ops.api import MERGE
from ecotui.ops.scale import parse_replicas, plan_scale

HPAS = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"


def hpa(name: str, kind: str = "Deployment", target: str = "web", lo: int | None = 2, hi: int = 6,
        api_version: str = "apps/v1"):
    spec = {"scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": target}, "maxReplicas": hi}
    if lo is not None:
        spec["minReplicas"] = lo
    return {"metadata": {"name": name, "namespace": NS}, "spec": spec}


def scale_api(kind: str = "deployments", name: str = "web", replicas: int = 2, hpas=()) -> FakeAPI:
    return FakeAPI({f"{APPS}/{kind}/{name}/scale": {"kind": "Scale", "spec": {"replicas": replicas},
                                                   "status": {"replicas": replicas}},
                    HPAS: {"items": list(hpas)}})


@pytest.mark.parametrize("text", ["-1", "abc", "1.5", "", "  ", "+3", "3x", "1e3", "٣", "2147483648"])
async def test_bad_values_are_refused_before_any_request(text):
    api = scale_api()
    with pytest.raises(ValueError) as e:
        await plan_scale(api, "deployments", NS, "web", text)
    assert api.calls == []
    assert repr(text) in str(e.value)


def test_the_message_names_the_value():
    with pytest.raises(ValueError) as e:
        parse_replicas("-1")
    assert str(e.value) == "replicas must be a whole number ≥ 0, got '-1'"
    assert parse_replicas(" 5 ") == 5 and parse_replicas("0") == 0 and parse_replicas("007") == 7


@pytest.mark.parametrize("kind, noun", [("deployments", "deployment"), ("statefulsets", "statefulset")])
async def test_scale_is_a_merge_patch_of_the_scale_subresource(kind, noun):
    api = scale_api(kind)
    plan = await plan_scale(api, kind, NS, "web", "5")
    assert plan.preview.action == "scale" and plan.preview.lines == ("replicas: 2 → 5",)
    assert plan.preview.params == {"replicas": 5, "from_replicas": 2} and plan.preview.warnings == ()
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"{noun} {NS}/web scaled 2 → 5"
    assert api.mutations == [("PATCH", f"{APPS}/{kind}/web/scale", None, {"spec": {"replicas": 5}}, MERGE)]
    assert [c[1] for c in api.calls if c[0] == "GET"] == [f"{APPS}/{kind}/web/scale", HPAS]


async def test_hpa_that_owns_the_replicas_is_named():
    hpas = [hpa("web-hpa"), hpa("other", target="api"), hpa("sts-hpa", kind="StatefulSet"),
            hpa("defaults", lo=None, hi=4), hpa("crd", api_version="example.com/v1")]
    plan = await plan_scale(scale_api(hpas=hpas), "deployments", NS, "web", "3")
    assert plan.preview.warnings == ("HPA web-hpa owns the replicas (2..6): it will change them back",
                                     "HPA defaults owns the replicas (1..4): it will change them back")
    assert plan.preview.blocked == ""


async def test_warnings_for_same_value_zero_and_unreadable_hpas():
    api = scale_api(replicas=3)
    api.get_fail[HPAS] = ForbiddenError("forbidden: list horizontalpodautoscalers")
    plan = await plan_scale(api, "deployments", NS, "web", "3")
    assert plan.preview.warnings == (
        "could not check for an HPA owning the replicas: forbidden: list horizontalpodautoscalers",
        f"deployment {NS}/web already has 3 replicas")
    plan = await plan_scale(scale_api(), "deployments", NS, "web", "0")
    assert plan.preview.warnings == (f"scaling to 0 stops every pod of deployment {NS}/web",)


async def test_refusals():
    api = FakeAPI()
    plan = await plan_scale(api, "daemonsets", NS, "agent", "2")
    assert plan.preview.blocked == "scale is not supported for daemonsets (only deployments, statefulsets)"
    assert api.calls == [] and not (await plan.apply(api)).ok and api.mutations == []
    plan = await plan_scale(api, "deployments", NS, "gone", "2")
    assert "HTTP 404" in plan.preview.blocked and api.mutations == []


async def test_read_only_is_a_failed_outcome():
    api = scale_api()
    plan = await plan_scale(api, "deployments", NS, "web", "4")
    api.fail = ReadOnlyError("context prod is read-only: PATCH not sent")
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == "context prod is read-only: PATCH not sent"
