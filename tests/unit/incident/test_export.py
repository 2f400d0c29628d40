"""The markdown export holds every part the issue lists, in order."""
from __future__ import annotations

from ecotui.incident.export import export_markdown, write_export
from ecotui.incident.model import TimelineEntry
from ecotui.incident.policy import load_policy
from ecotui.incident.store import IncidentStore
from ecotui.incident.templates import Facts, fill

T0 = 1_764_555_180.0
POLICY = load_policy()


class Clock:
    t = T0

    def __call__(self) -> float:
        return self.t


def lived_incident(tmp_path):
    clock = Clock()
    s = IncidentStore(tmp_path, clock=clock)
    s.start(title="checkout payments failing", services=["payment-service"], namespaces=["ecotrack"],
            severity="P1", impact="30% of checkouts fail", context="ecotui-testbed", user="alice")
    clock.t += 120
    s.ack("alice")
    s.add_entries([
        TimelineEntry(T0 + 30, "event", "BackOff", "Warning BackOff pod/payment-service-abc: Back-off restarting",
                      "event:u1"),
        TimelineEntry(T0 + 200, "journal", "rollout_undo", "requested rollout_undo deployments/ecotrack/payment-service",
                      "journal:r"),
        TimelineEntry(T0 + 205, "journal", "rollout_undo",
                      "done rollout_undo deployments/ecotrack/payment-service → revision 3", "journal:d",
                      {"event": "done", "message": "rolled back to revision 3"}),
    ])
    clock.t += 180
    s.note("error rate back under 1%")
    subject, body = fill(POLICY, "initial", s.current, Facts(now=clock.t))
    s.record_update("initial", subject, body, file=str(tmp_path / "updates.md"))
    clock.t += 60
    s.set_severity("P0", reason="all regions affected")
    s.escalate()
    clock.t += 600
    subject, body = fill(POLICY, "update", s.current, Facts(pods=(("payment-service-abc", "Running"),), now=clock.t))
    s.record_update("update", subject, body)
    clock.t += 900
    inc = s.resolve("rolled back to revision 3", "bad connection pool size in v2.4.1", "https://wiki/pm/42")
    return s, inc, clock.t


def test_export_holds_every_part(tmp_path):
    _, inc, now = lived_incident(tmp_path)
    md = export_markdown(inc, POLICY, now)
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads == ["## Summary", "## Severity changes", "## Timeline", "## Actions and outcomes",
                     "## Status updates sent", "## Post-incident review"]
    sec = {h: md.split(h, 1)[1].split("\n## ", 1)[0] for h in heads}
    summary = sec["## Summary"]
    for want in (inc.id, "checkout payments failing", "P0 (Critical", "opened as P1", "payment-service", "ecotrack",
                 "30% of checkouts fail", "2025-12-01 02:13 UTC", "by alice after 2m00s (response SLA met)",
                 "L2 (Senior Engineer)", "resolved", "rolled back to revision 3", "bad connection pool size",
                 "https://wiki/pm/42", "| Duration | 31m00s |"):
        assert want in summary, want
    assert "P1 → P0: all regions affected" in sec["## Severity changes"]
    # every timeline entry, in order
    lines = [ln for ln in sec["## Timeline"].splitlines() if ln.startswith("- ")]
    assert len(lines) == len(inc.entries)
    for ln, e in zip(lines, inc.entries):
        assert ln.endswith(e.text)
    order = ["started P1", "Warning BackOff", "acknowledged", "requested rollout_undo", "done rollout_undo",
             "error rate back", "Initial Alert sent", "severity P1 → P0", "escalated L1 → L2", "Status Update sent",
             "resolved: rolled back"]
    pos = [sec["## Timeline"].index(x) for x in order]
    assert pos == sorted(pos)
    actions = sec["## Actions and outcomes"]
    assert "requested rollout_undo" in actions
    assert "done rollout_undo deployments/ecotrack/payment-service → revision 3 — rolled back to revision 3" in actions
    sent = sec["## Status updates sent"]
    assert "Initial Alert" in sent and "Status Update" in sent
    assert "**[P1] payment-service - checkout payments failing**" in sent
    assert "Status: Investigating" in sent and "payment-service-abc" in sent      # full bodies
    assert f"Appended to `{tmp_path / 'updates.md'}`" in sent
    review = sec["## Post-incident review"]
    assert "### Root cause\n\nbad connection pool size in v2.4.1" in review
    assert "### Improvements\n\n_to be written_" in review and "### Procedure updates" in review


def test_write_export_is_next_to_the_incident(tmp_path):
    s, inc, now = lived_incident(tmp_path)
    p = write_export(s, inc, POLICY, now)
    assert p == tmp_path / inc.id / f"postmortem-{inc.id}.md"
    assert p.read_text() == export_markdown(inc, POLICY, now)
    other = write_export(s, inc, POLICY, now, directory=tmp_path / "exports")
    assert other == tmp_path / "exports" / f"postmortem-{inc.id}.md" and other.is_file()


def test_open_incident_exports_too_and_fences_hold(tmp_path):
    clock = Clock()
    s = IncidentStore(tmp_path, clock=clock)
    s.start(title="t", services=[], namespaces=[], severity="P2", impact="", context="c", user="u")
    inc = s.record_update("update", "subj", "body with ``` a fence\nand more")
    md = export_markdown(inc, POLICY, T0 + 60)
    assert "open — Investigating" in md and "so far" in md and "None — P2 throughout." in md
    assert "No cluster actions were taken through ecotui." in md
    assert "````text\nbody with ``` a fence\nand more\n````" in md
    assert "### Root cause\n\n_to be written_" in md
