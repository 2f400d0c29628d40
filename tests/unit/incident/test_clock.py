"""The incident clock with an injected now: SLA, next update, escalation, phases, bells."""
from __future__ import annotations

from dataclasses import replace

import pytest

from ecotui.incident.clock import bells_due, clock_view, describe_deadline, escalation_due, fmt_duration
from ecotui.incident.model import Incident, UpdateSent
from ecotui.incident.policy import load_policy

T0 = 1_764_555_180.0      # 2025-12-01 02:13 UTC
MIN = 60.0
POLICY = load_policy()


def inc(severity="P1", **kw) -> Incident:
    return Incident(id="INC-20251201-0213-abcd", title="payments failing", services=("payment-service",),
                    namespaces=("ecotrack",), severity=severity, impact="checkout fails", context="tb", user="me",
                    started=T0, **kw)


def test_p0_past_15_minutes_not_acked_is_overdue():
    v = clock_view(inc("P0"), POLICY, T0 + 16 * MIN)
    assert v.response.id == "response" and v.response.state == "critical"
    assert v.response.at == T0 + 15 * MIN
    assert v.worst == "critical"
    assert describe_deadline(v.response, T0 + 16 * MIN) == "response SLA 1m00s overdue"


def test_p1_at_50_minutes_is_warning_and_at_40_ok():
    assert clock_view(inc("P1"), POLICY, T0 + 50 * MIN).response.state == "warning"   # 10 min left of 60: ≤ 20 %
    assert clock_view(inc("P1"), POLICY, T0 + 40 * MIN).response.state == "ok"
    # the warning floor is 2 minutes: a short window still warns 2 minutes ahead
    assert clock_view(inc("P0"), POLICY, T0 + 12.5 * MIN).response.state == "warning"  # 2.5 min left, 20 % = 3


def test_acked_in_time_is_met_and_no_longer_colours_the_clock():
    i = inc("P0", acked_at=T0 + 5 * MIN, acked_by="me")
    v = clock_view(i, POLICY, T0 + 16 * MIN)
    assert v.response.state == "met"
    assert describe_deadline(v.response, T0 + 16 * MIN) == "response SLA met"
    assert "response" not in bells_due(i, v)
    # acknowledged late: missed (shown critical) but the clock's colour comes from what is still pending
    late = inc("P1", acked_at=T0 + 70 * MIN, last_update_at=T0 + 65 * MIN)
    lv = clock_view(late, POLICY, T0 + 71 * MIN)
    assert lv.response.state == "critical" and lv.next_update.state == "ok"
    assert lv.escalation is not None and lv.escalation.state == "critical"     # L2 was due at 60
    assert lv.worst == "critical"


def test_next_update_due_resets_after_an_update():
    i = inc("P1")
    v = clock_view(i, POLICY, T0 + 10 * MIN)
    assert v.next_update.id == "update-0" and v.next_update.at == T0 + 30 * MIN and v.next_update.state == "ok"
    assert clock_view(i, POLICY, T0 + 31 * MIN).next_update.state == "critical"
    sent = replace(i, last_update_at=T0 + 31 * MIN,
                   updates=(UpdateSent(T0 + 31 * MIN, "initial", "s", "b"),))
    v2 = clock_view(sent, POLICY, T0 + 32 * MIN)
    assert v2.next_update.id == "update-1" and v2.next_update.at == T0 + 61 * MIN and v2.next_update.state == "ok"


def test_escalation_due_by_the_matrix():
    v = clock_view(inc("P1"), POLICY, T0 + 10 * MIN)
    assert v.escalation is not None
    assert (v.escalation.id, v.escalation.label, v.escalation.at) == ("escalate-L2", "escalate to L2", T0 + 60 * MIN)
    # at L2 the next countdown is the P1's L3 (120 min); P0's run faster
    assert escalation_due(inc("P1", level="L2"), POLICY) == ("L3", 120.0)
    assert escalation_due(inc("P0"), POLICY) == ("L2", 15.0)
    assert escalation_due(inc("P0", level="L4"), POLICY) is None
    assert clock_view(inc("P0", level="L4"), POLICY, T0).escalation is None


def test_phases_follow_the_workflow():
    names = [clock_view(inc(), POLICY, T0 + m * MIN).phase.name for m in (0, 14, 15, 44, 46, 60, 300)]
    assert names == ["Immediate response", "Immediate response", "Investigation", "Investigation", "Communication",
                     "Resolution and recovery", "Resolution and recovery"]


def test_resolved_stops_the_clock():
    i = inc("P1", acked_at=T0 + MIN, status="resolved", resolved_at=T0 + 40 * MIN)
    for now in (T0 + 40 * MIN, T0 + 5 * 3600):
        v = clock_view(i, POLICY, now)
        assert v.elapsed == 40 * MIN
        assert v.phase.name == "Post-incident review"
        assert v.next_update.state == "met" and v.escalation is not None and v.escalation.state == "met"
        assert v.worst == "ok"
    assert bells_due(i, clock_view(i, POLICY, T0 + 5 * 3600)) == []


def test_bells_once_per_deadline():
    i = inc("P0")
    v = clock_view(i, POLICY, T0 + 16 * MIN)
    due = bells_due(i, v)
    assert due == ["response", "update-0", "escalate-L2"]     # P0: response 15, update 15, L2 after 15
    rung = replace(i, bells=frozenset(due))
    assert bells_due(rung, clock_view(rung, POLICY, T0 + 17 * MIN)) == []
    # escalated to L2: the next countdown (L3, 30 min for a P0) rings once in its turn
    at_l2 = replace(rung, level="L2")
    assert bells_due(at_l2, clock_view(at_l2, POLICY, T0 + 29 * MIN)) == []
    assert bells_due(at_l2, clock_view(at_l2, POLICY, T0 + 31 * MIN)) == ["escalate-L3"]


@pytest.mark.parametrize("secs, text", [(0, "0s"), (45, "45s"), (845, "14m05s"), (3720, "1h02m"),
                                        (93600, "1d02h"), (-190, "3m10s overdue")])
def test_fmt_duration(secs, text):
    assert fmt_duration(secs) == text


def test_unknown_severity_does_not_crash():
    v = clock_view(inc("SEV9"), POLICY, T0 + MIN)
    assert v.response.at == T0 + POLICY.severities[0].response_minutes * MIN
