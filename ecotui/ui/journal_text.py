"""The action journal as text for the in-app viewer: newest first, one line per event, details indented."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ecotui.textsafe import one_line


def journal_text(entries: list[dict[str, Any]], path: Path) -> str:
    if not entries:
        return f"No actions yet.\n\nThe journal is {path}"
    lines = [f"{len(entries)} events · {path}", ""]
    for e in reversed(entries):
        targets = ", ".join(str(t) for t in e.get("targets") or [])
        head = (f"{str(e.get('time', ''))[:19].replace('T', ' ')}  {str(e.get('event', '')):<9} "
                f"{str(e.get('action', '')):<15} {targets}")
        lines.append(one_line(head, 200))
        who = f"by {e.get('user', '?')} on {e.get('context', '?')}" + (
            f" (ns {e['namespace']})" if e.get("namespace") else "")
        lines.append("    " + one_line(who, 200))
        params = e.get("params") or {}
        if params:
            lines.append("    " + one_line("params: " + ", ".join(f"{k}={v}" for k, v in params.items()), 200))
        for key in ("reason", "message"):
            if e.get(key):
                lines.append("    " + one_line(f"{key}: {e[key]}", 300))
        pods = (e.get("details") or {}).get("pods") if isinstance(e.get("details"), dict) else None
        if isinstance(pods, dict):
            for pod, r in list(pods.items())[:50]:
                state = r.get("state", "") if isinstance(r, dict) else r
                msg = r.get("message", "") if isinstance(r, dict) else ""
                lines.append("      " + one_line(f"{pod}: {state}" + (f" — {msg}" if msg else ""), 200))
    return "\n".join(lines)
