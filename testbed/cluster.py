"""`up`, `down`, `status`, `env`: the lifecycle of the local testbed."""
from __future__ import annotations

import shutil
import time

import yaml

from . import build, kwokcfg, paths, pki, ports, procs, scenario, versions
from .components import components
from .kube import apply, client, get_json

SEED_NAMESPACES = ["ecotrack", "observability", "ambassador", "cert-manager", "external-dns", "istio-system", "kube-system"]


def log(msg: str) -> None:
    print(f"[testbed] {msg}", flush=True)


def is_up() -> bool:
    if procs.pid_of("kube-apiserver") is None:
        return False
    try:
        with client(timeout=3) as c:
            return c.get("/readyz").status_code == 200
    except Exception:
        return False


def write_ecotui_config() -> None:
    cfg = {"contexts": {ports.CONTEXT: {
        "prometheus_url": f"http://{ports.HOST}:{ports.PROMETHEUS}",
        "loki_url": f"http://{ports.HOST}:{ports.LOKI}",
    }}}
    paths.ecotui_config().write_text(yaml.safe_dump(cfg, sort_keys=False))


def env_lines() -> list[str]:
    return [
        f"export KUBECONFIG={paths.kubeconfig()}",
        f"export ECOTUI_CONFIG={paths.ecotui_config()}",
        f"export PATH={versions.bin_dir()}:$PATH",
    ]


def _wait(what: str, check, timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = check()
            if ok:
                return
        except Exception as e:  # API hiccups during start-up
            last = str(e)
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what} ({last})")


def _nodes_ready():
    items = get_json("/api/v1/nodes")["items"]
    ready = [n for n in items for c in n.get("status", {}).get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
    return len(ready) >= len(scenario.node_names()), f"{len(ready)}/{len(scenario.node_names())} nodes Ready"


def _pods_settled(expected: int):
    pods = [p for p in get_json("/api/v1/pods")["items"] if p["metadata"]["namespace"] in SEED_NAMESPACES]
    settled = [p for p in pods if p["status"].get("phase") in ("Running", "Succeeded") and not p["metadata"].get("deletionTimestamp")]
    return len(settled) >= expected and len(settled) == len(pods), f"{len(settled)}/{len(pods)} pods settled (want {expected})"


def _rollouts_done():
    deps = get_json("/apis/apps/v1/namespaces/ecotrack/deployments")["items"]
    pending = [d["metadata"]["name"] for d in deps
               if d["status"].get("updatedReplicas") != d["spec"]["replicas"]
               or d["status"].get("availableReplicas") != d["spec"]["replicas"]
               or d["status"].get("observedGeneration") != d["metadata"]["generation"]]
    return not pending, f"rolling: {pending}"


def seed() -> None:
    apply(scenario.nodes())
    _wait("nodes Ready", _nodes_ready, 60)
    apply(scenario.objects())
    _wait("first rollout", _rollouts_done, 120)
    apply(scenario.service_deployments(scenario.APP_VERSION[1]))  # revision 2 of every service
    _wait("second rollout", _rollouts_done, 120)
    expected = _expected_pods()
    _wait(f"{expected} pods Running/Completed", lambda: _pods_settled(expected), 180, 2)


def _expected_pods() -> int:
    n = len(scenario.node_names())
    total = 0
    for o in scenario.objects():
        if o["kind"] in ("Deployment", "StatefulSet"):
            total += o["spec"]["replicas"]
        elif o["kind"] == "DaemonSet":
            total += n
        elif o["kind"] == "Job":
            total += 1
    return total


def up(do_seed: bool = True) -> float:
    t0 = time.monotonic()
    running = [n for n in component_names() if procs.pid_of(n) is not None]
    if running:
        # a testbed is (partly) running — maybe its API server is just restarting: never wipe it here
        deadline = time.monotonic() + 30
        while not is_up() and time.monotonic() < deadline:
            time.sleep(1)
        if is_up():
            log("already up; reusing it")
            return 0.0
        raise RuntimeError(f"a testbed is partly running ({', '.join(running)}) but its API server is not ready; "
                           "run `python -m testbed down` first")
    if build.missing():
        log(f"binaries missing in {versions.bin_dir()}: building (cold build takes several minutes)")
        build.build()
    if not shutil.which("prometheus"):
        raise RuntimeError("prometheus not found: install Debian's `prometheus` package (apt-get install prometheus)")
    if not shutil.which("openssl"):
        raise RuntimeError("openssl not found: apt-get install openssl")
    down(quiet=True)
    st = paths.state_dir()
    st.mkdir(parents=True, exist_ok=True)
    pki.ensure_pki(paths.pki_dir())
    pki.write_kubeconfig(paths.kubeconfig(), paths.pki_dir(), user="oncall")
    pki.write_kubeconfig(paths.component_kubeconfig(), paths.pki_dir(), user="admin")
    write_ecotui_config()
    paths.logs_dir().mkdir(parents=True, exist_ok=True)
    for svc in kwokcfg.SERVICES + ["default"]:
        (paths.logs_dir() / f"{svc}.log").touch()
    comps = {c.name: c for c in components(versions.bin_dir())}
    order = [["etcd"], ["kube-apiserver"],
             ["kube-controller-manager", "kube-scheduler", "kwok", "metrics-server", "prometheus", "loki", "exporter",
              "healthserver"]]
    for group in order:
        for name in group:
            procs.start(comps[name])
        for name in group:
            procs.wait_ready(comps[name])
            log(f"{name} ready ({time.monotonic() - t0:.1f}s)")
    if do_seed:
        seed()
        log(f"EcoTrack scenario seeded ({time.monotonic() - t0:.1f}s)")
    procs.start(comps["loggen"])
    procs.wait_ready(comps["loggen"])
    elapsed = time.monotonic() - t0
    log(f"up in {elapsed:.1f}s")
    return elapsed


def component_names() -> list[str]:
    return ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "metrics-server",
            "prometheus", "loki", "exporter", "healthserver", "loggen"]


def down(quiet: bool = False) -> None:
    for name in reversed(component_names()):
        if procs.stop(name) and not quiet:
            log(f"stopped {name}")
    st = paths.state_dir()
    if st.exists():
        shutil.rmtree(st, ignore_errors=True)
    if not quiet:
        log(f"removed {st}")


def status() -> list[tuple[str, str, int]]:
    """(component, state, rss KiB) for every component."""
    comps = {c.name: c for c in components(versions.bin_dir(), write=False)}
    rows = []
    for name in component_names():
        pid = procs.pid_of(name)
        if pid is None:
            rows.append((name, "stopped", 0))
            continue
        try:
            healthy = bool(comps[name].ready())
        except Exception:
            healthy = False
        rows.append((name, f"running pid {pid}, {'healthy' if healthy else 'NOT ready'}", procs.rss_kib(name)))
    return rows


def stop_component(name: str) -> None:
    """Stop one running component (e.g. kube-apiserver, for resilience tests)."""
    procs.stop(name)


def start_component(name: str) -> None:
    """Start one component again with its original flags and wait until it is ready."""
    comp = {c.name: c for c in components(versions.bin_dir(), write=False)}[name]
    procs.start(comp)
    procs.wait_ready(comp)
