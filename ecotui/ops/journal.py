"""The action journal: every action ecotui takes (or refuses) on a cluster, one JSON object per line,
appended and fsync'd — readable in the app ([journal]) and, later, by the incident timeline.

Each line: `time` (RFC 3339 UTC), `event` (requested | done | failed | refused | cancelled | progress),
`action` (action id), `user`, `context`, `namespace`, `targets` (["nodes/ip-…", "pods/ns/name"]),
`params`, and for outcomes `ok`, `message`, `details` (a drain's per-pod results).

The file is `$ECOTUI_STATE_DIR/journal.jsonl`, else `$XDG_STATE_HOME/ecotui/journal.jsonl`
(default `~/.local/state/ecotui/journal.jsonl`). A write that fails is reported, never fatal.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ecotui.ops.outcome import Outcome, Preview, Target

EVENTS = ("requested", "done", "failed", "refused", "cancelled", "progress")
READ_MAX_BYTES = 4 * 1024 * 1024  # the viewer reads at most the last 4 MiB


def state_dir() -> Path:
    explicit = os.environ.get("ECOTUI_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "ecotui"


def default_path() -> Path:
    return state_dir() / "journal.jsonl"


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


class Journal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        self.last_error = ""

    def append(self, event: str, action: str, *, context: str, namespace: str | None, user: str,
               targets: Iterable[Target] = (), params: dict[str, Any] | None = None, **extra: Any) -> bool:
        """Append one event line and fsync it. False (and `last_error`) if it could not be written."""
        rec: dict[str, Any] = {"time": _now(), "event": event, "action": action, "user": user,
                               "context": context, "namespace": namespace,
                               "targets": [str(t) for t in targets], "params": params or {}}
        rec.update(extra)
        line = json.dumps(rec, default=str, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line.encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            self.last_error = f"journal {self.path}: {exc.strerror or exc}"
            return False
        return True

    def requested(self, preview: Preview, **who: Any) -> bool:
        return self.append("requested", preview.action, targets=preview.targets, params=preview.params, **who)

    def outcome(self, preview: Preview, outcome: Outcome, **who: Any) -> bool:
        return self.append("done" if outcome.ok else "failed", outcome.action, targets=outcome.targets or preview.targets,
                           params=preview.params, ok=outcome.ok, message=outcome.message, details=outcome.details,
                           **who)

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The last `limit` entries, oldest first; unreadable lines are skipped (a torn last line too)."""
        try:
            with open(self.path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - READ_MAX_BYTES))
                data = fh.read()
        except OSError:
            return []
        out: list[dict[str, Any]] = []
        for raw in data.splitlines()[-limit:]:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out
