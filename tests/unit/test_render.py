"""Pod/node/event cells: kubectl's STATUS logic, ages, sort keys, styles and inert text."""
from __future__ import annotations

import msgspec
import pytest

from ecotui.kube.models import Event, Node, Pod
from ecotui.kube.render import (EVENT_COLUMNS, NODE_COLUMNS, POD_COLUMNS, event_cells, events_sorted,
                                human_age, node_cells, node_status, parse_time, pod_cells, pod_status,
                                pods_per_node)
from ecotui.textsafe import inert, one_line

NOW = parse_time("2024-05-01T12:00:00Z")
T0 = "2024-05-01T11:00:00Z"


def mkpod(containers=1, statuses=(), init=0, init_statuses=(), phase="Running", reason="", deleted=False,
          conditions=(), name="p", created=T0, node="", ip="") -> Pod:
    doc = {
        "metadata": {"name": name, "namespace": "ecotrack", "creationTimestamp": created},
        "spec": {"nodeName": node, "containers": [{"name": f"c{i}"} for i in range(containers)],
                 "initContainers": [{"name": f"i{i}"} for i in range(init)]},
        "status": {"phase": phase, "reason": reason, "podIP": ip, "conditions": list(conditions),
                   "containerStatuses": list(statuses), "initContainerStatuses": list(init_statuses)},
    }
    if deleted:
        doc["metadata"]["deletionTimestamp"] = "2024-05-01T11:59:00Z"
    return msgspec.convert(doc, Pod)


def running(ready=True, restarts=0, last_finished=None):
    cs = {"name": "c", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": T0}}}
    if last_finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_finished}}
    return cs


def waiting(reason):
    return {"name": "c", "state": {"waiting": {"reason": reason}}}


def terminated(reason="", exit_code=0, signal=0):
    return {"name": "c", "state": {"terminated": {"reason": reason, "exitCode": exit_code, "signal": signal}}}


READY_TRUE = {"type": "Ready", "status": "True"}
READY_FALSE = {"type": "Ready", "status": "False"}

STATUS_CASES = [
    ("running", mkpod(statuses=[running()]), "Running"),
    ("pending, nothing yet", mkpod(phase="Pending"), "Pending"),
    ("creating", mkpod(phase="Pending", statuses=[waiting("ContainerCreating")]), "ContainerCreating"),
    ("crashloop", mkpod(statuses=[waiting("CrashLoopBackOff")]), "CrashLoopBackOff"),
    ("image pull", mkpod(phase="Pending", statuses=[waiting("ImagePullBackOff")]), "ImagePullBackOff"),
    ("oom killed", mkpod(phase="Failed", statuses=[terminated("OOMKilled", 137)]), "OOMKilled"),
    ("signal, no reason", mkpod(phase="Failed", statuses=[terminated(signal=9)]), "Signal:9"),
    ("exit code, no reason", mkpod(phase="Failed", statuses=[terminated(exit_code=2)]), "ExitCode:2"),
    ("completed", mkpod(phase="Succeeded", statuses=[terminated("Completed")]), "Completed"),
    ("init progress", mkpod(phase="Pending", init=3, init_statuses=[terminated("Completed"), running()],
                            statuses=[waiting("PodInitializing")]), "Init:1/3"),
    ("init crashloop", mkpod(phase="Pending", init=1, init_statuses=[waiting("CrashLoopBackOff")]),
     "Init:CrashLoopBackOff"),
    ("init failed with reason", mkpod(phase="Pending", init=1, init_statuses=[terminated("Error", 1)]),
     "Init:Error"),
    ("init failed, exit code only", mkpod(phase="Pending", init=1, init_statuses=[terminated(exit_code=3)]),
     "Init:ExitCode:3"),
    ("init failed, signal only", mkpod(phase="Pending", init=1, init_statuses=[terminated(exit_code=1, signal=15)]),
     "Init:Signal:15"),
    ("init PodInitializing", mkpod(phase="Pending", init=2, init_statuses=[waiting("PodInitializing")]),
     "Init:0/2"),
    ("terminating", mkpod(statuses=[running()], deleted=True), "Terminating"),
    ("node lost", mkpod(statuses=[running()], deleted=True, reason="NodeLost"), "Unknown"),
    ("deleted but already succeeded", mkpod(phase="Succeeded", statuses=[terminated("Completed")], deleted=True),
     "Completed"),
    ("evicted", mkpod(phase="Failed", reason="Evicted"), "Evicted"),
    ("completed + running, not ready", mkpod(containers=2, statuses=[terminated("Completed"), running()],
                                             conditions=[READY_FALSE]), "NotReady"),
    ("completed + running, ready", mkpod(containers=2, statuses=[terminated("Completed"), running()],
                                         conditions=[READY_TRUE]), "Running"),
    ("scheduling gated", mkpod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False",
                                                             "reason": "SchedulingGated"}]), "SchedulingGated"),
    ("first container wins", mkpod(containers=2, statuses=[waiting("CrashLoopBackOff"), running()]),
     "CrashLoopBackOff"),
    ("second container's reason", mkpod(containers=2, statuses=[running(), waiting("ErrImagePull")]),
     "ErrImagePull"),
]


@pytest.mark.parametrize("label,pod,expected", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_pod_status_matches_kubectl(label, pod, expected):
    assert pod_status(pod) == expected


def cells(pod, now=NOW):
    return dict(zip([k for k, _ in POD_COLUMNS], pod_cells(pod, now)))


def test_pod_cells_ready_restarts_age_node_ip():
    pod = mkpod(containers=2, statuses=[running(restarts=3, last_finished="2024-05-01T11:55:00Z"),
                                        running(ready=False)], node="ip-10-0-1-2", ip="10.0.1.7")
    c = cells(pod)
    assert len(pod_cells(pod, NOW)) == len(POD_COLUMNS)
    assert c["ready"].text == "1/2"
    assert c["restarts"].text == "3 (5m ago)" and c["restarts"].sort == 3
    assert c["age"].text == "60m" and c["age"].sort == 3600
    assert c["node"].text == "ip-10-0-1-2" and c["ip"].text == "10.0.1.7"
    assert c["status"].text == "Running" and c["status"].style == "warning"   # running but not all ready


def test_pod_cells_defaults_when_unscheduled():
    c = cells(mkpod(phase="Pending", statuses=[running(restarts=2)]))
    assert c["restarts"].text == "2"          # no last termination known: no "(… ago)"
    assert c["node"].text == "<none>" and c["ip"].text == "<none>"


@pytest.mark.parametrize("status,style", [
    ("Running", "ok"), ("CrashLoopBackOff", "critical"), ("OOMKilled", "critical"), ("Pending", "warning"),
    ("Completed", "muted"), ("NotReady", "critical"), ("Init:1/3", "warning"), ("Init:Error", "critical"),
    ("Terminating", "warning"), ("Evicted", "critical"), ("ExitCode:2", "critical"),
])
def test_status_styles(status, style):
    from ecotui.kube.render import status_style
    assert status_style(status) == style


def test_sort_keys_are_numeric():
    pods = [mkpod(name="a", created="2024-05-01T11:58:30Z", statuses=[running(restarts=10)]),   # 90s
            mkpod(name="b", created="2024-05-01T11:50:00Z", statuses=[running(restarts=9)]),    # 10m
            mkpod(name="c", created="2024-05-01T10:00:00Z", statuses=[running(restarts=100)])]  # 2h
    rows = [cells(p) for p in pods]
    by_age = [r["name"].text for r in sorted(rows, key=lambda r: r["age"].sort)]
    assert by_age == ["a", "b", "c"]
    assert sorted(r["age"].text for r in rows) != [r["age"].text for r in sorted(rows, key=lambda r: r["age"].sort)]
    by_restarts = [r["name"].text for r in sorted(rows, key=lambda r: r["restarts"].sort)]
    assert by_restarts == ["b", "a", "c"]
    ready = [cells(mkpod(containers=n, statuses=[running()] * k)) for n, k in ((3, 1), (2, 2), (2, 0))]
    assert [r["ready"].text for r in sorted(ready, key=lambda r: r["ready"].sort)] == ["0/2", "1/3", "2/2"]
    ips = [cells(mkpod(ip=ip))["ip"] for ip in ("10.0.0.10", "10.0.0.9", "9.1.1.1")]
    assert [c.text for c in sorted(ips, key=lambda c: c.sort)] == ["9.1.1.1", "10.0.0.9", "10.0.0.10"]


@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (125, "2m5s"),
    (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (3 * 3600 + 120, "3h2m"),
    (8 * 3600 + 60, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (3 * 86400 + 4 * 3600, "3d4h"),
    (8 * 86400, "8d"), (400 * 86400, "400d"), (730 * 86400, "2y"), (733 * 86400, "2y3d"), (9 * 365 * 86400, "9y"),
])
def test_human_age_follows_kubectl(seconds, text):
    assert human_age(seconds) == text


def test_hostile_names_render_inert():
    c = cells(mkpod(name="evil\x1b[2J\x9b31m\u202e", node="n\x07"))
    assert "\x1b" not in c["name"].text and "\x9b" not in c["name"].text and "\u202e" not in c["name"].text
    assert c["name"].text == "evil\\x1b[2J\\x9b31m\\u202e"
    assert c["node"].text == "n\\x07"


def test_inert_and_one_line():
    assert inert("\x1b[2J") == "\\x1b[2J"
    assert "\x1b" not in inert("\x1b[2J")
    assert inert("plain text ünïcode") == "plain text ünïcode"
    assert inert("a\r\nb\tc\x00", multiline=True) == "a\nb   c\\x00"
    assert inert("a\nb\rc") == "a\\nb\\rc"
    assert one_line("  first\n second\x1b ") == "first second\\x1b"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"


# ---- nodes ----------------------------------------------------------------------------------------

def mknode(ready="True", unschedulable=False, labels=None, conditions=(), name="n1") -> Node:
    conds = ([{"type": "Ready", "status": ready}] if ready else []) + list(conditions)
    return msgspec.convert({
        "metadata": {"name": name, "creationTimestamp": "2024-04-01T12:00:00Z", "labels": labels or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": conds, "nodeInfo": {"kubeletVersion": "v1.30.2-eks-1552ad0"}},
    }, Node)


@pytest.mark.parametrize("node,status", [
    (mknode("True"), "Ready"), (mknode("False"), "NotReady"), (mknode("Unknown"), "NotReady"),
    (mknode(None), "Unknown"), (mknode("True", unschedulable=True), "Ready,SchedulingDisabled"),
    (mknode("False", unschedulable=True), "NotReady,SchedulingDisabled"),
])
def test_node_status(node, status):
    assert node_status(node) == status


def ncells(node, pods=0):
    return dict(zip([k for k, _ in NODE_COLUMNS], node_cells(node, pods, NOW)))


def test_node_cells_labels_and_fallbacks():
    eks = ncells(mknode(labels={"eks.amazonaws.com/nodegroup": "ng-general", "topology.kubernetes.io/zone":
                                "eu-west-1a", "node.kubernetes.io/instance-type": "m6i.large"}), pods=17)
    assert (eks["nodegroup"].text, eks["zone"].text, eks["instance"].text) == ("ng-general", "eu-west-1a", "m6i.large")
    assert eks["version"].text == "v1.30.2-eks-1552ad0"
    assert eks["age"].text == "30d" and eks["pods"].text == "17" and eks["pods"].sort == 17
    assert eks["status"].style == "ok" and eks["pressure"].text == "-"
    eksctl = ncells(mknode(labels={"alpha.eksctl.io/nodegroup-name": "ng-2", "beta.kubernetes.io/instance-type": "t3.small"}))
    assert (eksctl["nodegroup"].text, eksctl["instance"].text) == ("ng-2", "t3.small")
    karp = ncells(mknode(labels={"karpenter.sh/nodepool": "default"}))
    assert karp["nodegroup"].text == "default" and karp["zone"].text == "-"


def test_node_pressure_and_styles():
    c = ncells(mknode("True", unschedulable=True, conditions=[
        {"type": "MemoryPressure", "status": "True"}, {"type": "DiskPressure", "status": "False"},
        {"type": "PIDPressure", "status": "True"}]))
    assert c["pressure"].text == "MemoryPressure,PIDPressure" and c["pressure"].style == "critical"
    assert c["status"].style == "warning"
    assert ncells(mknode("False"))["status"].style == "critical"


def test_pods_per_node_skips_finished_pods():
    pods = [mkpod(node="a"), mkpod(node="a"), mkpod(node="b"), mkpod(node="a", phase="Succeeded"),
            mkpod(node="b", phase="Failed"), mkpod(node="")]
    assert pods_per_node(pods) == {"a": 2, "b": 1}


# ---- events ---------------------------------------------------------------------------------------

def mkevent(type_="Normal", reason="Pulled", last=None, first=None, event_time=None, series=None, count=0,
            message="ok", name="web-1") -> Event:
    doc = {"metadata": {"namespace": "ecotrack", "creationTimestamp": "2024-05-01T10:00:00Z"},
           "involvedObject": {"kind": "Pod", "name": name, "namespace": "ecotrack"},
           "type": type_, "reason": reason, "message": message, "count": count,
           "lastTimestamp": last, "firstTimestamp": first, "eventTime": event_time}
    if series:
        doc["series"] = series
    return msgspec.convert(doc, Event)


def ecells(ev):
    return dict(zip([k for k, _ in EVENT_COLUMNS], event_cells(ev, NOW)))


def test_event_cells():
    c = ecells(mkevent("Warning", "BackOff", last="2024-05-01T11:58:00Z", count=7,
                       message="Back-off restarting\nfailed container \x1b]0;pwned\x07"))
    assert len(event_cells(mkevent(), NOW)) == len(EVENT_COLUMNS)
    assert c["last_seen"].text == "2m" and c["last_seen"].sort == 120
    assert c["type"].style == "warning" and c["reason"].text == "BackOff"
    assert c["object"].text == "pod/web-1" and c["count"].text == "7" and c["namespace"].text == "ecotrack"
    assert c["message"].text == "Back-off restarting failed container \\x1b]0;pwned\\x07"
    assert "\n" not in c["message"].text and "\x1b" not in c["message"].text


def test_event_time_sources():
    assert ecells(mkevent(event_time="2024-05-01T11:59:00.123456Z"))["last_seen"].text == "59s"
    s = ecells(mkevent(event_time="2024-05-01T11:00:00.000000Z",
                       series={"count": 4, "lastObservedTime": "2024-05-01T11:59:30.000000Z"}))
    assert s["last_seen"].text == "30s" and s["count"].text == "4"
    assert ecells(mkevent(first="2024-05-01T11:30:00Z"))["last_seen"].text == "30m"
    assert ecells(mkevent())["count"].text == "1"          # singleton events have no count


def test_events_sorted_warnings_first_then_newest():
    evs = [mkevent("Normal", "A", last="2024-05-01T11:59:00Z"), mkevent("Warning", "B", last="2024-05-01T11:00:00Z"),
           mkevent("Warning", "C", last="2024-05-01T11:50:00Z"), mkevent("Normal", "D", last="2024-05-01T11:10:00Z")]
    assert [e.reason for e in events_sorted(evs)] == ["C", "B", "A", "D"]


def test_restart_style_depends_on_count_and_recency():
    recent = cells(mkpod(statuses=[running(restarts=6, last_finished="2024-05-01T11:50:00Z")]))["restarts"]
    few = cells(mkpod(statuses=[running(restarts=1, last_finished="2024-05-01T11:50:00Z")]))["restarts"]
    old = cells(mkpod(statuses=[running(restarts=6, last_finished="2024-04-20T11:50:00Z")]))["restarts"]
    none = cells(mkpod(statuses=[running()]))["restarts"]
    assert (recent.style, few.style, old.style, none.style) == ("critical", "warning", "", "")
    assert old.text == "6 (11d ago)"
