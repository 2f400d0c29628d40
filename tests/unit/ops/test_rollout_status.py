"""rollout_status (kubectl rollout status's messages, plus replicas and conditions; ProgressDeadlineExceeded
named stuck) and rollout_history (revisions from ReplicaSets / ControllerRevisions, oldest first)."""
from __future__ import annotations

import pytest
from test_rollout_fakes import APPS, NS, FakeAPI, deployment, replicaset, revision, template, workload

from ecotui.errors import EcotuiError
from ecotui.ops.rollout import Revision, rollout_history, rollout_status


def dep_status(generation: int = 3, observed: int = 3, replicas: int = 2, **st):
    d = deployment(**st)
    d["metadata"]["generation"], d["status"]["observedGeneration"], d["spec"]["replicas"] = (
        generation, observed, replicas)
    return d


async def status_of(kind: str, obj) -> object:
    path = f"{APPS}/{kind}/{obj['metadata']['name']}"
    return await rollout_status(FakeAPI({path: obj}), kind, NS, obj["metadata"]["name"])


@pytest.mark.parametrize("obj, message, done", [
    (dep_status(generation=4), "Waiting for deployment spec update to be observed...", False),
    (dep_status(updatedReplicas=1, replicas=2),
     'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...', False),
    (dep_status(**{"updatedReplicas": 2}) | {"status": {"observedGeneration": 3, "replicas": 3,
                                                        "updatedReplicas": 2}},
     'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False),
    (dep_status(updatedReplicas=2, replicas=2, availableReplicas=1),
     'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...', False),
    (dep_status(updatedReplicas=2, replicas=2, availableReplicas=2, readyReplicas=2),
     'deployment "web" successfully rolled out', True),
])
async def test_deployment_messages_are_kubectls(obj, message, done):
    st = await status_of("deployments", obj)
    assert st.message == message and st.lines[0] == message and st.done is done and not st.stuck


async def test_progress_deadline_exceeded_is_stuck_with_replicas_and_conditions():
    d = dep_status(replicas=3, updatedReplicas=1, readyReplicas=2, availableReplicas=2, unavailableReplicas=1,
                   conditions=[{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                "message": "Deployment has minimum availability."},
                               {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": 'ReplicaSet "web-abc" has timed out progressing.'}])
    d["spec"]["replicas"] = 3
    st = await status_of("deployments", d)
    assert st.stuck and not st.done
    assert st.lines == ('deployment "web" exceeded its progress deadline',
                        "replicas: 3 desired, 1 updated, 2 ready, 2 available, 1 unavailable",
                        "condition Available=True (MinimumReplicasAvailable): Deployment has minimum availability.",
                        "condition Progressing=False (ProgressDeadlineExceeded): ReplicaSet \"web-abc\" has timed "
                        "out progressing.")


async def test_paused_is_said():
    st = await status_of("deployments", deployment(paused=True, replicas=2, updatedReplicas=0))
    assert "paused: template changes are not rolled out until it is resumed (rollout resume)" in st.lines


@pytest.mark.parametrize("status, message, done", [
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 1},
     'Waiting for daemon set "db" rollout to finish: 1 out of 3 new pods have been updated...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
     'Waiting for daemon set "db" rollout to finish: 2 of 3 updated pods are available...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 3},
     'daemon set "db" successfully rolled out', True),
])
async def test_daemonset_messages(status, message, done):
    st = await status_of("daemonsets", workload("DaemonSet", **status))
    assert (st.message, st.done) == (message, done)
    assert st.lines[1].startswith("pods: 3 desired")


async def test_statefulset_messages():
    sts = workload("StatefulSet", readyReplicas=0)
    assert (await status_of("statefulsets", sts)).message == "Waiting for 1 pods to be ready..."
    sts = workload("StatefulSet", readyReplicas=1, updatedReplicas=1, currentReplicas=1,
                   currentRevision="db-r1", updateRevision="db-r2")
    st = await status_of("statefulsets", sts)
    assert st.message == "waiting for statefulset rolling update to complete 1 pods at revision db-r2..."
    sts["status"]["currentRevision"] = "db-r2"
    st = await status_of("statefulsets", sts)
    assert st.message == "statefulset rolling update complete 1 pods at revision db-r2..." and st.done
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    sts["status"]["updatedReplicas"] = 0
    assert (await status_of("statefulsets", sts)).message == (
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...")
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    st = await status_of("statefulsets", sts)
    assert st.message == "rollout status is only available for RollingUpdate strategy type" and st.done
    sts["status"]["observedGeneration"] = 0
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    assert (await status_of("statefulsets", sts)).message == "Waiting for statefulset spec update to be observed..."


async def test_unsupported_kind_raises_an_ecotui_error():
    with pytest.raises(EcotuiError, match="not supported for pods"):
        await rollout_status(FakeAPI(), "pods", NS, "x")
    with pytest.raises(EcotuiError, match="HTTP 404"):
        await rollout_history(FakeAPI(), "deployments", NS, "x")


async def test_deployment_history_oldest_first_with_causes_images_and_current():
    t1, t3 = template("shop/web:1"), template("shop/web:3")
    t3["spec"]["initContainers"] = [{"name": "migrate", "image": "shop/migrate:3"}]
    d = deployment(tmpl=t3, revision=3)
    rss = [replicaset(d, 3, t3, "h3", {"kubernetes.io/change-cause": "set web:3"}),
           replicaset(d, 1, t1, "h1"),
           replicaset(d, 9, t1, "h9", uid="other"),
           {**replicaset(d, 4, t1, "bad"), "metadata": {**replicaset(d, 4, t1, "bad")["metadata"],
                                                        "annotations": {"deployment.kubernetes.io/revision": "x"}}}]
    api = FakeAPI({f"{APPS}/deployments/web": d}, {f"{APPS}/replicasets": rss})
    revs = await rollout_history(api, "deployments", NS, "web")
    assert revs == (Revision(1, "", ("shop/web:1",), "2026-01-01T00:00:00Z", False),
                    Revision(3, "set web:3", ("shop/migrate:3", "shop/web:3"), "2026-01-03T00:00:00Z", True))


async def test_controller_revision_history():
    t1, t2 = template("shop/db:1", labels={"app": "db"}), template("shop/db:2", labels={"app": "db"})
    sts = workload("StatefulSet", tmpl=t1, updateRevision="db-r3")
    crs = [revision(sts, 2, t2, "set db:2"), revision(sts, 3, t1, "create db:1")]
    api = FakeAPI({f"{APPS}/statefulsets/db": sts}, {f"{APPS}/controllerrevisions": crs})
    revs = await rollout_history(api, "statefulsets", NS, "db")
    assert [(r.number, r.change_cause, r.images, r.current) for r in revs] == [
        (2, "set db:2", ("shop/db:2",), False), (3, "create db:1", ("shop/db:1",), True)]
    ds = workload("DaemonSet", tmpl=t1)
    api = FakeAPI({f"{APPS}/daemonsets/db": ds}, {f"{APPS}/controllerrevisions": crs})
    assert [r.current for r in await rollout_history(api, "daemonsets", NS, "db")] == [False, True]
