"""The incident timeline that writes itself — pure functions (no I/O, no textual): journal records, cluster
events and key-metric readings → `TimelineEntry`s; merging and filtering them.

Rules (each one tested in tests/unit/incident/test_timeline.py):

* **Journal** (`journal_entries`): records of `ecotui.ops.journal.Journal.read()` of the incident's context whose
  time is >= started - 1 s (and <= resolved_at + 1 s once resolved); events requested / done / failed / refused /
  cancelled of every action, port_forward and shell included (progress lines are not). Text "done rollout_undo
  deployments/ecotrack/payment-service → <outcome message>"; kind = the action id; key
  `journal:<time>:<event>:<action>:<targets>`.
* **Events** (`event_entries`): `ecotui.kube.models.Event` structs or the dicts of a LIST.
  Warning events of the affected namespaces → source "event" (kind = the reason); Normal ScalingReplicaSet of a
  Deployment of an affected service → source "rollout"; Normal SuccessfulRescale of an HPA whose scale target is
  an affected service (`hpa_targets`, else the HPA's name `payment-service-hpa`) → source "hpa".
  An event is kept if it was last seen at or after the start. **A repeated event is one entry**: the key is the
  event object (`event:<namespace>/<name>`, never its count) and its time the first occurrence (the incident's
  start for an event already repeating before it) — both stable, so count 1 → 5 stays one line, which the store
  updates in place (the text ends "(×5)"; `data["count"]`). Entry data is JSON-native (lists, not tuples): the
  store compares an entry with its decoded copy to know whether it changed.
* **Metrics** (`metric_entries`): a key-metric panel of an affected service changing level among ok / warn /
  crit → source "metric", kind "breach" (warn, crit) or "recovered" (back to ok). The previous level of each
  panel is read from the incident's own metric entries, so a restart does not record a breach twice; a panel
  first seen ok records nothing; no data / errors do not change the level.

Every text is one inert line (`textsafe.one_line`): event messages and names come from the cluster.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecotui.incident.model import Incident, TimelineEntry
from ecotui.kube.render import parse_time
from ecotui.metrics.panels import service_for
from ecotui.textsafe import one_line

JOURNAL_EVENTS = ("requested", "done", "failed", "refused", "cancelled")
TEXT_MAX = 300
SLACK_S = 1.0                     # records this much before the start still belong to it (clock granularity)
METRIC_LEVELS = ("ok", "warn", "crit")


def _in_window(t: float, inc: Incident) -> bool:
    if t < inc.started - SLACK_S:
        return False
    return inc.resolved_at is None or t <= inc.resolved_at + SLACK_S


# ---- journal -------------------------------------------------------------------------------------------------

def _journal_text(rec: Mapping[str, Any], event: str, action: str, targets: list[str]) -> str:
    text = f"{event} {action} {', '.join(targets)}".rstrip()
    params = rec.get("params")
    if event == "requested" and isinstance(params, Mapping) and params:
        shown = ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, "", [], {}))
        if shown:
            text += f" ({shown})"
    if action == "port_forward" and event == "done" and rec.get("local"):
        text += f" → {rec.get('local')}" + (f" via pod {rec['pod']}" if rec.get("pod") else "")
    elif rec.get("message"):
        text += f" → {rec['message']}"
    elif rec.get("reason"):
        text += f" — {rec['reason']}"
    user = rec.get("user")
    if user:
        text += f" (by {user})"
    return one_line(text, TEXT_MAX)


def journal_entries(records: Iterable[Mapping[str, Any]], inc: Incident) -> list[TimelineEntry]:
    """The journal's records that belong to the incident, as entries (journal order)."""
    out: list[TimelineEntry] = []
    for rec in records:
        if not isinstance(rec, Mapping):
            continue
        event, action = str(rec.get("event", "")), str(rec.get("action", ""))
        if event not in JOURNAL_EVENTS or not action or rec.get("context") != inc.context:
            continue
        raw_time = rec.get("time")
        t = parse_time(raw_time) if isinstance(raw_time, str) else None
        if t is None or not _in_window(t, inc):
            continue
        raw_targets = rec.get("targets")
        targets = [str(x) for x in raw_targets] if isinstance(raw_targets, list) else []
        data: dict[str, Any] = {"event": event, "action": action, "targets": targets,
                                "user": str(rec.get("user") or ""), "namespace": rec.get("namespace")}
        if "ok" in rec:
            data["ok"] = bool(rec.get("ok"))
        out.append(TimelineEntry(time=t, source="journal", kind=action,
                                 text=_journal_text(rec, event, action, targets),
                                 key=f"journal:{raw_time}:{event}:{action}:{'|'.join(targets)}", data=data))
    return out


# ---- events --------------------------------------------------------------------------------------------------

def _get(obj: Any, *path: str) -> Any:
    """A field of an Event struct or of a LIST's dict, by path (None when missing)."""
    cur = obj
    for p in path:
        if cur is None:
            return None
        cur = cur.get(p) if isinstance(cur, Mapping) else getattr(cur, p, None)
    return cur


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _times(ev: Any) -> tuple[float | None, float | None]:
    """(first seen, last seen) of an event (kubectl's field order)."""
    first = None
    for ts in (_get(ev, "firstTimestamp"), _get(ev, "eventTime"), _get(ev, "metadata", "creationTimestamp")):
        first = parse_time(_s(ts) or None)
        if first is not None:
            break
    last = None
    for ts in (_get(ev, "series", "lastObservedTime"), _get(ev, "lastTimestamp"), _get(ev, "eventTime")):
        last = parse_time(_s(ts) or None)
        if last is not None:
            break
    if last is None:
        last = first
    if first is None:
        first = last
    return first, last


def _count(ev: Any) -> int:
    n = _get(ev, "series", "count") or _get(ev, "count")
    return n if isinstance(n, int) and n > 0 else 1


def event_entries(events: Iterable[Any], inc: Incident,
                  hpa_targets: Mapping[tuple[str, str], str] | None = None) -> list[TimelineEntry]:
    """Events → entries (see the module's rules). `hpa_targets`: (namespace, HPA name) → the name of the
    workload it scales (`spec.scaleTargetRef.name`); an HPA not in it is matched by its own name."""
    namespaces = set(inc.namespaces)
    services = tuple(inc.services)
    out: list[TimelineEntry] = []
    for ev in events:
        ns = _s(_get(ev, "metadata", "namespace")) or _s(_get(ev, "involvedObject", "namespace"))
        name = _s(_get(ev, "metadata", "name"))
        etype, reason = _s(_get(ev, "type")), _s(_get(ev, "reason"))
        okind, oname = _s(_get(ev, "involvedObject", "kind")), _s(_get(ev, "involvedObject", "name"))
        if not name:
            continue
        first, last = _times(ev)
        if last is None or first is None or not _in_window(last, inc):
            continue
        if inc.resolved_at is not None and first > inc.resolved_at + SLACK_S:
            continue
        service = service_for(oname, services) if services else None
        if etype == "Warning":
            if ns not in namespaces:
                continue
            source, kind = "event", reason or "Warning"
            text = f"Warning {reason} {okind.lower()}/{oname}: {_s(_get(ev, 'message'))}"
        elif reason == "ScalingReplicaSet" and okind == "Deployment":
            if service is None:
                continue
            source, kind = "rollout", "rollout"
            text = f"rollout deployment/{oname}: {_s(_get(ev, 'message'))}"
        elif reason == "SuccessfulRescale" and okind == "HorizontalPodAutoscaler":
            target = (hpa_targets or {}).get((ns, oname))
            service = (service_for(target, services) if target is not None else service) if services else None
            if service is None:
                continue
            source, kind = "hpa", "rescale"
            text = f"hpa {oname}" + (f" → {target}" if target else "") + f": {_s(_get(ev, 'message'))}"
        else:
            continue
        count = _count(ev)
        if count > 1:
            text += f" (×{count})"
        data = {"namespace": ns, "name": name, "reason": reason, "object": f"{okind}/{oname}",
                "count": count, "service": service or ""}
        t = max(first, inc.started)
        out.append(TimelineEntry(time=t, source=source, kind=kind, text=one_line(f"{ns}: {text}", TEXT_MAX),
                                 key=f"event:{ns}/{name}", data=data))
    return out


# ---- key metrics ---------------------------------------------------------------------------------------------

def metric_levels(entries: Iterable[TimelineEntry]) -> dict[tuple[str, str], str]:
    """The last recorded level of each (service, panel) from an incident's metric entries."""
    levels: dict[tuple[str, str], str] = {}
    for e in entries:
        if e.source == "metric":
            svc, panel, level = e.data.get("service"), e.data.get("panel"), e.data.get("level")
            if isinstance(svc, str) and isinstance(panel, str) and level in METRIC_LEVELS:
                levels[(svc, panel)] = str(level)
    return levels


def metric_entries(readings: Iterable[tuple[str, str, str, str, str]], previous: Mapping[tuple[str, str], str],
                   now: float) -> list[TimelineEntry]:
    """Level changes as entries. `readings`: (service, panel id, panel title, level, value text) — level is a
    `metrics.levels.Level` value ("ok", "warn", "crit", others ignored); `previous`: `metric_levels(...)`."""
    out: list[TimelineEntry] = []
    for svc, panel, title, level, value in readings:
        if level not in METRIC_LEVELS:
            continue
        before = previous.get((svc, panel))
        if level == before or (before is None and level == "ok"):
            continue
        if level == "ok":
            kind, text = "recovered", f"{svc} {title} recovered: {value}"
        else:
            word = "critical" if level == "crit" else "warning"
            kind, text = "breach", f"{svc} {title} {word}: {value}"
        out.append(TimelineEntry(time=now, source="metric", kind=kind, text=one_line(text, TEXT_MAX),
                                 key=f"metric:{svc}:{panel}:{level}:{now:.3f}",
                                 data={"service": svc, "panel": panel, "level": level, "value": value,
                                       "previous": before or ""}))
    return out


# ---- merge / filter ------------------------------------------------------------------------------------------

def merge(*lists: Iterable[TimelineEntry]) -> tuple[TimelineEntry, ...]:
    """One time-ordered timeline: the first entry of each key is kept; equal times keep their input order."""
    seen: set[str] = set()
    out: list[TimelineEntry] = []
    for entries in lists:
        for e in entries:
            if e.key not in seen:
                seen.add(e.key)
                out.append(e)
    out.sort(key=lambda e: e.time)   # stable
    return tuple(out)


def filter_entries(entries: Iterable[TimelineEntry], sources: set[str] | frozenset[str] | None = None,
                   text: str = "") -> list[TimelineEntry]:
    """The entries of the given sources (None: all) whose text or kind contains `text` (case-insensitive)."""
    needle = text.strip().casefold()
    return [e for e in entries
            if (sources is None or e.source in sources)
            and (not needle or needle in e.text.casefold() or needle in e.kind.casefold())]
