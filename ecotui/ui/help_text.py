"""Plain text for the help screen and for describing a bare event. Pure; no Textual."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecotui.actions import GROUPS
from ecotui.keymap import Keymap, help_rows
from ecotui.kube.render import event_count, event_object, event_time, human_age
from ecotui.textsafe import inert, one_line

GROUP_TITLES = {"global": "Everywhere", "table": "In a table (nodes, pods, events, kind views): moves, marks, actions",
                "describe": "In describe / help", "dialog": "In a confirmation dialog",
                "logs": "In the log viewer (also: cursor keys, the filter key, back)",
                "incident": "In the incident view (key 9; also: cursor keys, the filter key, back)"}

FILTER_HELP = """\
Filter (the filter key, then type; Enter keeps it, the back key clears it):
  web            rows whose text contains "web" (any column, case-insensitive)
  app=web        label selector (kubectl syntax): app=web,tier!=db  env in (a,b)  !canary
  l:app          force a label selector ("has label app");  t:a=b  force a text search
Node → pods: Enter on a node shows only its pods; the back key returns to the nodes.
Commands (the command key): ns NAME|all, ctx NAME, theme NAME, nodes, pods, events, help, q"""


def help_text(keymap: Keymap, problems: Sequence[str], themes: Sequence[str], current_theme: str) -> str:
    rows = help_rows(keymap)
    width_id = max((len(r[1]) for r in rows), default=10)
    width_keys = max((len(r[2]) for r in rows), default=6)
    out: list[str] = []
    for group in GROUPS:
        out.append(f"{GROUP_TITLES.get(group, group)}:")
        for g, aid, keys, desc in rows:
            if g == group:
                out.append(f"  {(keys or '(unbound)'):<{width_keys}}  {aid:<{width_id}}  {desc}")
        out.append("")
    out.append(FILTER_HELP)
    out.append("")
    out.append(f"Themes: {', '.join(themes)} (current: {current_theme})")
    out.append("")
    if problems:
        out.append("Start-up problems (keymap / themes):")
        out.extend(f"  ! {one_line(p, 300)}" for p in problems)
    else:
        out.append("Start-up problems: none")
    return "\n".join(out) + "\n"


def event_text(ev: Any, now: float) -> str:
    t = event_time(ev)
    lines = [
        f"Object:    {inert(event_object(ev))}",
        f"Namespace: {inert(ev.metadata.namespace or ev.involvedObject.namespace) or '<none>'}",
        f"Type:      {inert(ev.type)}",
        f"Reason:    {inert(ev.reason)}",
        f"Last seen: {human_age(now - t) + ' ago' if t is not None else '<unknown>'}",
        f"Count:     {event_count(ev)}",
        f"Source:    {inert(ev.source.component or ev.reportingComponent) or '<none>'}",
        "Message:",
        "  " + inert(ev.message, multiline=True).replace("\n", "\n  "),
    ]
    return "\n".join(lines) + "\n"
