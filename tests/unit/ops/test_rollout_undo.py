"""plan_undo against a fake KubeAPI: kubectl's requests (JSON patch of /spec/template and /metadata/annotations
for Deployments, strategic merge of the ControllerRevision's data for StatefulSets and DaemonSets), the
revision it picks, its refusals (kubectl's words), and API errors as failed Outcomes."""
from __future__ import annotations

import copy

import pytest
from test_rollout_fakes import APPS, NS, FakeAPI, deployment, replicaset, revision, template, workload

from ecotui.errors import ConnectError, ForbiddenError, ReadOnlyError
from ecotui.kube.client import HttpStatusError
from ecotui.ops.api import JSON_PATCH, STRATEGIC
from ecotui.ops.rollout import UndoPlan, plan_undo

V1, V2, V3 = template("shop/web:1", "1"), template("shop/web:2", "2"), template("shop/web:3", "3")


def deploy_api(dep=None, rss=None) -> FakeAPI:
    dep = dep or deployment(tmpl=V2, revision=2, annotations={
        "kubectl.kubernetes.io/last-applied-configuration": "{applied}", "team": "payments",
        "kubernetes.io/change-cause": "set web:2"})
    if rss is None:
        rss = [replicaset(dep, 1, V1, "h1", {"kubernetes.io/change-cause": "create web:1", "note": "v1",
                                              "deployment.kubernetes.io/desired-replicas": "2",
                                              "deployment.kubernetes.io/max-replicas": "3"}),
               replicaset(dep, 2, V2, "h2", {"kubernetes.io/change-cause": "set web:2"})]
    return FakeAPI({f"{APPS}/deployments/web": dep}, {f"{APPS}/replicasets": rss})


async def test_deployment_undo_is_kubectls_json_patch():
    api = deploy_api()
    plan = await plan_undo(api, "deployments", NS, "web")
    assert isinstance(plan, UndoPlan)
    assert plan.preview.blocked == "" and plan.preview.params == {"to_revision": 1, "from_revision": 2}
    assert plan.preview.action == "rollout_undo" and str(plan.preview.targets[0]) == f"deployments/{NS}/web"
    assert api.calls == [("GET", f"{APPS}/deployments/web", None, None, None),
                         ("LIST", f"{APPS}/replicasets", {"labelSelector": "app=web"}, None, None)]
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"deployment {NS}/web rolled back to revision 1"
    # rs template without pod-template-hash; the skip-list kept from the deployment, the rest from the RS
    assert api.mutations == [("PATCH", f"{APPS}/deployments/web", None, [
        {"op": "replace", "path": "/spec/template", "value": V1},
        {"op": "replace", "path": "/metadata/annotations", "value": {
            "kubectl.kubernetes.io/last-applied-configuration": "{applied}",
            "deployment.kubernetes.io/revision": "2",
            "kubernetes.io/change-cause": "create web:1", "note": "v1"}}], JSON_PATCH)]


async def test_deployment_undo_previews_the_template_diff():
    plan = await plan_undo(deploy_api(), "deployments", NS, "web")
    assert plan.preview.lines == ("- container app image: shop/web:2", "+ container app image: shop/web:1",
                                  "- container app env LEVEL: 2", "+ container app env LEVEL: 1")


async def test_only_replicasets_the_deployment_controls_count():
    dep = deployment(tmpl=V2, revision=2)
    rss = [replicaset(dep, 1, V1, "h1"), replicaset(dep, 2, V2, "h2"),
           replicaset(dep, 7, V3, "h7", uid="someone-else"),   # same labels, another owner
           {**replicaset(dep, 5, V3, "h5"), "metadata": {**replicaset(dep, 5, V3, "h5")["metadata"],
                                                         "ownerReferences": []}}]
    plan = await plan_undo(deploy_api(dep, rss), "deployments", NS, "web")
    assert plan.preview.params["to_revision"] == 1


async def test_to_revision_picks_that_revision_and_zero_the_second_newest():
    dep = deployment(tmpl=V3, revision=3)
    rss = [replicaset(dep, 3, V3, "h3"), replicaset(dep, 1, V1, "h1"), replicaset(dep, 2, V2, "h2")]
    assert (await plan_undo(deploy_api(dep, rss), "deployments", NS, "web")).preview.params["to_revision"] == 2
    plan = await plan_undo(deploy_api(dep, rss), "deployments", NS, "web", to_revision=1)
    assert plan.preview.params["to_revision"] == 1 and "+ container app image: shop/web:1" in plan.preview.lines


@pytest.mark.parametrize("to, why", [
    (9, "unable to find specified revision 9 in history"),
    (-1, "unable to find specified revision -1 in history"),
    (2, "skipped rollback (current template already matches revision 2)"),
])
async def test_refusals_send_nothing(to, why):
    api = deploy_api()
    plan = await plan_undo(api, "deployments", NS, "web", to_revision=to)
    assert plan.preview.blocked == why and plan.preview.lines == ()
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == why and api.mutations == []


async def test_no_previous_revision():
    dep = deployment(tmpl=V1, revision=1)
    plan = await plan_undo(deploy_api(dep, [replicaset(dep, 1, V1)]), "deployments", NS, "web")
    assert plan.preview.blocked == ('no rollout history found for deployment "web": there is no previous '
                                    "revision to roll back to")
    plan = await plan_undo(deploy_api(dep, []), "deployments", NS, "web")
    assert plan.preview.blocked.startswith("no rollout history found")


async def test_paused_deployment_is_refused():
    api = deploy_api(deployment(tmpl=V2, paused=True))
    plan = await plan_undo(api, "deployments", NS, "web")
    assert plan.preview.blocked == ("you cannot rollback a paused deployment; resume it first with "
                                    "'kubectl rollout resume' and try again")
    assert not (await plan.apply(api)).ok and api.mutations == []


async def test_template_equal_but_for_the_hash_and_empty_fields_is_skipped():
    tmpl = copy.deepcopy(V1)
    tmpl["metadata"]["annotations"] = {}
    tmpl["metadata"]["creationTimestamp"] = None
    dep = deployment(tmpl=tmpl, revision=3)
    rss = [replicaset(dep, 1, V1, "h1"), replicaset(dep, 3, V1, "h3")]
    plan = await plan_undo(deploy_api(dep, rss), "deployments", NS, "web", to_revision=1)
    assert plan.preview.blocked == "skipped rollback (current template already matches revision 1)"


async def test_selector_with_match_expressions():
    dep = deployment(tmpl=V2)
    dep["spec"]["selector"] = {"matchLabels": {"tier": "web", "app": "web"},
                               "matchExpressions": [{"key": "track", "operator": "In", "values": ["b", "a"]},
                                                    {"key": "canary", "operator": "DoesNotExist"}]}
    api = deploy_api(dep)
    await plan_undo(api, "deployments", NS, "web")
    assert api.calls[1][2] == {"labelSelector": "app=web,!canary,tier=web,track in (a,b)"}


@pytest.mark.parametrize("error", [
    ForbiddenError("https://127.0.0.1: forbidden: deployments.apps \"web\" is forbidden"),
    ReadOnlyError("read-only context: PATCH refused"),
    HttpStatusError("https://127.0.0.1: PATCH failed with HTTP 409: conflict", status=409),
    ConnectError("connection to https://127.0.0.1 refused"),
])
async def test_api_errors_become_failed_outcomes(error):
    api = deploy_api()
    plan = await plan_undo(api, "deployments", NS, "web")
    api.fail = error
    outcome = await plan.apply(api)
    assert not outcome.ok and outcome.message == error.message and outcome.action == "rollout_undo"


async def test_get_errors_block_the_plan():
    plan = await plan_undo(FakeAPI(), "deployments", NS, "gone")
    assert "HTTP 404" in plan.preview.blocked
    api = deploy_api()
    api.get_fail[f"{APPS}/deployments/web"] = ForbiddenError("forbidden: get deployments")
    assert (await plan_undo(api, "deployments", NS, "web")).preview.blocked == "forbidden: get deployments"


async def test_unsupported_kind():
    api = FakeAPI()
    plan = await plan_undo(api, "pods", NS, "web")
    assert "not supported for pods" in plan.preview.blocked and api.calls == []


@pytest.mark.parametrize("kind, kid", [("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")])
async def test_controller_revision_undo_is_a_strategic_merge_of_its_data(kind, kid):
    t1, t2 = template("shop/db:1", "1", {"app": "db"}), template("shop/db:2", "2", {"app": "db"})
    obj = workload(kind, tmpl=t2)
    crs = [revision(obj, 2, t2), revision(obj, 1, t1),
           {**revision(obj, 3, t1), "metadata": {"name": "db-other", "ownerReferences": [{"uid": "x",
                                                                                         "controller": True}]}}]
    api = FakeAPI({f"{APPS}/{kid}/db": obj}, {f"{APPS}/controllerrevisions": crs})
    plan = await plan_undo(api, kid, NS, "db")
    assert api.calls[1] == ("LIST", f"{APPS}/controllerrevisions", {"labelSelector": "app=db"}, None, None)
    assert plan.preview.params["to_revision"] == 1
    assert plan.preview.lines[:2] == ("- container app image: shop/db:2", "+ container app image: shop/db:1")
    outcome = await plan.apply(api)
    assert outcome.ok and outcome.message == f"{kind.lower()} {NS}/db rolled back to revision 1"
    assert api.mutations == [("PATCH", f"{APPS}/{kid}/db", None, crs[1]["data"], STRATEGIC)]
    assert api.mutations[0][3]["spec"]["template"]["$patch"] == "replace"


async def test_controller_revision_refusals():
    t1 = template("shop/db:1", "1", {"app": "db"})
    obj = workload("StatefulSet", tmpl=t1)
    api = FakeAPI({f"{APPS}/statefulsets/db": obj}, {f"{APPS}/controllerrevisions": [revision(obj, 1, t1)]})
    assert (await plan_undo(api, "statefulsets", NS, "db")).preview.blocked == (
        'no rollout history found for statefulset "db": no last revision to roll back to')
    assert (await plan_undo(api, "statefulsets", NS, "db", 1)).preview.blocked == (
        "skipped rollback (current template already matches revision 1)")
    assert (await plan_undo(api, "statefulsets", NS, "db", 4)).preview.blocked == (
        "unable to find specified revision 4 in history")
    assert api.mutations == []


async def test_a_replicaset_without_revision_counts_as_revision_zero_like_kubectl():
    dep = deployment(tmpl=V2, revision=2)
    old = replicaset(dep, 0, V1, "h0")
    del old["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    plan = await plan_undo(deploy_api(dep, [old, replicaset(dep, 2, V2, "h2")]), "deployments", NS, "web")
    assert plan.preview.blocked == "" and plan.preview.params["to_revision"] == 0
