"""The incident clock (pure): time since start, workflow phase, and the deadlines the runbook sets.

Deadlines (ids are stable — they name the bell rung for them, once each, across restarts):

* ``response`` — the response-time SLA: start + the severity's ``response_minutes``; ``met`` once acknowledged
  (or resolved) before it; acknowledged late it stays ``critical`` (missed) in the export's sense, but it no longer
  counts for the clock's colour.
* ``update-N`` — the next status update: (last update sent, else start) + the severity's ``update_minutes``;
  N = the number of updates sent, so every update sent starts a new deadline (and a new bell).
* ``escalate-LX`` — the next level above the incident's whose minutes are set (the severity's
  ``escalate_after`` first, else the level's ``after_minutes``): start + minutes. None past the last such level.

A deadline is ``warning`` when what is left is at most 20 % of its window (at least 2 minutes), ``critical`` when
it has passed. A resolved incident's clock stops at ``resolved_at``: its next update and escalation are ``met``.
``worst`` is the clock's colour: the worst state among the deadlines still pending.
"""
from __future__ import annotations

from ecotui.incident.model import ClockView, Deadline, Incident, Phase, Policy, Severity

WARN_FRACTION = 0.2
WARN_MIN_SECONDS = 120.0
_RANK = {"ok": 0, "met": 0, "warning": 1, "critical": 2}


def fmt_duration(seconds: float) -> str:
    """Compact duration: "45s", "14m05s", "1h02m", "2d03h"; negative → "3m10s overdue"."""
    if seconds < 0:
        return f"{fmt_duration(-seconds)} overdue"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def describe_deadline(d: Deadline, now: float) -> str:
    """One phrase for a deadline: "response SLA in 14m05s", "next update 3m10s overdue", "response SLA met"."""
    if d.state == "met":
        return f"{d.label} met"
    left = d.at - now
    return f"{d.label} {fmt_duration(left)}" if left < 0 else f"{d.label} in {fmt_duration(left)}"


def _state(at: float, window_start: float, now: float) -> str:
    left = at - now
    if left <= 0:
        return "critical"
    if left <= max(WARN_FRACTION * (at - window_start), WARN_MIN_SECONDS):
        return "warning"
    return "ok"


def current_phase(policy: Policy, elapsed: float, resolved: bool) -> Phase:
    """The workflow phase: a resolved incident's is the `after_resolve` one; else the phase whose window holds
    `elapsed` (the later-starting one where they overlap)."""
    if resolved:
        for p in policy.phases:
            if p.after_resolve:
                return p
        return policy.phases[-1]
    live = [p for p in policy.phases if not p.after_resolve] or list(policy.phases)
    minutes = elapsed / 60.0
    inside = [p for p in live if p.start_minutes <= minutes and (p.end_minutes is None or minutes < p.end_minutes)]
    if not inside:
        inside = [p for p in live if p.start_minutes <= minutes] or live[:1]
    best = inside[0]
    for p in inside[1:]:
        if p.start_minutes >= best.start_minutes:
            best = p
    return best


def _severity(policy: Policy, key: str) -> Severity:
    try:
        return policy.severity(key)
    except KeyError:        # a severity the team file no longer has: the first one's numbers, not a crash
        return policy.severities[0]


def escalation_due(inc: Incident, policy: Policy) -> tuple[str, float] | None:
    """(level key, minutes after start) of the next level above the incident's that has a countdown."""
    sev = _severity(policy, inc.severity)
    keys = [lv.key for lv in policy.levels]
    start = keys.index(inc.level) + 1 if inc.level in keys else 0
    for lv in policy.levels[start:]:
        minutes = sev.escalate_after.get(lv.key, lv.after_minutes)
        if minutes is not None:
            return lv.key, float(minutes)
    return None


def clock_view(inc: Incident, policy: Policy, now: float) -> ClockView:
    resolved = inc.resolved_at is not None and not inc.open
    t = inc.resolved_at if resolved and inc.resolved_at is not None else now
    elapsed = max(0.0, t - inc.started)
    sev = _severity(policy, inc.severity)

    at = inc.started + sev.response_minutes * 60.0
    done = min((x for x in (inc.acked_at, inc.resolved_at) if x is not None), default=None)
    if done is not None and done <= at:
        state = "met"
    elif done is not None:
        state = "critical"      # acknowledged late: missed (shown, no longer colours the clock)
    else:
        state = _state(at, inc.started, t)
    response = Deadline("response", "response SLA", at, state)

    base = inc.last_update_at if inc.last_update_at is not None else inc.started
    at = base + sev.update_minutes * 60.0
    next_update = Deadline(f"update-{len(inc.updates)}", "next update", at,
                           "met" if resolved else _state(at, base, t))

    escalation = None
    due = escalation_due(inc, policy)
    if due is not None:
        level, minutes = due
        at = inc.started + minutes * 60.0
        escalation = Deadline(f"escalate-{level}", f"escalate to {level}", at,
                              "met" if resolved else _state(at, inc.started, t))

    deadlines = tuple(d for d in (response, next_update, escalation) if d is not None)
    pending = [d for d in deadlines if not (d is response and done is not None)]
    worst = max((d.state for d in pending), key=lambda s: _RANK.get(s, 0), default="ok")
    if worst == "met":
        worst = "ok"
    return ClockView(elapsed=elapsed, phase=current_phase(policy, elapsed, resolved), response=response,
                     next_update=next_update, escalation=escalation, deadlines=deadlines, worst=worst)


def bells_due(inc: Incident, view: ClockView) -> list[str]:
    """Ids of the deadlines that have passed and were not rung yet (none once the incident is resolved)."""
    if not inc.open:
        return []
    return [d.id for d in view.deadlines
            if d.state == "critical" and d.id not in inc.bells and not (d.id == "response" and inc.acked_at)]
