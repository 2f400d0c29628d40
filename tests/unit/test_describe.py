"""kubectl-describe-like text for pods and nodes."""
from __future__ import annotations

import msgspec
import pytest

from ecotui.kube.describe import describe_node, describe_pod, fmt_time, parse_quantity, pod_requests
from ecotui.kube.models import Event, NodeDetail, Pod, PodDetail
from ecotui.kube.render import parse_time

NOW = parse_time("2024-05-01T12:00:00Z")


def order_pod(name="order-service-7d9f-x2k", node="ip-10-0-1-12.eu-west-1.compute.internal", phase="Running"):
    return msgspec.convert({
        "metadata": {"name": name, "namespace": "ecotrack", "uid": f"uid-{name}",
                     "creationTimestamp": "2024-05-01T11:00:00Z",
                     "labels": {"app": "order-service", "pod-template-hash": "7d9f"},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "order-service-7d9f", "controller": True}]},
        "spec": {"nodeName": node, "serviceAccountName": "order-sa",
                 "containers": [{"name": "app", "image": "ecotrack/order-service:1.4.2",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                                 "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                               "limits": {"cpu": "1", "memory": "512Mi"}}}]},
        "status": {"phase": phase, "podIP": "10.0.1.45", "hostIP": "10.0.1.12", "qosClass": "Burstable",
                   "startTime": "2024-05-01T11:00:02Z",
                   "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False"}],
                   "containerStatuses": [{
                       "name": "app", "ready": False, "restartCount": 4,
                       "state": {"waiting": {"reason": "CrashLoopBackOff",
                                             "message": "back-off 1m20s restarting failed container"}},
                       "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                    "startedAt": "2024-05-01T11:57:00Z",
                                                    "finishedAt": "2024-05-01T11:58:10Z"}}}]},
    }, PodDetail)


def event(name, reason, message, type_="Warning", count=1, first="2024-05-01T11:40:00Z", last="2024-05-01T11:58:00Z"):
    return msgspec.convert({
        "metadata": {"namespace": "ecotrack"},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": "ecotrack", "uid": f"uid-{name}"},
        "type": type_, "reason": reason, "message": message, "count": count,
        "firstTimestamp": first, "lastTimestamp": last, "source": {"component": "kubelet"},
    }, Event)


def field(text, label):
    for line in text.splitlines():
        if line.startswith(label + ":"):
            return line[len(label) + 1:].strip()
    raise AssertionError(f"no {label!r} line in:\n{text}")


def test_describe_pod_fields_and_container_states():
    text = describe_pod(order_pod(), [], NOW)
    assert field(text, "Name") == "order-service-7d9f-x2k"
    assert field(text, "Namespace") == "ecotrack"
    assert field(text, "Node") == "ip-10-0-1-12.eu-west-1.compute.internal/10.0.1.12"
    assert field(text, "Start Time") == "Wed, 01 May 2024 11:00:02 +0000"
    assert field(text, "Status") == "Running"
    assert field(text, "IP") == "10.0.1.45"
    assert field(text, "Controlled By") == "ReplicaSet/order-service-7d9f"
    assert field(text, "QoS Class") == "Burstable"
    lines = text.splitlines()
    labels_at = next(i for i, line in enumerate(lines) if line.startswith("Labels:"))
    assert lines[labels_at].endswith("app=order-service") and lines[labels_at + 1].strip() == "pod-template-hash=7d9f"
    body = "\n".join(line.strip() for line in lines)
    for expected in ("Image:            ecotrack/order-service:1.4.2", "Port:             8080/TCP (http)",
                     "State:            Waiting", "Reason:         CrashLoopBackOff",
                     "Last State:       Terminated", "Reason:         OOMKilled", "Exit Code:      137",
                     "Finished:       Wed, 01 May 2024 11:58:10 +0000", "Ready:            False",
                     "Restart Count:    4", "cpu:     250m", "memory:  512Mi"):
        assert expected in body, expected
    assert body.index("Limits:") < body.index("Requests:")
    cond_at = lines.index("Conditions:")
    assert lines[cond_at + 1].split() == ["Type", "Status"] and lines[cond_at + 3].split() == ["Ready", "False"]
    assert lines[-1] == "Events:  <none>"


def test_describe_pod_events_only_for_this_pod_with_repeat_counts():
    evs = [event("order-service-7d9f-x2k", "BackOff", "Back-off restarting failed container", count=6),
           event("other-pod", "Failed", "should not show"),
           event("order-service-7d9f-x2k", "Pulled", "Container image pulled", type_="Normal",
                 first="2024-05-01T11:00:05Z", last="2024-05-01T11:00:05Z")]
    text = describe_pod(order_pod(), evs, NOW)
    tail = text.split("Events:\n", 1)[1].splitlines()
    assert tail[0].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert "should not show" not in text
    assert tail[2].split()[:3] == ["Normal", "Pulled", "59m"]              # oldest first, like kubectl
    assert "2m (x6 over 20m)" in tail[3] and tail[3].split()[:2] == ["Warning", "BackOff"]


def test_describe_pod_escapes_hostile_bytes():
    evs = [event("order-service-7d9f-x2k", "BackOff", "boom\x1b[2J\x1b]0;title\x07")]
    text = describe_pod(order_pod(name="order-service-7d9f-x2k"), evs, NOW)
    bad = order_pod(name="x\x1b[31mred")
    text2 = describe_pod(bad, [], NOW)
    for t in (text, text2):
        assert "\x1b" not in t and "\x07" not in t
    assert "boom\\x1b[2J\\x1b]0;title\\x07" in text
    assert field(text2, "Name") == "x\\x1b[31mred"


def test_describe_terminating_pod_and_kubectl_status_line():
    pod = msgspec.convert({"metadata": {"name": "p", "namespace": "n", "deletionTimestamp": "2024-05-01T11:55:00Z"},
                           "spec": {"containers": [{"name": "c"}]},
                           "status": {"phase": "Running"}}, PodDetail)
    text = describe_pod(pod, [], NOW)
    assert field(text, "Status") == "Terminating (since 5m)"
    assert field(text, "Pod Status").startswith("Terminating")


def make_node(unschedulable=True):
    return msgspec.convert({
        "metadata": {"name": "ip-10-0-1-12.eu-west-1.compute.internal", "creationTimestamp": "2024-04-01T00:00:00Z",
                     "labels": {"eks.amazonaws.com/nodegroup": "ng-general", "node-role.kubernetes.io/worker": ""}},
        "spec": {"unschedulable": unschedulable, "providerID": "aws:///eu-west-1a/i-0abc",
                 "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                            {"key": "dedicated", "value": "payments", "effect": "NoExecute"}]},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                                  {"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status",
                                   "lastHeartbeatTime": "2024-05-01T11:59:00Z"}],
                   "capacity": {"cpu": "2", "memory": "8Gi", "pods": "29"},
                   "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "29"},
                   "addresses": [{"type": "InternalIP", "address": "10.0.1.12"}],
                   "nodeInfo": {"kubeletVersion": "v1.30.2-eks-1552ad0", "osImage": "Amazon Linux 2023",
                                "kernelVersion": "6.1.90", "containerRuntimeVersion": "containerd://1.7.11",
                                "architecture": "amd64"}},
    }, NodeDetail)


def test_describe_node():
    pods = [order_pod(), order_pod(name="order-service-7d9f-abc"),
            order_pod(name="done-job", phase="Succeeded"), order_pod(name="elsewhere", node="other-node")]
    text = describe_node(make_node(), pods, NOW)
    assert field(text, "Status") == "Ready,SchedulingDisabled"
    assert field(text, "Roles") == "worker"
    assert field(text, "Unschedulable") == "true"
    lines = text.splitlines()
    taints_at = next(i for i, line in enumerate(lines) if line.startswith("Taints:"))
    assert lines[taints_at].endswith("node.kubernetes.io/unschedulable:NoSchedule")
    assert lines[taints_at + 1].strip() == "dedicated=payments:NoExecute"
    assert any(line.split()[:3] == ["Ready", "True", "Wed,"] for line in lines)
    assert "Kubelet Version:" in text and "v1.30.2-eks-1552ad0" in text and "containerd://1.7.11" in text
    assert "Non-terminated Pods:  (2 in total)" in text
    assert "done-job" not in text and "elsewhere" not in text
    row = next(line for line in lines if "order-service-7d9f-abc" in line).split()
    assert row[:8] == ["ecotrack", "order-service-7d9f-abc", "250m", "(12%)", "1", "(50%)", "256Mi", "(6%)"]
    alloc = lines[lines.index("Allocated resources:") + 3].split()
    assert alloc == ["cpu", "500m", "(25%)", "2", "(100%)"]
    mem = lines[lines.index("Allocated resources:") + 4].split()
    assert mem == ["memory", "512Mi", "(12%)", "1Gi", "(25%)"]


@pytest.mark.parametrize("q,value", [
    ("250m", 0.25), ("2", 2.0), ("1.5", 1.5), ("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1k", 1000.0),
    ("1e3", 1000.0), ("500M", 5e8), ("100n", 1e-7), ("abc", None), ("", None), ("1Xi", None),
])
def test_parse_quantity(q, value):
    assert parse_quantity(q) == (pytest.approx(value) if value is not None else None)


def test_pod_requests_take_largest_init_container():
    pod = msgspec.convert({"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}},
                       {"name": "b", "resources": {"requests": {"cpu": "200m", "memory": "64Mi"}}}],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "500m", "memory": "32Mi"}}}]}}, PodDetail)
    req, lim = pod_requests(pod)
    assert req["cpu"] == pytest.approx(0.5) and req["memory"] == 64 * 2**20 and lim == {}


def test_fmt_time():
    assert fmt_time("2024-02-29T23:05:09Z") == "Thu, 29 Feb 2024 23:05:09 +0000"
    assert fmt_time(None) == "<none>" and fmt_time("garbage") == "<unknown>"


def test_describe_pod_tolerations_and_node_selectors_like_kubectl():
    pod = msgspec.convert({"metadata": {"name": "p", "namespace": "n"},
                           "spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [
                               {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300},
                               {"key": "dedicated", "operator": "Equal", "value": "pay", "effect": "NoSchedule"},
                               {"operator": "Exists"}]}}, PodDetail)
    text = describe_pod(pod, [], NOW)
    assert field(text, "Node-Selectors") == "kubernetes.io/os=linux"
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Tolerations:"))
    assert [line.strip() for line in lines[at:at + 3]] == [
        "Tolerations:      node.kubernetes.io/unreachable:NoExecute op=Exists for 300s",
        "dedicated=pay:NoSchedule", "op=Exists"]


def test_describe_accepts_a_cached_struct_and_node_events():
    cached = msgspec.convert(msgspec.to_builtins(order_pod()), Pod)      # what the informer keeps
    text = describe_pod(cached, [], NOW)
    assert field(text, "Name") == "order-service-7d9f-x2k" and "CrashLoopBackOff" in text
    assert field(text, "Annotations") == "<none>"                          # not cached: shown empty
    node = msgspec.convert({"metadata": {"name": "n1"}}, NodeDetail)
    ev = msgspec.convert({"metadata": {"namespace": "default"}, "involvedObject": {"kind": "Node", "name": "n1"},
                          "type": "Warning", "reason": "NodeNotReady", "message": "kubelet stopped posting",
                          "lastTimestamp": "2024-05-01T11:58:00Z"}, Event)
    text = describe_node(node, [], NOW, [ev])
    assert "NodeNotReady" in text and "kubelet stopped posting" in text
    assert "Events:" not in describe_node(node, [], NOW)
