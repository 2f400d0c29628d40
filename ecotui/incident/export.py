"""The incident as one markdown file: evidence and the post-mortem skeleton.

Sections: Summary, Severity changes, Timeline (every entry, in order), Actions and outcomes (the journal's
entries), Status updates sent (full text), and the runbook's post-incident headings (root cause filled in;
improvements and procedure updates left to write). Written atomically to `<dir_for(inc)>/postmortem-<id>.md`.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from ecotui.incident.clock import clock_view, fmt_duration
from ecotui.incident.model import TEMPLATE_NAMES, Incident, Policy
from ecotui.incident.store import IncidentError, IncidentStore, atomic_write
from ecotui.incident.templates import fmt_time
from ecotui.textsafe import inert, one_line

TO_WRITE = "_to be written_"


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def _cell(s: str) -> str:
    return one_line(s).replace("|", "\\|") or "-"


def _fence(body: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _summary(inc: Incident, policy: Policy, now: float) -> list[str]:
    view = clock_view(inc, policy, now)
    try:
        sev = policy.severity(inc.severity)
        severity = f"{inc.severity} ({sev.name}: {sev.description})"
    except KeyError:
        severity = inc.severity
    if inc.severity_changes:
        severity += f" — opened as {inc.severity_changes[0].old}"
    try:
        level = f"{inc.level} ({policy.level(inc.level).name})"
    except KeyError:
        level = inc.level
    if inc.acked_at is not None:
        sla = "met" if view.response.state == "met" else "missed"
        acked = f"{fmt_time(inc.acked_at)}" + (f" by {inc.acked_by}" if inc.acked_by else "") + \
            f" after {fmt_duration(inc.acked_at - inc.started)} (response SLA {sla})"
    else:
        acked = "not acknowledged"
    rows = [("Incident", inc.id), ("Title", inc.title), ("Severity", severity),
            ("Services", ", ".join(inc.services) or "-"), ("Namespaces", ", ".join(inc.namespaces) or "-"),
            ("Context", inc.context), ("Opened by", inc.user), ("User impact", inc.impact),
            ("Started", fmt_time(inc.started)), ("Acknowledged", acked), ("Escalation level", level),
            ("Status", "resolved" if not inc.open else f"open — {inc.current_status}")]
    if inc.eta and inc.open:
        rows.append(("ETA", inc.eta))
    if inc.resolved_at is not None:
        rows.append(("Resolved", fmt_time(inc.resolved_at)))
    rows += [("Duration", fmt_duration(view.elapsed) + ("" if not inc.open else " so far")),
             ("Resolution", inc.resolution or "-"), ("Root cause", inc.root_cause or "-"),
             ("Post-mortem", inc.post_mortem or "-"), ("Status updates sent", str(len(inc.updates)))]
    return ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in rows]


def export_markdown(inc: Incident, policy: Policy, now: float) -> str:
    out = [f"# {inc.id} — [{inc.severity}] {one_line(', '.join(inc.services) or '-')} - {one_line(inc.title)}", "",
           f"_Exported {fmt_time(now)} by ecotui (policy: {one_line(policy.source)})._", "", "## Summary", ""]
    out += _summary(inc, policy, now)

    out += ["", "## Severity changes", ""]
    if inc.severity_changes:
        out += [f"- {_ts(c.time)} UTC — {c.old} → {c.new}" + (f": {one_line(c.reason)}" if c.reason else "")
                for c in inc.severity_changes]
    else:
        out.append(f"None — {inc.severity} throughout.")

    out += ["", "## Timeline", ""]
    out += [f"- {_ts(e.time)} UTC · {e.source} · {one_line(e.text)}" for e in inc.entries] or ["(empty)"]

    out += ["", "## Actions and outcomes", ""]
    actions = [e for e in inc.entries if e.source == "journal"]
    if actions:
        for e in actions:
            msg = e.data.get("message")
            line = f"- {_ts(e.time)} UTC — {one_line(e.text)}"
            if isinstance(msg, str) and msg and one_line(msg) not in e.text:
                line += f" — {one_line(msg)}"
            out.append(line)
    else:
        out.append("No cluster actions were taken through ecotui.")

    out += ["", "## Status updates sent", ""]
    if not inc.updates:
        out.append("None.")
    for n, u in enumerate(inc.updates, 1):
        name = TEMPLATE_NAMES.get(u.template, u.template)
        out += [f"### {n}. {name} — {fmt_time(u.time)}", "", f"**{_cell(u.subject)}**", ""]
        if u.file:
            out += [f"Appended to `{one_line(u.file)}`.", ""]
        body = inert(u.body.rstrip("\n"), multiline=True)
        fence = _fence(body)
        out += [f"{fence}text", body, fence, ""]
    if inc.updates:
        out.pop()

    out += ["", "## Post-incident review", ""]
    for heading in policy.postmortem_headings:
        text = TO_WRITE
        if heading.strip().lower() == "root cause" and inc.root_cause:
            text = inc.root_cause
        out += [f"### {one_line(heading)}", "", one_line(text), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_export(store: IncidentStore, inc: Incident, policy: Policy, now: float,
                 directory: str | Path | None = None) -> Path:
    """`<dir_for(inc)>/postmortem-<id>.md` (or in `directory`, config incident.export_dir), atomically."""
    text = export_markdown(inc, policy, now)
    name = f"postmortem-{inc.id}.md"
    if directory is None:
        return store.write_artifact(inc, name, text)
    path = Path(directory).expanduser() / name
    try:
        return atomic_write(path, text)
    except OSError as exc:
        raise IncidentError(f"cannot write {path}: {exc.strerror or exc}") from None
