"""The testbed's processes: how each one is started and how we know it is ready."""
from __future__ import annotations

import hashlib
import json
import os

import ssl
import sys
import time
from pathlib import Path

import httpx
import yaml

from . import awsconfig, fakebin, kwokcfg, paths, ports, scenario
from . import pki as pki_mod
from .procs import Component

H = ports.HOST
REPO = Path(__file__).resolve().parent.parent
PY_ENV = {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def admin_ssl(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return ctx


def _get_ok(url: str, verify: ssl.SSLContext | bool = True) -> bool:
    return httpx.get(url, verify=verify, timeout=2).status_code == 200


def _responds(url: str) -> bool:
    httpx.get(url, timeout=2)
    return True


def _logs_fresh(max_age: float = 15.0) -> bool:
    """The log generator is working: it appended to a service log file since it started (its pid file's time)
    and in the last `max_age` seconds."""
    started = (paths.proc_dir() / "loggen.pid").stat().st_mtime
    newest = max((f.stat().st_mtime for f in paths.logs_dir().glob("*.log")), default=0.0)
    return newest > started and time.time() - newest < max_age


# The loopback ports each component listens on (a stray process holding one blocks starting it).
PORTS: dict[str, tuple[int, ...]] = {
    "etcd": (ports.ETCD, ports.ETCD_PEER), "kube-apiserver": (ports.APISERVER,),
    "kube-controller-manager": (ports.CONTROLLER_MANAGER,), "kube-scheduler": (ports.SCHEDULER,),
    "kwok": (ports.KWOK,), "metrics-server": (ports.METRICS_SERVER,), "prometheus": (ports.PROMETHEUS,),
    "loki": (ports.LOKI,), "exporter": (ports.EXPORTER,),
    "healthserver": (ports.HEALTH, *ports.HEALTH_SERVICES.values()), "loggen": (), "motoserver": (ports.MOTO,),
    "eksauth": (ports.EKS_AUTH,),
}


def _moto_seeded(st: Path) -> bool:
    """moto answers and the seed file is from the running moto (a restarted moto is a re-seeded one)."""
    from .motoserver import read_seed
    seed = read_seed(st)
    from .procs import pid_of
    return bool(seed) and seed.get("pid") == pid_of("motoserver") and _responds(f"http://{H}:{ports.MOTO}/")


def _apiserver_ready(pki: Path) -> bool:
    return _get_ok(f"https://{H}:{ports.APISERVER}/readyz", admin_ssl(pki))


def components(bin_dir: Path, write: bool = True) -> list[Component]:
    """The component specs; with write=True also (re)writes their config files into the state dir."""
    st = paths.state_dir()
    pki = paths.pki_dir()
    kc = str(paths.component_kubeconfig())
    b = lambda n: str(bin_dir / n)  # noqa: E731
    py = sys.executable

    sched_cfg = st / "scheduler.yaml"
    prom_cfg = st / "prometheus.yml"
    if write:
        _write_configs(st, pki, kc, sched_cfg, prom_cfg)
    specs = _specs(b, st, pki, kc, sched_cfg, prom_cfg, py)
    kwok_yaml = yaml.safe_dump_all(kwokcfg.kwok_config(st, pki), sort_keys=False)
    for c in specs:
        if c.argv[0] == py:          # our Python servers: their code (`python` and `python3` are the same interpreter)
            c.fingerprint = _hash(" ".join([os.path.realpath(py), *c.argv[1:]]), _code_hash(c.argv[2]))
        elif c.name == "kube-apiserver":  # its flags and its token webhook's kubeconfig
            c.fingerprint = _hash(" ".join(c.argv), webhook_kubeconfig_yaml())
        elif c.name == "kwok":       # its stages, logs, port-forward and exec wiring, its PATH (the fake bin)
            c.fingerprint = _hash(" ".join(c.argv), kwok_yaml, json.dumps(c.env, sort_keys=True),
                                  fakebin.fingerprint())
        elif c.name == "prometheus":  # its scrape jobs
            c.fingerprint = _hash(" ".join(c.argv), prometheus_yaml(st, pki))
    return specs


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _code_hash(module: str) -> str:
    """Of the testbed files `python -m <module>` loads (its import closure inside the testbed package): a running
    server started from other code is stale, and a change elsewhere in the testbed restarts nothing else."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(module_files(module)):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _resolve(root: Path, parts: list[str]) -> list[Path]:
    """The files of testbed module `parts` (relative to the package): a .py file, or a package's __init__.py."""
    base = root.joinpath(*parts)
    if base.is_dir():
        return [base / "__init__.py"] if (base / "__init__.py").exists() else []
    f = base.with_suffix(".py")
    return [f] if parts and f.exists() else []


def module_files(module: str) -> set[Path]:
    """The testbed package's files that `python -m <module>` (e.g. testbed.loki) imports, transitively."""
    import ast
    root = Path(__file__).resolve().parent
    parts = module.split(".")[1:]
    todo = [root / "__init__.py", *_resolve(root, parts)]
    if (root.joinpath(*parts) / "__main__.py").exists():
        todo.append(root.joinpath(*parts) / "__main__.py")
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        pkg = list(f.parent.relative_to(root).parts)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[:len(pkg) - node.level + 1] if node.level > 1 else pkg
                elif (node.module or "").split(".")[0] == "testbed":
                    base = []
                else:
                    continue
                mod = base + ((node.module or "").split(".")[1:] if not node.level else
                              (node.module.split(".") if node.module else []))
                for i in range(len(mod) + 1):   # the packages on the way (their __init__ runs)
                    todo += _resolve(root, mod[:i])
                for alias in node.names:        # `from . import x`: x may be a module
                    todo += _resolve(root, mod + [alias.name])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "testbed":
                        names = alias.name.split(".")[1:]
                        for i in range(len(names) + 1):
                            todo += _resolve(root, names[:i])
    return seen


def _write_configs(st: Path, pki: Path, kc: str, sched_cfg: Path, prom_cfg: Path) -> None:
    sched_cfg.write_text(yaml.safe_dump({
        "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": kc, "qps": 500, "burst": 1000},
        "leaderElection": {"leaderElect": False},
    }))
    kwokcfg.write(st / "kwok.yaml", st, pki)
    fakebin.install()
    (st / "audit-policy.yaml").write_text(yaml.safe_dump({
        "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "users": [pki_mod.ONCALL_USER, pki_mod.ONCALL_TOKEN_USER]},
                  {"level": "None"}]}))
    kubelet_targets(st).write_text(_kubelet_targets_json())
    prom_cfg.write_text(prometheus_yaml(st, pki))
    webhook_kubeconfig(st).write_text(webhook_kubeconfig_yaml())


def webhook_kubeconfig(st: Path) -> Path:
    return st / "eks-webhook.kubeconfig"


def webhook_kubeconfig_yaml() -> str:
    """The API server's token webhook (testbed/eksauth.py): plain http on loopback, no client credentials."""
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "eksauth",
        "clusters": [{"name": "eksauth", "cluster": {"server": f"http://{H}:{ports.EKS_AUTH}/authenticate"}}],
        "users": [{"name": "kube-apiserver", "user": {}}],
        "contexts": [{"name": "eksauth", "context": {"cluster": "eksauth", "user": "kube-apiserver"}}],
    }, sort_keys=False)


def prometheus_yaml(st: Path, pki: Path) -> str:
    """The Prometheus config (also its fingerprint: a changed scrape job restarts Prometheus on `up`)."""
    return yaml.safe_dump({
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "scrape_configs": [
            {"job_name": "ecotrack-apps", "static_configs": [{"targets": [f"{H}:{ports.EXPORTER}"]}]},
            {"job_name": "kwok", "static_configs": [{"targets": [f"{H}:{ports.KWOK}"]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"{H}:{ports.PROMETHEUS}"]}]},
            {"job_name": "kube-apiserver", "scheme": "https", "scrape_interval": "15s",
             "tls_config": {"ca_file": str(pki / "ca.crt"), "cert_file": str(pki / "admin.crt"),
                            "key_file": str(pki / "admin.key")},
             "static_configs": [{"targets": [f"{H}:{ports.APISERVER}"]}]},
            _kubelet_resource_job(st),
        ],
    })


def kubelet_targets(st: Path) -> Path:
    return st / "kubelet-targets.json"


def _kubelet_targets_json() -> str:
    """One file_sd target per EcoTrack node: KWOK's one port, the node's resource-metrics path (bench-scale nodes
    are not scraped: 500 more targets every 15 s would load the benchmarks)."""
    return json.dumps([{"targets": [f"{H}:{ports.KWOK}"],
                        "labels": {"node": n, "instance": n,
                                   "__metrics_path__": f"/metrics/nodes/{n}/metrics/resource"}}
                       for n in scenario.node_names()], indent=1)


def _kubelet_resource_job(st: Path) -> dict:
    """The kubelet's /metrics/resource of every node (container_cpu_usage_seconds_total,
    container_memory_working_set_bytes, node_* …) as KWOK serves it, with a `node` label; always at
    127.0.0.1:<KWOK>, never a node's 10.x address. File SD: Debian's Prometheus is built without Kubernetes SD."""
    return {"job_name": "kubelet-resource", "scrape_interval": "15s", "scrape_timeout": "10s",
            "file_sd_configs": [{"files": [str(kubelet_targets(st))], "refresh_interval": "1m"}]}


def _specs(b, st: Path, pki: Path, kc: str, sched_cfg: Path, prom_cfg: Path, py: str) -> list[Component]:
    return [
        Component("etcd", [
            b("etcd"), "--name", "testbed", "--data-dir", str(st / "etcd"),
            "--listen-client-urls", f"http://{H}:{ports.ETCD}", "--advertise-client-urls", f"http://{H}:{ports.ETCD}",
            "--listen-peer-urls", f"http://{H}:{ports.ETCD_PEER}",
            "--initial-advertise-peer-urls", f"http://{H}:{ports.ETCD_PEER}",
            "--initial-cluster", f"testbed=http://{H}:{ports.ETCD_PEER}",
            "--unsafe-no-fsync", "--quota-backend-bytes", "8589934592", "--auto-compaction-retention", "1",
            "--log-level", "warn"],
            lambda: _get_ok(f"http://{H}:{ports.ETCD}/health")),
        Component("kube-apiserver", [
            b("kube-apiserver"), f"--etcd-servers=http://{H}:{ports.ETCD}",
            f"--bind-address={H}", f"--secure-port={ports.APISERVER}", f"--advertise-address={H}",
            "--endpoint-reconciler-type=none", "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true", "--authorization-mode=Node,RBAC",
            f"--tls-cert-file={pki}/server.crt", f"--tls-private-key-file={pki}/server.key",
            f"--client-ca-file={pki}/ca.crt", f"--token-auth-file={pki}/tokens.csv",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
            f"--requestheader-client-ca-file={pki}/fp-ca.crt", "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki}/fp.crt", f"--proxy-client-key-file={pki}/fp.key",
            "--kubelet-preferred-address-types=InternalIP", "--kubelet-client-certificate=" + f"{pki}/admin.crt",
            f"--kubelet-client-key={pki}/admin.key",
            "--enable-priority-and-fairness=false", "--max-requests-inflight=0", "--max-mutating-requests-inflight=0",
            f"--audit-policy-file={st / 'audit-policy.yaml'}", f"--audit-log-path={paths.audit_log()}",
            "--audit-log-maxsize=200", "--audit-log-maxbackup=1",
            f"--authentication-token-webhook-config-file={webhook_kubeconfig(st)}",
            "--authentication-token-webhook-version=v1", "--authentication-token-webhook-cache-ttl=30s", "--v=1"],
            lambda: _apiserver_ready(pki), ready_timeout=90),
        Component("kube-controller-manager", [
            b("kube-controller-manager"), f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", f"--bind-address={H}", f"--secure-port={ports.CONTROLLER_MANAGER}",
            "--leader-elect=false", f"--root-ca-file={pki}/ca.crt", f"--service-account-private-key-file={pki}/sa.key",
            "--kube-api-qps=500", "--kube-api-burst=1000", "--horizontal-pod-autoscaler-sync-period=5s",
            "--node-monitor-grace-period=60s", "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
            "--v=1"],
            lambda: _get_ok(f"https://{H}:{ports.CONTROLLER_MANAGER}/healthz", False)),
        Component("kube-scheduler", [
            b("kube-scheduler"), f"--config={sched_cfg}", f"--bind-address={H}", f"--secure-port={ports.SCHEDULER}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}", "--v=1"],
            lambda: _get_ok(f"https://{H}:{ports.SCHEDULER}/healthz", False)),
        # PATH = the fake bin only: `kubectl exec` argv[0] is looked up in kwok's own PATH (fakebin.py)
        Component("kwok", [b("kwok"), f"--kubeconfig={kc}", f"--config={st / 'kwok.yaml'}", "--v=INFO"],
                  lambda: _get_ok(f"http://{H}:{ports.KWOK}/healthz"), env={"PATH": str(fakebin.bin_dir())}),
        Component("metrics-server", [
            b("metrics-server"), f"--bind-address={H}", f"--secure-port={ports.METRICS_SERVER}",
            f"--tls-cert-file={pki}/server.crt", f"--tls-private-key-file={pki}/server.key",
            f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port",
            "--kubelet-insecure-tls", "--metric-resolution=15s"],
            lambda: _get_ok(f"https://{H}:{ports.METRICS_SERVER}/livez", False)),
        Component("prometheus", [
            "prometheus", f"--config.file={prom_cfg}", f"--web.listen-address={H}:{ports.PROMETHEUS}",
            f"--storage.tsdb.path={st / 'prometheus'}", "--storage.tsdb.retention.time=6h", "--log.level=warn"],
            lambda: _get_ok(f"http://{H}:{ports.PROMETHEUS}/-/ready")),
        Component("loki", [py, "-m", "testbed.loki", "--host", H, "--port", str(ports.LOKI),
                           "--data-dir", str(st / "loki")],
                  lambda: _get_ok(f"http://{H}:{ports.LOKI}/ready"), env=PY_ENV),
        Component("exporter", [py, "-m", "testbed.exporter", "--host", H, "--port", str(ports.EXPORTER),
                               "--state-dir", str(st)],
                  lambda: _get_ok(f"http://{H}:{ports.EXPORTER}/metrics"), env=PY_ENV),
        Component("healthserver", [py, "-m", "testbed.healthserver", "--host", H, "--port", str(ports.HEALTH),
                                   *[f"--service={svc}={port}" for svc, port in ports.HEALTH_SERVICES.items()],
                                   "--state-dir", str(st)],
                  lambda: all(_responds(f"http://{H}:{port}/actuator/health")
                              for port in PORTS["healthserver"]), env=PY_ENV),
        Component("motoserver", [py, "-m", "testbed.motoserver", "--host", H, "--port", str(ports.MOTO),
                                 "--state-dir", str(st), "--ca", str(pki / "ca.crt"),
                                 "--endpoint", f"https://{H}:{ports.APISERVER}"],
                  lambda: _moto_seeded(st), env=PY_ENV),
        Component("eksauth", [py, "-m", "testbed.eksauth", "--host", H, "--port", str(ports.EKS_AUTH),
                              "--sts", f"http://{H}:{ports.MOTO}", "--cluster", ports.EKS_CLUSTER,
                              "--cluster", ports.EKS_CLUSTER_2, "--key", f"{awsconfig.ACCESS_KEY}={awsconfig.SECRET_KEY}"],
                  lambda: _get_ok(f"http://{H}:{ports.EKS_AUTH}/healthz"), env=PY_ENV),
        Component("loggen", [py, "-m", "testbed.loggen", "--state-dir", str(st), "--loki", f"http://{H}:{ports.LOKI}",
                             "--kubeconfig", kc], _logs_fresh, env=PY_ENV),
    ]
