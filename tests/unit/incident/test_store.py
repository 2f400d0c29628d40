"""IncidentStore: every change durable (kill -9 at random moments), shared between processes (the lock), one-line
errors, corrupt files kept aside."""
from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecotui.incident.model import TimelineEntry
from ecotui.incident.store import IncidentError, IncidentStore

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_764_555_180.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def start(store: IncidentStore, **kw):
    args = dict(title="payments failing", services=["payment-service"], namespaces=["ecotrack"], severity="P1",
                impact="checkout fails", context="ecotui-testbed", user="alice")
    args.update(kw)
    return store.start(**args)


def child(script: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(ROOT))


def read_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "child did not answer in time"
    return proc.stdout.readline().strip()


# ---- the basics ---------------------------------------------------------------------------------------------

def test_start_writes_files_and_every_change_is_on_the_timeline(tmp_path):
    clock = Clock()
    s = IncidentStore(tmp_path, clock=clock)
    assert s.current is None and s.last_error == ""
    inc = start(s)
    assert inc.id.startswith("INC-20251201-0213-") and inc.version == 1 and inc.open
    assert (tmp_path / "current").read_text().strip() == inc.id
    assert json.loads((tmp_path / inc.id / "incident.json").read_text())["title"] == "payments failing"
    clock.t += 60
    s.ack("alice")
    clock.t += 60
    s.set_severity("P0", reason="all checkouts fail")
    s.escalate()
    s.note("suspect the 14:02 deploy\nof payment-service", user="alice")
    s.set_status("Identified", eta="03:30 UTC")
    inc = s.record_update("initial", "[P0] payment-service - payments failing", "body", file="/tmp/u.md")
    assert inc.version == 7 and inc.level == "L2" and inc.severity == "P0" and inc.acked_by == "alice"
    assert inc.last_update_at == clock.t and inc.current_status == "Identified" and inc.eta == "03:30 UTC"
    assert [(c.old, c.new, c.reason) for c in inc.severity_changes] == [("P1", "P0", "all checkouts fail")]
    assert [(e.source, e.kind) for e in inc.entries] == [
        ("incident", "started"), ("incident", "ack"), ("incident", "severity"), ("incident", "escalate"),
        ("note", "note"), ("incident", "status"), ("update", "update")]
    assert inc.entries[4].text == "suspect the 14:02 deploy of payment-service"      # one line
    assert len({e.key for e in inc.entries}) == len(inc.entries)
    clock.t += 600
    done = s.resolve("rolled back to revision 3", "bad config in the new image", post_mortem="https://wiki/pm/1")
    assert not done.open and done.resolved_at == clock.t and done.current_status == "Resolved"
    assert done.entries[-1].kind == "resolved" and "bad config" in done.entries[-1].text
    # a fresh store (a restart) reads the same
    again = IncidentStore(tmp_path)
    assert again.current == done


def test_one_line_errors(tmp_path):
    s = IncidentStore(tmp_path)
    for call in (lambda: s.note("x"), lambda: s.ack("a"), lambda: s.resolve("r", "c")):
        with pytest.raises(IncidentError) as no:
            call()
        assert no.value.message == "no open incident"
    with pytest.raises(IncidentError, match="needs a title"):
        start(s, title="  ")
    inc = start(s)
    with pytest.raises(IncidentError) as exc:
        start(s)
    assert exc.value.message == f"an incident is already open: {inc.id}"
    s.ack("alice")
    with pytest.raises(IncidentError, match="already acknowledged at .* by alice"):
        s.ack("bob")
    with pytest.raises(IncidentError, match="is already P1"):
        s.set_severity("P1")
    s.escalate("L4")
    with pytest.raises(IncidentError, match="already at the highest level L4"):
        s.escalate()
    with pytest.raises(IncidentError, match="not above"):
        s.escalate("L2")
    with pytest.raises(IncidentError, match="unknown escalation level"):
        s.escalate("L9")
    with pytest.raises(IncidentError, match="a resolution is needed"):
        s.resolve("", "c")
    with pytest.raises(IncidentError, match="unknown template"):
        s.record_update("memo", "s", "b")
    with pytest.raises(IncidentError, match="not an incident id"):
        s.load("../../etc")


def test_resolved_incident_keeps_notes_and_updates_but_not_final_fields(tmp_path):
    s = IncidentStore(tmp_path)
    start(s)
    s.resolve("fixed", "cause")
    for call in (lambda: s.ack("a"), lambda: s.escalate(), lambda: s.set_severity("P0"),
                 lambda: s.resolve("again", "c")):
        with pytest.raises(IncidentError, match="is resolved$"):
            call()
    s.note("late note")
    inc = s.record_update("resolution", "[RESOLVED] …", "body")
    assert inc.updates[-1].template == "resolution" and inc.entries[-1].source == "update"
    # a new incident can start; the old one stays in the history
    new = start(s, title="second")
    assert s.current == new and [i.id for i in s.history()] == [new.id, inc.id]
    assert s.load(inc.id) == inc


def test_add_entries_dedupes_orders_and_updates_in_place(tmp_path):
    clock = Clock()
    s = IncidentStore(tmp_path, clock=clock)
    start(s)
    clock.t += 100
    ev = [TimelineEntry(T0 + 50, "event", "BackOff", "Back-off restarting (x1)", "event:uid1"),
          TimelineEntry(T0 + 20, "journal", "rollout_undo", "done rollout_undo", "journal:1")]
    assert s.add_entries(ev) == 2
    v = s.current.version
    assert s.add_entries(ev) == 0 and s.current.version == v                     # nothing new: no write
    assert [e.key for e in s.current.entries][1:] == ["journal:1", "event:uid1"]   # time order
    bumped = TimelineEntry(T0 + 90, "event", "BackOff", "Back-off restarting (x5)", "event:uid1")
    assert s.add_entries([bumped]) == 1
    entries = s.current.entries
    assert [e.text for e in entries if e.key == "event:uid1"] == ["Back-off restarting (x5)"]
    assert len(entries) == 3
    hostile = TimelineEntry(T0 + 95, "event", "X", "evil\x1b[2J\u202eline", "event:uid2")
    s.add_entries([hostile])
    assert s.current.entries[-1].text == "evil\\x1b[2J\\u202eline"


def test_mark_bells_once(tmp_path):
    s = IncidentStore(tmp_path)
    start(s)
    v = s.mark_bells(["response"]).version
    assert s.mark_bells(["response"]).version == v                 # already rung: no write
    assert s.mark_bells(["response", "update-0"]).bells == {"response", "update-0"}


def test_second_store_sees_changes_after_refresh(tmp_path):
    a, b = IncidentStore(tmp_path), IncidentStore(tmp_path)
    assert b.current is None and b.refresh() is False
    inc = start(a)
    assert b.current is None
    assert b.refresh() is True and b.current == inc
    assert b.refresh() is False                                    # unchanged: just a stat
    a.note("from a")
    assert b.refresh() is True and b.current.entries[-1].text == "from a"
    b.note("from b")                                               # b writes on top of a's latest
    assert a.refresh() is True and [e.text for e in a.current.entries][-2:] == ["from a", "from b"]
    assert a.current.version == b.current.version == 3


def test_corrupt_file_is_one_line_and_kept_aside(tmp_path):
    s = IncidentStore(tmp_path)
    inc = start(s)
    f = tmp_path / inc.id / "incident.json"
    f.write_text('{"id": "INC-broken", "title": ')
    fresh = IncidentStore(tmp_path)
    assert fresh.current is None
    assert fresh.last_error.startswith(f"incident {inc.id}: {f} is unreadable (") and "\n" not in fresh.last_error
    kept = list((tmp_path / inc.id).glob("incident.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"id": "INC-broken", "title": '
    assert kept[0].name in fresh.last_error
    # the running store that had it open: refresh raises the same kind of line, once
    f.write_text("garbage")
    with pytest.raises(IncidentError) as exc:
        s.refresh()
    assert "unreadable" in exc.value.message and "\n" not in exc.value.message
    assert s.current is None and s.refresh() is False
    assert len(list((tmp_path / inc.id).glob("incident.json.corrupt-*"))) == 2
    # a new incident can be started after that
    assert start(s, title="after the corruption").open


def test_write_artifact_is_atomic_and_in_the_incident_dir(tmp_path):
    s = IncidentStore(tmp_path)
    inc = start(s)
    p = s.write_artifact(inc, "snapshot-ecotrack.yaml", "kind: List\n")
    assert p == tmp_path / inc.id / "snapshot-ecotrack.yaml" and p.read_text() == "kind: List\n"
    assert not [x for x in p.parent.iterdir() if ".tmp-" in x.name]
    with pytest.raises(IncidentError):
        s.write_artifact(inc, "../escape", "x")


# ---- durability ---------------------------------------------------------------------------------------------

MUTATOR = r"""
import sys, time
from pathlib import Path
from ecotui.incident.store import IncidentStore
s = IncidentStore(Path(sys.argv[1]))
if s.current is None:
    s.start(title="kill test", services=["payment-service"], namespaces=["ecotrack"], severity="P1",
            impact="x", context="c", user="u")
print("ready", flush=True)
deadline = time.monotonic() + 20
for i in range(100000):
    if time.monotonic() > deadline:
        break
    if i % 5 == 4:
        s.mark_bells([f"bell-{s.current.version}"])
    else:
        s.note(f"note {i} " + "x" * 3000)
"""


def test_kill_9_at_random_moments_never_loses_or_tears_the_file(tmp_path):
    rng = random.Random(11)
    last_version = 0
    for _ in range(30):
        proc = child(MUTATOR, str(tmp_path))
        try:
            assert read_line(proc) == "ready"
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=10)
        store = IncidentStore(tmp_path)
        assert store.last_error == ""
        inc = store.current
        assert inc is not None and inc.open
        assert inc.version >= last_version
        notes = [e for e in inc.entries if e.source == "note"]
        # nothing half-written: the version counts exactly the writes the file holds
        assert inc.version == 1 + len(notes) + len(inc.bells)
        last_version = inc.version
        assert not list((tmp_path / inc.id).glob("incident.json.corrupt-*"))
    assert last_version > 30          # the children did write between kills


CONCURRENT = r"""
import sys
from pathlib import Path
from ecotui.incident.store import IncidentStore
s = IncidentStore(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()                       # go
versions = [s.note(f"{sys.argv[2]}-{i}").version for i in range(100)]
print(" ".join(map(str, versions)), flush=True)
"""


def test_two_processes_mutating_at_once_lose_nothing(tmp_path):
    start(IncidentStore(tmp_path))
    procs = []
    for name in ("a", "b"):
        p = subprocess.Popen([sys.executable, "-c", CONCURRENT, str(tmp_path), name], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=str(ROOT))
        procs.append(p)
    try:
        for p in procs:
            assert read_line(p) == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [read_line(p, timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)
    versions = [[int(v) for v in out.split()] for out in outs]
    for vs in versions:
        assert len(vs) == 100 and all(x < y for x, y in zip(vs, vs[1:]))       # strictly increasing
    assert sorted(versions[0] + versions[1]) == list(range(2, 202))              # every write its own version
    inc = IncidentStore(tmp_path).current
    assert inc is not None and inc.version == 201
    texts = {e.text for e in inc.entries if e.source == "note"}
    assert texts == {f"{n}-{i}" for n in "ab" for i in range(100)}


def test_bells_ring_once_across_a_restart(tmp_path):
    from ecotui.incident.clock import bells_due, clock_view
    from ecotui.incident.policy import load_policy
    policy, clock = load_policy(), Clock()
    s = IncidentStore(tmp_path, clock=clock)
    start(s, severity="P0")
    clock.t += 16 * 60
    due = bells_due(s.current, clock_view(s.current, policy, clock.t))
    assert due == ["response", "update-0", "escalate-L2"]
    s.mark_bells(due)
    again = IncidentStore(tmp_path, clock=clock)                  # a restart
    assert bells_due(again.current, clock_view(again.current, policy, clock.t + 60)) == []
