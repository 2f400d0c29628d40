"""The runbook's three templates filled from an incident."""
from __future__ import annotations

from dataclasses import replace

from ecotui.incident.model import Incident, Policy, Template, TimelineEntry
from ecotui.incident.policy import load_policy
from ecotui.incident.templates import Facts, fill, fmt_time

T0 = 1_764_555_180.0          # 2025-12-01 02:13 UTC
POLICY = load_policy()


def incident(**kw) -> Incident:
    base = Incident(id="INC-20251201-0213-abcd", title="checkout payments failing", services=("payment-service",),
                    namespaces=("ecotrack",), severity="P1", impact="~30% of checkouts fail with 502",
                    context="ecotui-testbed", user="alice", started=T0)
    return replace(base, **kw)


def test_initial_alert():
    subject, body = fill(POLICY, "initial", incident(eta="03:30 UTC"), Facts(now=T0 + 120))
    assert subject == "[P1] payment-service - checkout payments failing"
    assert body.splitlines() == [
        "Incident: INC-20251201-0213-abcd",
        "Severity: P1",
        "Service: payment-service",
        "Impact: ~30% of checkouts fail with 502",
        "Started: 2025-12-01 02:13 UTC",
        "Status: Investigating",
        "ETA: 03:30 UTC",
    ]
    assert "ETA: unknown" in fill(POLICY, "initial", incident(), Facts(now=T0))[1]


def test_status_update_holds_next_update_pods_and_last_actions():
    inc = incident(severity="P0", current_status="Mitigating", entries=(
        TimelineEntry(T0 + 60, "journal", "rollout_undo",
                      "done rollout_undo deployments/ecotrack/payment-service → revision 3", "j1"),
        TimelineEntry(T0 + 90, "note", "note", "error rate falling", "n1"),
    ))
    now = T0 + 600
    subject, body = fill(POLICY, "update", inc, Facts(
        pods=(("payment-service-7d9f-abcde", "Running"), ("payment-service-7d9f-xyz12", "CrashLoopBackOff")),
        now=now))
    assert subject == "[UPDATE] [P0] payment-service - checkout payments failing"
    lines = body.splitlines()
    assert lines[0] == "Incident: INC-20251201-0213-abcd"
    assert lines[1] == ("Update: done rollout_undo deployments/ecotrack/payment-service → revision 3; "
                        "error rate falling")
    assert lines[2] == "Current Status: Mitigating"
    # sending this update resets the countdown: the next one is due a P0 cadence (15 min) from now
    assert lines[3] == f"Next Update: {fmt_time(now + 15 * 60)}" == "Next Update: 2025-12-01 02:38 UTC"
    assert lines[4] == "ETA: unknown"
    assert "Affected pods:" in lines
    assert any("payment-service-7d9f-abcde" in ln and ln.endswith("Running") for ln in lines)
    assert any("payment-service-7d9f-xyz12" in ln and ln.endswith("CrashLoopBackOff") for ln in lines)
    assert "Last actions:" in lines
    assert "  - done rollout_undo deployments/ecotrack/payment-service → revision 3" in lines


def test_update_uses_the_given_last_actions_first():
    _, body = fill(POLICY, "update", incident(), Facts(last_actions=("scaled payment-service to 4",), now=T0))
    assert "Update: scaled payment-service to 4" in body and "  - scaled payment-service to 4" in body


def test_resolution():
    inc = incident(status="resolved", resolved_at=T0 + 3600, resolution="rolled back to revision 3",
                   root_cause="a bad connection-pool setting in the new image", post_mortem="https://wiki/pm/42")
    subject, body = fill(POLICY, "resolution", inc, Facts(now=T0 + 4000))
    assert subject == "[RESOLVED] [P1] payment-service - checkout payments failing"
    assert body.splitlines() == [
        "Incident: INC-20251201-0213-abcd",
        "Resolution: rolled back to revision 3",
        "Root Cause: a bad connection-pool setting in the new image",
        "Resolved: 2025-12-01 03:13 UTC",
        "Post-Mortem: https://wiki/pm/42",
    ]


def test_unknown_placeholders_stay_and_values_are_inert():
    policy = Policy(severities=POLICY.severities, phases=POLICY.phases, levels=POLICY.levels,
                    templates={"initial": Template("{nope} [P{severity}] {service}", "Bridge: {bridge_url}\n"
                                                   "Title: {brief_description}\n{")},
                    postmortem_headings=POLICY.postmortem_headings)
    subject, body = fill(policy, "initial", incident(title="evil\x1b]52;c;AAAA\x07 title\nsecond line"),
                         Facts(now=T0))
    assert subject == "{nope} [P1] payment-service"
    assert "Bridge: {bridge_url}" in body
    assert "Title: evil\\x1b]52;c;AAAA\\x07 title second line" in body
    assert "\x1b" not in body and body.endswith("{\n")


def test_several_services_are_joined():
    subject, body = fill(POLICY, "initial", incident(services=("payment-service", "order-service")), Facts(now=T0))
    assert subject.startswith("[P1] payment-service, order-service - ")
    assert "Service: payment-service, order-service" in body
