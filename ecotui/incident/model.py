"""Incident mode's contract: the runbook's policy (severities, phases, escalation levels, templates) and the
incident itself, as frozen values. Everything that changes an incident goes through `store.IncidentStore`
(atomic writes, a lock shared by every ecotui process); the UI only reads these snapshots.

Times are epoch seconds (float). Severity keys are "P0".."P3", level keys "L1".."L4", template keys
"initial", "update", "resolution".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TEMPLATE_KINDS = ("initial", "update", "resolution")
TEMPLATE_NAMES = {"initial": "Initial Alert", "update": "Status Update", "resolution": "Resolution"}   # the runbook's

# timeline sources (TimelineEntry.source), in the order the filter offers them
SOURCES = ("incident", "note", "update", "journal", "event", "rollout", "hpa", "metric")


@dataclass(frozen=True)
class Severity:
    key: str                      # "P1"
    name: str                     # "High"
    description: str
    response_minutes: int         # the response-time SLA (P0 15, P1 60, P2 240, P3 1440)
    escalation: str               # the runbook's words ("On-call engineer + management")
    examples: tuple[str, ...] = ()
    update_minutes: int = 30      # status-update cadence while open
    escalate_after: Mapping[str, int] = field(default_factory=dict)   # level key -> minutes unresolved
    response_text: str = ""       # the runbook's words ("Immediate (< 15 minutes)")


@dataclass(frozen=True)
class Phase:
    name: str                     # "Immediate response"
    start_minutes: int            # from the incident's start
    end_minutes: int | None       # None: until resolved
    steps: tuple[str, ...] = ()
    after_resolve: bool = False   # the phase of a resolved incident (post-incident review)


@dataclass(frozen=True)
class Level:
    key: str                      # "L2"
    name: str                     # "Senior Engineer"
    response_minutes: int
    responsibilities: str
    criteria: str                 # the runbook's escalation criteria (to the next level)
    after_minutes: int | None = None   # default minutes unresolved after which this level is due (None: judgement)


@dataclass(frozen=True)
class Template:
    subject: str                  # "[P{severity}] {service} - {brief_description}"
    body: str


@dataclass(frozen=True)
class Policy:
    severities: tuple[Severity, ...]
    phases: tuple[Phase, ...]
    levels: tuple[Level, ...]
    templates: Mapping[str, Template]
    postmortem_headings: tuple[str, ...] = ("Root cause", "Improvements", "Procedure updates")
    source: str = "defaults"      # the file it was read from

    def severity(self, key: str) -> Severity:
        for s in self.severities:
            if s.key == key:
                return s
        raise KeyError(key)

    def level(self, key: str) -> Level:
        for lv in self.levels:
            if lv.key == key:
                return lv
        raise KeyError(key)


@dataclass(frozen=True)
class TimelineEntry:
    time: float
    source: str                   # one of SOURCES
    kind: str                     # started, severity, ack, escalate, note, update, resolved; a journal action id;
                                  # an event reason; rollout; rescale; breach
    text: str                     # one line, already inert
    key: str                      # de-dup key (same key = same entry, kept once)
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateSent:
    time: float
    template: str                 # initial | update | resolution
    subject: str
    body: str
    file: str | None = None       # where it was appended


@dataclass(frozen=True)
class SeverityChange:
    time: float
    old: str
    new: str
    reason: str = ""


@dataclass(frozen=True)
class Incident:
    id: str                       # "INC-20261201-0213-4f2a"
    title: str                    # the brief description
    services: tuple[str, ...]
    namespaces: tuple[str, ...]
    severity: str
    impact: str
    context: str                  # kubeconfig context it was opened in
    user: str
    started: float
    status: str = "open"          # open | resolved
    current_status: str = "Investigating"
    eta: str = ""
    acked_at: float | None = None
    acked_by: str = ""
    level: str = "L1"
    resolved_at: float | None = None
    resolution: str = ""
    root_cause: str = ""
    post_mortem: str = ""
    last_update_at: float | None = None
    entries: tuple[TimelineEntry, ...] = ()       # own + observed, time-ordered, unique keys
    updates: tuple[UpdateSent, ...] = ()
    severity_changes: tuple[SeverityChange, ...] = ()
    bells: frozenset[str] = frozenset()           # deadline ids already rung (once each, across restarts)
    version: int = 0                              # +1 on every write

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Deadline:
    id: str                       # "response", "update-3", "escalate-L2" (stable: used for the bell)
    label: str                    # "response SLA", "next update", "escalate to L2"
    at: float
    state: str                    # ok | warning | critical (passed) | met


@dataclass(frozen=True)
class ClockView:
    elapsed: float                # seconds since start (until resolved)
    phase: Phase
    response: Deadline            # met once acknowledged in time
    next_update: Deadline
    escalation: Deadline | None   # the next level due by the matrix, if any
    deadlines: tuple[Deadline, ...]
    worst: str                    # ok | warning | critical: the clock's colour
