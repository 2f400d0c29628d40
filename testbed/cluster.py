"""`up`, `down`, `status`, `env`: the lifecycle of the local testbed."""
from __future__ import annotations

import fcntl
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass

import yaml

from . import awsconfig, prevlogs, build, health, kwokcfg, paths, pki, ports, procs, scenario, versions
from .components import PORTS, components
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
    }}, **AWS_SECTION}
    paths.ecotui_config().write_text(yaml.safe_dump(cfg, sort_keys=False))


AWS_SECTION = {"aws": {"profiles": [ports.AWS_PROFILE], "regions": [ports.EKS_REGION, ports.EKS_REGION_2]}}


def _add_aws_section() -> None:
    """An older testbed's ecotui config gets the `aws:` section (EKS discovery through moto), nothing else."""
    f = paths.ecotui_config()
    cfg = yaml.safe_load(f.read_text()) or {}
    if "aws" not in cfg:
        tmp = f.with_name(f.name + ".tmp")
        tmp.write_text(yaml.safe_dump({**cfg, **AWS_SECTION}, sort_keys=False))
        tmp.replace(f)


def env_lines() -> list[str]:
    return [
        f"export KUBECONFIG={paths.kubeconfig()}",
        f"export ECOTUI_CONFIG={paths.ecotui_config()}",
        f"export PATH={versions.bin_dir()}:$PATH",
        *(f"export {k}={v}" for k, v in awsconfig.env().items()),
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


RECOVER = "python3 -m testbed down && python3 -m testbed up"
GROUPS = [["etcd"], ["kube-apiserver"],
          ["kube-controller-manager", "kube-scheduler", "kwok", "metrics-server", "prometheus", "loki", "exporter",
           "healthserver", "motoserver", "eksauth"],
          ["loggen"]]  # started after seeding: it attributes lines to Running pods
NOT_READY_GRACE = 20.0  # a running component that is not ready may just be starting (e.g. a restarted API server)


class UpFailed(RuntimeError):
    """`up` could not bring every component to healthy; the message says what runs and how to recover."""


class PortsHeld(RuntimeError):
    """Some component's port is held by a process that is not ours."""


@dataclass(frozen=True)
class UpResult:
    kind: str                 # health.FRESH | health.REUSE | health.HEAL
    elapsed: float
    started: tuple[str, ...] = ()
    seeded: bool = False

    @property
    def fresh(self) -> bool:
        return self.kind == health.FRESH


def check(name: str, comp=None) -> health.Health:
    """The health of one component: pid file + alive + readiness check (+ who holds its port if not ours)."""
    if comp is None:
        comp = {c.name: c for c in components(versions.bin_dir(), write=False)}[name]
    pid = procs.pid_of(name)
    if pid is None:
        stray = next((h for h in (health.port_holder(p) for p in PORTS.get(name, ())) if h), "")
        return health.Health(name, None, False, stray)
    try:
        ready = bool(comp.ready())
    except Exception:
        ready = False
    stale = bool(comp.fingerprint) and procs.fingerprint_of(name) != comp.fingerprint
    return health.Health(name, pid, ready, stale=stale)


def check_all() -> list[health.Health]:
    comps = {c.name: c for c in components(versions.bin_dir(), write=False)}
    return [check(n, comps[n]) for n in component_names()]


def scenario_missing() -> str:
    """'' when the EcoTrack scenario's nodes and service Deployments exist; else what is missing."""
    nodes = {n["metadata"]["name"] for n in get_json("/api/v1/nodes")["items"]}
    lost_nodes = [n for n in scenario.node_names() if n not in nodes]
    try:
        deps = {d["metadata"]["name"] for d in get_json("/apis/apps/v1/namespaces/ecotrack/deployments")["items"]}
    except Exception:
        deps = set()
    lost_deps = [s for s in kwokcfg.SERVICES if s not in deps]
    parts = ([f"{len(lost_nodes)} of {len(scenario.node_names())} nodes"] if lost_nodes else []) + (
        [f"Deployments {', '.join(lost_deps)}"] if lost_deps else [])
    return "; ".join(parts)


@contextmanager
def _up_lock():
    """One `up` at a time per state dir (CLI, pytest sessions): the second waits, then finds it up."""
    st = paths.state_dir()
    st.parent.mkdir(parents=True, exist_ok=True)
    with open(st.parent / f".{st.name}.up.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another `testbed up` is running; waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def up(do_seed: bool = True) -> float:
    """Start whatever is missing or unhealthy (everything on a fresh machine); seconds taken (0 when reused)."""
    r = ensure_up(do_seed)
    return 0.0 if r.kind == health.REUSE else r.elapsed


def ensure_up(do_seed: bool = True) -> UpResult:
    with _up_lock():
        try:
            return _ensure_up(do_seed)
        except build.BuildError:
            raise
        except Exception as e:
            try:
                now = health.summary(check_all())
            except Exception as e2:  # e.g. the state dir is gone
                now = f"(could not check: {e2})"
            recover = RECOVER
            if isinstance(e, PortsHeld):  # `down` stops only what our pid files name
                recover = ("stop the processes named above (`testbed down` does not: they are not in its pid "
                           "files), then: python3 -m testbed up")
            raise UpFailed(f"{e}\nnow {now}\nto recover: {recover}") from None


def _prerequisites() -> None:
    if build.missing():
        log(f"binaries missing in {versions.bin_dir()}: building (cold build takes several minutes)")
        build.build()
    if not shutil.which("prometheus"):
        raise RuntimeError("prometheus not found: install Debian's `prometheus` package (apt-get install prometheus)")
    if not shutil.which("openssl"):
        raise RuntimeError("openssl not found: apt-get install openssl")


def _ensure_up(do_seed: bool) -> UpResult:
    t0 = time.monotonic()
    hs = check_all()
    p = health.plan(hs)
    if p.kind == health.BLOCKED:
        for h in hs:
            if h.name in p.blocked:
                log(h.action())
        raise PortsHeld(f"cannot start {', '.join(p.blocked)}: {'its port is' if len(p.blocked) == 1 else 'their ports are'}"
                        " held by processes that are not in this testbed's pid files (another testbed with a different "
                        "ECOTUI_TESTBED_STATE, or a stray left over)")
    if p.kind == health.REUSE:
        _ensure_aws_rbac()
        seeded = _reseed_if_missing(do_seed, t0)
        seeded = _update_scenario_if_outdated(do_seed, t0) or seeded
        if not seeded:
            log(f"already up; reusing it (all {len(hs)} components healthy)")
        return UpResult(health.REUSE, time.monotonic() - t0, seeded=seeded)
    _prerequisites()
    if p.kind == health.FRESH:
        return _fresh(do_seed, t0)
    return _heal(hs, do_seed, t0)


def _grace(hs: list[health.Health], comps: dict) -> list[health.Health]:
    """Of running-but-not-ready components, those still not ready after NOT_READY_GRACE (they may be starting)."""
    deadline = time.monotonic() + NOT_READY_GRACE
    while hs and time.monotonic() < deadline:
        time.sleep(1)
        hs = [h for h in (check(h.name, comps[h.name]) for h in hs) if not h.healthy]
    return hs


def _prepare_state() -> None:
    """PKI, kubeconfigs, ecotui config and log files; only what is missing (a healing `up` must not rewrite
    files that running clients are reading)."""
    st = paths.state_dir()
    st.mkdir(parents=True, exist_ok=True)
    pki.ensure_pki(paths.pki_dir())
    if not paths.kubeconfig().exists():
        pki.write_kubeconfig(paths.kubeconfig(), paths.pki_dir(), user="oncall")
    if not paths.component_kubeconfig().exists():
        pki.write_kubeconfig(paths.component_kubeconfig(), paths.pki_dir(), user="admin")
    if not paths.ecotui_config().exists():
        write_ecotui_config()
    _add_aws_section()
    awsconfig.write()
    paths.logs_dir().mkdir(parents=True, exist_ok=True)
    for svc in kwokcfg.SERVICES + ["default"]:
        f = paths.logs_dir() / f"{svc}.log"
        if not f.exists():  # (touching would make a stalled log generator look healthy)
            f.touch()
    prevlogs.ensure(paths.logs_dir(), kwokcfg.SERVICES + ["default"])


def _start_group(comps: dict, names: list[str], t0: float) -> None:
    for name in names:
        procs.start(comps[name])
    for name in names:
        procs.wait_ready(comps[name])
        log(f"{name} ready ({time.monotonic() - t0:.1f}s)")


def _fresh(do_seed: bool, t0: float) -> UpResult:
    down(quiet=True)  # nothing of ours runs: clear stale pid files and state
    _prepare_state()
    comps = {c.name: c for c in components(versions.bin_dir())}
    for group in GROUPS[:-1]:
        _start_group(comps, group, t0)
    _ensure_aws_rbac()
    if do_seed:
        seed()
        log(f"EcoTrack scenario seeded ({time.monotonic() - t0:.1f}s)")
    _start_group(comps, GROUPS[-1], t0)
    elapsed = time.monotonic() - t0
    log(f"up in {elapsed:.1f}s")
    return UpResult(health.FRESH, elapsed, tuple(component_names()), do_seed)


def _heal(hs: list[health.Health], do_seed: bool, t0: float) -> UpResult:
    for h in hs:
        log(h.action())
    _prepare_state()  # keeps the PKI, etcd data and kubeconfigs
    comps = {c.name: c for c in components(versions.bin_dir())}
    started: list[str] = []
    seeded = False
    for i, group in enumerate(GROUPS):
        if i == len(GROUPS) - 1:
            seeded = _reseed_if_missing(do_seed, t0)
            seeded = _update_scenario_if_outdated(do_seed, t0) or seeded
        now = [check(n, comps[n]) for n in group]  # again: an earlier group (etcd, API server) may have fixed it
        todo = [h.name for h in now if h.pid is None]
        for h in now:
            if h.pid is not None and h.stale:
                log(f"{h.name}: its code or config changed since it started — restarting it")
                procs.stop(h.name)
                todo.append(h.name)
        for h in _grace([h for h in now if h.pid is not None and not h.ready and not h.stale], comps):
            log(f"{h.name}: still not ready after {NOT_READY_GRACE:.0f}s — restarting it")
            procs.stop(h.name)
            todo.append(h.name)
        _start_group(comps, [n for n in group if n in todo], t0)
        started += [n for n in group if n in todo]
    _ensure_aws_rbac()
    still = [h for h in check_all() if not h.healthy]
    if still:
        raise RuntimeError(f"still not healthy after starting: {', '.join(h.name for h in still)}")
    elapsed = time.monotonic() - t0
    log(f"up in {elapsed:.1f}s ({'started ' + ', '.join(started) if started else 'nothing needed starting'})")
    return UpResult(health.HEAL, elapsed, tuple(started), seeded)


def _ensure_aws_rbac() -> None:
    """The ClusterRoleBinding of the EKS token identities (scenario.aws_objects), when missing."""
    with client(timeout=10) as c:
        if c.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ecotui-eks-admins").status_code == 404:
            apply(scenario.aws_objects())


def _reseed_if_missing(do_seed: bool, t0: float) -> bool:
    if not do_seed:
        return False
    missing = scenario_missing()
    if not missing:
        return False
    log(f"EcoTrack scenario incomplete (missing {missing}) — seeding it again")
    seed()
    log(f"EcoTrack scenario seeded ({time.monotonic() - t0:.1f}s)")
    return True


def _update_scenario_if_outdated(do_seed: bool, t0: float) -> bool:
    """An older testbed's EcoTrack Deployments/Services (container port 8080 everywhere, numbered targetPort) are
    brought to this scenario the way seeding makes them: apply the objects (revision 1.4.1), then 1.4.2 — two
    more rollouts, so the previous revision has the same ports too."""
    if not do_seed:
        return False
    what = scenario_outdated()
    if not what:
        return False
    log(f"EcoTrack scenario outdated ({', '.join(what[:4])}{' …' if len(what) > 4 else ''}) — updating it")
    update_scenario()
    log(f"EcoTrack scenario updated ({time.monotonic() - t0:.1f}s)")
    return True


def scenario_outdated() -> list[str]:
    """What of the live EcoTrack services differs from this scenario's ports ([] also when it cannot tell)."""
    try:
        return scenario.outdated(get_json("/apis/apps/v1/namespaces/ecotrack/deployments")["items"],
                                 get_json("/api/v1/namespaces/ecotrack/services")["items"])
    except Exception:
        return []


def update_scenario() -> None:
    apply(scenario.objects())
    _wait("rollout of the updated scenario", _rollouts_done, 120)
    apply(scenario.service_deployments(scenario.APP_VERSION[1]))
    _wait("second rollout of the updated scenario", _rollouts_done, 120)


def component_names() -> list[str]:
    return ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "metrics-server",
            "prometheus", "loki", "exporter", "healthserver", "motoserver", "eksauth", "loggen"]


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
    """(component, state, rss KiB) for every component; state contains "healthy" only when it is."""
    return [(h.name, h.describe(), procs.rss_kib(h.name) if h.pid else 0) for h in check_all()]


def stop_component(name: str) -> None:
    """Stop one running component (e.g. kube-apiserver, for resilience tests)."""
    procs.stop(name)


def start_component(name: str) -> None:
    """Start one component again with its original flags and wait until it is ready."""
    comp = {c.name: c for c in components(versions.bin_dir(), write=False)}[name]
    procs.start(comp)
    procs.wait_ready(comp)
