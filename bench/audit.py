"""Count the benchmark's own API requests from the testbed's audit log.

The API server writes one JSON line per request stage (ResponseStarted for watches, ResponseComplete) for the
user `oncall-engineer`. We keep the events whose credential-id is the benchmark's certificate, group them by
auditID (one request), and count the requests *received* inside a wall-clock window, per user-agent prefix.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .toolenv import paths

CRED_KEY = "authentication.kubernetes.io/credential-id"


def _ts(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


@dataclass
class Requests:
    total: int = 0
    pod_lists: int = 0          # LIST on core pods (no subresource): an initial list (page) or a re-list
    pod_watches: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # a few "VERB uri" lines for the report

    def per_minute(self, seconds: float) -> float:
        return self.total * 60.0 / seconds if seconds > 0 else 0.0


class AuditTail:
    """Reads only what the log gained since `mark()` (falls back to every audit*.log after a rotation)."""

    def __init__(self, log: Path | None = None) -> None:
        self.log = log or paths.audit_log()
        self.inode = 0
        self.offset = 0

    def mark(self) -> None:
        try:
            st = self.log.stat()
            self.inode, self.offset = st.st_ino, st.st_size
        except FileNotFoundError:
            self.inode, self.offset = 0, 0

    def _lines(self) -> Iterator[str]:
        try:
            st = self.log.stat()
        except FileNotFoundError:
            return
        if st.st_ino == self.inode and st.st_size >= self.offset:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                for raw in f:
                    yield raw.decode("utf-8", "replace")
            return
        for p in sorted(self.log.parent.glob("audit*.log"), key=os.path.getmtime):  # rotated: read everything
            with open(p, "rb") as f:
                for raw in f:
                    yield raw.decode("utf-8", "replace")

    def count(self, credential_id: str, ua_prefix: str, t0: float, t1: float) -> Requests:
        """Requests received in [t0, t1] (epoch seconds) by our certificate with a user agent starting ua_prefix."""
        seen: dict[str, dict] = {}
        for line in self._lines():
            if credential_id not in line or ua_prefix not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            extra = (ev.get("user") or {}).get("extra") or {}
            if credential_id not in extra.get(CRED_KEY, []) or not ev.get("userAgent", "").startswith(ua_prefix):
                continue
            if not t0 <= _ts(ev["requestReceivedTimestamp"]) <= t1:
                continue
            seen.setdefault(ev["auditID"], ev)
        r = Requests()
        for ev in seen.values():
            verb = ev.get("verb", "?")
            r.total += 1
            r.by_verb[verb] = r.by_verb.get(verb, 0) + 1
            ref = ev.get("objectRef") or {}
            if ref.get("resource") == "pods" and not ref.get("subresource") and not ref.get("apiGroup"):  # core pods,
                # not metrics.k8s.io "pods"
                if verb == "list":
                    r.pod_lists += 1
                elif verb == "watch":
                    r.pod_watches += 1
            if len(r.samples) < 12:
                r.samples.append(f"{verb.upper()} {ev.get('requestURI', '')[:120]}")
        return r
