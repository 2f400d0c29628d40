"""`testbed up` / `status` decisions: per-component health, heal vs reuse vs fresh, strays, honest failures.

No real processes: the cluster module's process and health hooks are replaced by a small fake world.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from testbed import __main__ as cli
from testbed import cluster, health
from testbed.health import Health

NAMES = cluster.component_names()


def world(**states: Health) -> dict[str, Health]:
    w = {n: Health(n, 1000 + i, True) for i, n in enumerate(NAMES)}
    w.update(states)
    return w


# --- pure decisions ------------------------------------------------------------------------------------------

def test_plan_all_healthy_reuses():
    assert health.plan(world().values()).kind == health.REUSE


def test_plan_nothing_running_starts_fresh():
    p = health.plan(Health(n, None) for n in NAMES)
    assert p.kind == health.FRESH and p.start == tuple(NAMES)


def test_plan_partial_heals_only_what_is_missing_or_unready():
    w = world(loki=Health("loki", None), loggen=Health("loggen", None), kwok=Health("kwok", 77, ready=False))
    p = health.plan(w.values())
    assert p.kind == health.HEAL
    assert p.start == ("loki", "loggen") and p.restart == ("kwok",)


def test_plan_stray_port_holder_blocks():
    w = world(loki=Health("loki", None, stray="pid 9 (python3 -m http.server) listening on port 23100"))
    p = health.plan(w.values())
    assert p.kind == health.BLOCKED and p.blocked == ("loki",)


def test_describe_and_action_texts():
    assert Health("loki", 5, True).describe() == "running pid 5, healthy"
    assert Health("loki", 5, False).describe() == "running pid 5, NOT ready"
    assert Health("loki", None).describe() == "stopped"
    assert "held by pid 9" in Health("loki", None, stray="pid 9 (x)").describe()
    assert Health("loki", None).action() == "loki: not running — starting"
    assert "restarting" in Health("kwok", 5, False).action()
    assert "cannot start" in Health("loki", None, stray="pid 9 (x)").action()
    s = health.summary([Health("etcd", 1, True), Health("loki", None)])
    assert s == "healthy: etcd; not healthy: loki (stopped)"


def test_port_holder_names_the_listening_process():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        holder = health.port_holder(port)
        import os
        assert holder.startswith(f"pid {os.getpid()} (") and f"port {port}" in holder
    assert health.port_holder(port) == ""


# --- up / status against a fake world ------------------------------------------------------------------------

@dataclass
class FakeComp:
    name: str


class Fake:
    def __init__(self, monkeypatch, tmp_path, w: dict[str, Health], missing: str = ""):
        self.w, self.missing = w, missing
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.seeded = 0
        self.fail_start: set[str] = set()
        monkeypatch.setenv("ECOTUI_TESTBED_STATE", str(tmp_path / "run"))
        monkeypatch.setattr(cluster, "components", lambda *a, **k: [FakeComp(n) for n in NAMES])
        monkeypatch.setattr(cluster, "check", lambda name, comp=None: self.w[name])
        monkeypatch.setattr(cluster, "check_all", lambda: [self.w[n] for n in NAMES])
        monkeypatch.setattr(cluster, "_prepare_state", lambda: None)
        monkeypatch.setattr(cluster, "_ensure_aws_rbac", lambda: None)  # an API call (EKS token identities)
        monkeypatch.setattr(cluster, "_prerequisites", lambda: None)
        monkeypatch.setattr(cluster, "scenario_missing", lambda: self.missing)
        self.outdated: list[str] = []
        self.updated = 0
        monkeypatch.setattr(cluster, "scenario_outdated", lambda: self.outdated)
        monkeypatch.setattr(cluster, "update_scenario", self._update)
        monkeypatch.setattr(cluster, "seed", self._seed)
        monkeypatch.setattr(cluster, "down", lambda quiet=False: None)
        monkeypatch.setattr(cluster, "NOT_READY_GRACE", 0.0)
        monkeypatch.setattr(cluster.procs, "start", self._start)
        monkeypatch.setattr(cluster.procs, "wait_ready", self._wait_ready)
        monkeypatch.setattr(cluster.procs, "stop", self._stop)

    def _seed(self):
        self.seeded += 1
        self.missing = ""

    def _update(self):
        self.updated += 1
        self.outdated = []

    def _start(self, c):
        self.started.append(c.name)
        self.w[c.name] = Health(c.name, 5000 + len(self.started), c.name not in self.fail_start)

    def _wait_ready(self, c):
        if not self.w[c.name].ready:
            raise RuntimeError(f"{c.name} not ready after 60s; last log lines:\n(boom)")

    def _stop(self, name):
        self.stopped.append(name)
        self.w[name] = Health(name, None)
        return True


def test_up_on_healthy_testbed_says_already_up_and_starts_nothing(monkeypatch, tmp_path, capsys):
    f = Fake(monkeypatch, tmp_path, world())
    r = cluster.ensure_up()
    assert r.kind == health.REUSE and not f.started and not f.seeded
    assert "already up" in capsys.readouterr().out


def test_up_heals_only_stopped_components_and_says_so(monkeypatch, tmp_path, capsys):
    f = Fake(monkeypatch, tmp_path, world(loki=Health("loki", None), loggen=Health("loggen", None)))
    r = cluster.ensure_up()
    out = capsys.readouterr().out
    assert r.kind == health.HEAL and not r.fresh
    assert f.started == ["loki", "loggen"] and not f.stopped and not f.seeded
    assert "loki: not running — starting" in out and "loggen: not running — starting" in out
    assert "already up" not in out


def test_up_restarts_a_running_but_unready_component(monkeypatch, tmp_path, capsys):
    f = Fake(monkeypatch, tmp_path, world(exporter=Health("exporter", 42, False)))
    cluster.ensure_up()
    assert f.stopped == ["exporter"] and f.started == ["exporter"]
    assert "still not ready" in capsys.readouterr().out


def test_up_reseeds_when_scenario_objects_are_missing(monkeypatch, tmp_path, capsys):
    f = Fake(monkeypatch, tmp_path, world(), missing="12 of 12 nodes")
    r = cluster.ensure_up()
    assert r.seeded and f.seeded == 1 and not f.started
    assert "seeding it again" in capsys.readouterr().out


def test_up_updates_an_outdated_scenario_on_reuse_and_heal(monkeypatch, tmp_path, capsys):
    f = Fake(monkeypatch, tmp_path, world())
    f.outdated = ["deployment/user-service port", "service/user-service targetPort"]
    r = cluster.ensure_up()
    assert r.kind == health.REUSE and r.seeded and f.updated == 1 and not f.started and not f.seeded
    assert "EcoTrack scenario outdated (deployment/user-service port" in capsys.readouterr().out
    cluster.ensure_up()
    assert f.updated == 1  # up to date now
    f = Fake(monkeypatch, tmp_path, world(kwok=Health("kwok", 7, True, stale=True)))
    f.outdated = ["service/order-service targetPort"]
    r = cluster.ensure_up()
    assert r.kind == health.HEAL and f.updated == 1 and f.started == ["kwok"]


def test_up_without_seed_never_reseeds(monkeypatch, tmp_path):
    f = Fake(monkeypatch, tmp_path, world(), missing="12 of 12 nodes")
    cluster.ensure_up(do_seed=False)
    assert f.seeded == 0


def test_up_from_nothing_starts_everything_in_order_and_seeds(monkeypatch, tmp_path):
    f = Fake(monkeypatch, tmp_path, {n: Health(n, None) for n in NAMES}, missing="all")
    r = cluster.ensure_up()
    assert r.fresh and f.seeded == 1
    assert f.started[:2] == ["etcd", "kube-apiserver"] and f.started[-1] == "loggen"
    assert sorted(f.started) == sorted(NAMES)


def test_failed_up_says_what_runs_and_how_to_recover(monkeypatch, tmp_path):
    f = Fake(monkeypatch, tmp_path, world(loki=Health("loki", None)))
    f.fail_start.add("loki")
    with pytest.raises(cluster.UpFailed) as e:
        cluster.ensure_up()
    msg = str(e.value)
    assert "loki not ready" in msg and "healthy: etcd" in msg and "not healthy: loki" in msg
    assert "python3 -m testbed down && python3 -m testbed up" in msg


def test_cli_up_blocked_by_stray_exits_1_without_traceback(monkeypatch, tmp_path, capsys):
    stray = "pid 9 (python3 -m http.server 23100) listening on port 23100"
    Fake(monkeypatch, tmp_path, world(loki=Health("loki", None, stray=stray)))
    assert cli.main(["up"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert stray in out and "up failed: cannot start loki" in err
    assert "not healthy: loki (stopped; port held by pid 9)" in err
    assert "stop the processes named above" in err and "then: python3 -m testbed up" in err


def test_cli_status_exits_nonzero_naming_what_is_down(monkeypatch, tmp_path, capsys):
    Fake(monkeypatch, tmp_path, world(loki=Health("loki", None), loggen=Health("loggen", None)))
    monkeypatch.setattr(cluster.procs, "rss_kib", lambda name: 1024)
    assert cli.main(["status"]) == 1
    out, err = capsys.readouterr()
    assert "not healthy: loki, loggen" in err
    Fake(monkeypatch, tmp_path, world())
    assert cli.main(["status"]) == 0


def test_stale_component_is_restarted_and_named():
    """Running and ready, but started from other code or config (a changed Loki server, a new KWOK log wiring):
    `up` restarts it instead of reusing a testbed that no longer matches the checkout."""
    w = world(loki=Health("loki", 5, True, stale=True))
    assert not w["loki"].healthy
    p = health.plan(w.values())
    assert p.kind == health.HEAL and p.restart == ("loki",) and p.start == ()
    assert "STALE" in w["loki"].describe() and "code or config changed" in w["loki"].action()


def test_fingerprints_follow_code_and_kwok_config(tmp_path, monkeypatch):
    from testbed import components, procs
    monkeypatch.setenv("ECOTUI_TESTBED_STATE", str(tmp_path / "state"))
    specs = {c.name: c for c in components.components(tmp_path / "bin", write=False)}
    assert specs["loki"].fingerprint and specs["kwok"].fingerprint and not specs["etcd"].fingerprint
    again = {c.name: c.fingerprint for c in components.components(tmp_path / "bin", write=False)}
    assert again["loki"] == specs["loki"].fingerprint          # stable while nothing changes
    monkeypatch.setattr(components, "_code_hash", lambda module: "other code")
    changed = {c.name: c.fingerprint for c in components.components(tmp_path / "bin", write=False)}
    assert changed["loki"] != specs["loki"].fingerprint and changed["kwok"] == specs["kwok"].fingerprint
    # the pid file keeps the fingerprint the process was started with
    monkeypatch.setattr(procs.paths, "proc_dir", lambda: tmp_path / "proc")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loki.pid").write_text("123\n/usr/bin/python3\nabc\n")
    assert procs.fingerprint_of("loki") == "abc"
    (tmp_path / "proc" / "old.pid").write_text("123\n/usr/bin/python3\n")
    assert procs.fingerprint_of("old") == ""
