"""The KWOK configuration: which stages drive nodes and pods, and what the fake kubelet serves.

Upstream stage and metric definitions are loaded from the kwok module we build against (in the Go
module cache); the testbed adds its own crash-loop stage and the logs / port-forward / exec wiring.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from . import prevlogs, ports, scenario, versions

SERVICES = ["user-service", "product-service", "order-service", "payment-service", "notification-service"]
SERVICE_PORTS = scenario.SERVICE_PORTS  # each one's container port `http` -> that service's actuator listener
CRASHLOOP_LABEL = "ecotui.testbed/crashloop"

UPSTREAM = [
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
    "kustomize/metrics/resource/metrics-resource.yaml",
    "kustomize/metrics/usage/usage-from-annotation.yaml",
]

# A pod labelled for crash-looping: Running, not ready, waiting in CrashLoopBackOff with a
# restart count that grows each time the stage fires again (every ~10 s).
def _pod_stage(name: str, match: list[dict], delay_ms: int, jitter_ms: int, status_template: str) -> dict:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name},
        "spec": {"resourceRef": {"apiGroup": "v1", "kind": "Pod"}, "selector": {"matchExpressions": match},
                 "delay": {"durationMilliseconds": delay_ms, "jitterDurationMilliseconds": jitter_ms},
                 "next": {"statusTemplate": status_template}},
    }


CRASHLOOP_STAGE = _pod_stage(
    "ecotui-pod-crashloop",
    [{"key": f'.metadata.labels["{CRASHLOOP_LABEL}"]', "operator": "In", "values": ["true"]},
     {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}],
    8000, 4000, """\
{{ $now := Now }}
{{ $rc := 0 }}
{{ range .status.containerStatuses }}{{ $rc = .restartCount }}{{ end }}
conditions:
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: Initialized}
- {lastTransitionTime: {{ $now | Quote }}, status: "False", type: Ready, reason: ContainersNotReady}
- {lastTransitionTime: {{ $now | Quote }}, status: "False", type: ContainersReady, reason: ContainersNotReady}
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: PodScheduled}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: {{ add $rc 1 }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off 40s restarting failed container=%s" .name | Quote }}
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
{{ $hostIPs := NodeIPsWith .spec.nodeName }}
{{ with $hostIPs }}
hostIP: {{ index . 0 | Quote }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
{{ end }}
phase: Running
startTime: {{ or .status.startTime $now | Quote }}
""")


# What a kubelet does after its node was NotReady for a while: the node lifecycle controller marked
# the pods Ready=False; once the node is back, report them ready again. Upstream's pod-ready stage
# only handles Pending pods, so without this, pods stay unready forever after any control-plane blip.
POD_READY_AGAIN_STAGE = _pod_stage(
    "ecotui-pod-ready-again",
    [{"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
     {"key": f'.metadata.labels["{CRASHLOOP_LABEL}"]', "operator": "DoesNotExist"},
     {"key": ".status.phase", "operator": "In", "values": ["Running"]},
     {"key": '.status.conditions.[] | select( .type == "Ready" ) | .status', "operator": "NotIn", "values": ["True"]}],
    1000, 1000, """\
{{ $now := Now }}
conditions:
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: Initialized}
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: Ready}
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: ContainersReady}
- {lastTransitionTime: {{ $now | Quote }}, status: "True", type: PodScheduled}
containerStatuses:
{{ range .status.containerStatuses }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  started: true
  restartCount: {{ or .restartCount 0 }}
  state:
    running:
      startedAt: {{ or (and .state.running .state.running.startedAt) $now | Quote }}
{{ end }}
""")


def kwok_module_dir() -> Path:
    gomodcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    d = Path(gomodcache) / f"sigs.k8s.io/kwok@{versions.KWOK}"
    if not d.is_dir():
        subprocess.run(["go", "mod", "download", f"sigs.k8s.io/kwok@{versions.KWOK}"],
                       cwd=Path(__file__).parent / "gomod" / "k8s", check=True, capture_output=True)
    return d


def _upstream_docs() -> list[dict]:
    base = kwok_module_dir()
    docs: list[dict] = []
    for rel in UPSTREAM:
        for doc in yaml.safe_load_all((base / rel).read_text()):
            if not doc:
                continue
            if doc["kind"] == "Stage" and doc["metadata"]["name"] == "pod-ready":
                # leave crash-looping pods to our own stage
                doc["spec"]["selector"]["matchExpressions"].append(
                    {"key": f'.metadata.labels["{CRASHLOOP_LABEL}"]', "operator": "DoesNotExist"})
            docs.append(doc)
    return docs


def kwok_config(state: Path, pki: Path) -> list[dict]:
    logs = state / "logs"
    options = {
        "cidr": "10.244.0.0/16",
        "nodeIP": ports.HOST,
        "nodeName": "localhost",
        "nodePort": ports.KWOK,
        "serverAddress": f"{ports.HOST}:{ports.KWOK}",
        "tlsCertFile": str(pki / "server.crt"),
        "tlsPrivateKeyFile": str(pki / "server.key"),
        "manageNodesWithAnnotationSelector": "kwok.x-k8s.io/node=fake",
        "nodeLeaseDurationSeconds": 40,
        "nodeLeaseParallelism": 4,
        "nodePlayStageParallelism": 4,
        "podPlayStageParallelism": 8,
        "podsOnNodeSyncParallelism": 2,
        "enablePodsOnNodeSyncListPager": True,
        "enablePodsOnNodeSyncStreamWatch": False,
        "enableDebuggingHandlers": True,
        "enableContentionProfiling": False,
        "enableProfilingHandler": False,
        "manageAllNodes": False,
    }
    docs: list[dict] = [{"apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokConfiguration", "options": options}]
    docs += _upstream_docs()
    docs.append(CRASHLOOP_STAGE)
    docs.append(POD_READY_AGAIN_STAGE)
    docs.append({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs", "metadata": {"name": "ecotrack-services"},
        "spec": {"logs": [{"containers": [svc], "logsFile": str(logs / f"{svc}.log"),
                           "previousLogsFile": str(prevlogs.path(logs, svc)), "follow": True} for svc in SERVICES]
                 + [{"logsFile": str(logs / "default.log"), "previousLogsFile": str(prevlogs.path(logs, "default")),
                     "follow": True}]},
    })
    docs.append({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterPortForward", "metadata": {"name": "testbed-ports"},
        "spec": {"forwards": [{"ports": [port], "target": {"address": ports.HOST, "port": target}}
                              for port, target in forward_targets().items()]},
    })
    docs.append(cluster_exec(state))
    return docs


def forward_targets() -> dict[int, int]:
    """Pod port -> loopback port KWOK's port-forward connects to. No default: any other port gets KWOK's
    "no forward found for port N in pod NS/NAME" error."""
    targets = {SERVICE_PORTS[svc]: ports.HEALTH_SERVICES[svc] for svc in SERVICES}
    targets.update({3100: ports.LOKI, 9090: ports.PROMETHEUS, 3000: ports.HEALTH, 3200: ports.HEALTH,
                    9000: ports.BENCH_SINK})
    return targets


def cluster_exec(state: Path) -> dict:
    """`kubectl exec` in any pod runs a local program from the fake-bin dir (testbed/fakebin.py) in a sandbox dir.
    kwok itself is started with PATH = that dir (components.py): Go looks argv[0] up in kwok's own PATH."""
    exec_dir = state / "exec"
    envs = {"PATH": str(exec_dir / "bin"), "HOME": str(exec_dir / "sandbox"), "HOSTNAME": "ecotrack-testbed",
            "TERM": "xterm", "LANG": "C.UTF-8"}
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterExec", "metadata": {"name": "testbed-shell"},
            "spec": {"execs": [{"local": {"workDir": str(exec_dir / "sandbox"),
                                          "envs": [{"name": k, "value": v} for k, v in envs.items()]}}]}}


def write(path: Path, state: Path, pki: Path) -> None:
    path.write_text(yaml.safe_dump_all(kwok_config(state, pki), sort_keys=False))
