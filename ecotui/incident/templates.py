"""The runbook's communication templates (Initial Alert, Status Update, Resolution) filled from an incident.

Placeholders (`{name}` in the policy's subject/body): severity (the digit of "P1": the templates write
"P{severity}"), service and affected_service (the services, joined), brief_description (the title), incident_id,
user_impact_description, incident_start_time, estimated_resolution_time and updated_eta ("unknown" when not set),
current_status, next_update_time (now + the severity's update cadence: sending this update resets the countdown),
progress_description (the last actions and the newest note), resolution_description, root_cause_summary,
resolution_time, post_mortem_link. An unknown placeholder stays as written. The Update body also gets the affected
pods with their states and the last actions, appended after the template's lines. Every value is one inert line.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ecotui.incident.model import Incident, Policy
from ecotui.textsafe import one_line

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
LAST_ACTIONS = 5


@dataclass(frozen=True)
class Facts:
    pods: tuple[tuple[str, str], ...] = ()       # (pod name, state) of the affected workloads
    last_actions: tuple[str, ...] = ()            # newest last; empty: the incident's journal entries
    now: float = 0                                # 0: time.time()
    post_mortem: str = ""                         # link/path when the incident has none yet


def fmt_time(t: float) -> str:
    """"2026-12-01 02:13 UTC"."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def severity_digit(key: str) -> str:
    return key[1:] if len(key) > 1 and key[0] in "Pp" else key


def last_actions(inc: Incident, facts: Facts) -> tuple[str, ...]:
    if facts.last_actions:
        return tuple(one_line(a) for a in facts.last_actions[-LAST_ACTIONS:])
    return tuple(e.text for e in inc.entries if e.source == "journal")[-LAST_ACTIONS:]


def values(policy: Policy, inc: Incident, facts: Facts) -> dict[str, str]:
    now = facts.now or time.time()
    try:
        update_minutes = policy.severity(inc.severity).update_minutes
    except KeyError:
        update_minutes = 30
    services = ", ".join(inc.services) or "unknown"
    actions = last_actions(inc, facts)
    notes = [e.text for e in inc.entries if e.source == "note"]
    progress = "; ".join(list(actions[-3:]) + notes[-1:]) or inc.current_status
    eta = inc.eta or "unknown"
    raw = {
        "severity": severity_digit(inc.severity), "service": services, "affected_service": services,
        "brief_description": inc.title, "incident_id": inc.id, "user_impact_description": inc.impact or "unknown",
        "incident_start_time": fmt_time(inc.started), "estimated_resolution_time": eta, "updated_eta": eta,
        "current_status": inc.current_status, "next_update_time": fmt_time(now + update_minutes * 60),
        "progress_description": progress, "resolution_description": inc.resolution or "-",
        "root_cause_summary": inc.root_cause or "under investigation",
        "resolution_time": fmt_time(inc.resolved_at if inc.resolved_at is not None else now),
        "post_mortem_link": inc.post_mortem or facts.post_mortem or "to follow",
    }
    return {k: one_line(v) for k, v in raw.items()}


def render(text: str, vals: dict[str, str]) -> str:
    """Replace known `{placeholders}`; unknown ones stay as written."""
    return _PLACEHOLDER.sub(lambda m: vals.get(m.group(1), m.group(0)), text)


def fill(policy: Policy, kind: str, inc: Incident, facts: Facts = Facts()) -> tuple[str, str]:
    """(subject, body) of the template `kind` (initial | update | resolution) for `inc`."""
    tpl = policy.templates.get(kind)
    if tpl is None:
        raise KeyError(kind)
    vals = values(policy, inc, facts)
    subject = one_line(render(tpl.subject, vals))
    body = render(tpl.body, vals).rstrip("\n") + "\n"
    if kind == "update":
        extra = []
        if facts.pods:
            width = min(60, max(len(one_line(n)) for n, _ in facts.pods))
            extra.append("Affected pods:")
            extra += [f"  {one_line(n):<{width}}  {one_line(s)}" for n, s in facts.pods]
        actions = last_actions(inc, facts)
        if actions:
            extra.append("Last actions:")
            extra += [f"  - {a}" for a in actions]
        if extra:
            body += "\n" + "\n".join(extra) + "\n"
    return subject, body
