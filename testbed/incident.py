"""The incident switch shared by the exporter, the log generator and the health server.

Contract: `<state-dir>/incident.json`, absent = no incident. Shape:
    {"name": "error-spike" | "latency-spike" | "crashloop" | <any other string>,
     "target": "payment-service" | null,      # null or missing = all five EcoTrack services
     "since": <epoch seconds>}                 # optional; the incident is active once time >= since
Readers re-read the file at most once a second. An unreadable or malformed file counts as "no incident"
(and is reported once on stderr), so a half-written file never crashes a server. Write it atomically
(write a temp file, then rename) to avoid that window.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SERVICES = ("user-service", "product-service", "order-service", "payment-service", "notification-service")
NAMESPACE = "ecotrack"


@dataclass(frozen=True)
class Incident:
    name: str
    target: str | None  # None = all services
    since: float

    def hits(self, app: str) -> bool:
        return self.target is None or self.target == app


def parse_incident(data: object) -> Incident:
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("'name' must be a non-empty string")
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError("'target' must be a service name or null")
    since = data.get("since", 0)
    if isinstance(since, bool) or not isinstance(since, (int, float)):
        raise ValueError("'since' must be epoch seconds")
    return Incident(name, target or None, float(since))


class IncidentReader:
    """`current()` returns the active Incident or None, reading the file at most once per `interval` seconds."""

    def __init__(self, state_dir: str | Path, interval: float = 1.0, clock: Callable[[], float] = time.time):
        self.path = Path(state_dir) / "incident.json"
        self.interval = interval
        self.clock = clock
        self._checked = float("-inf")
        self._value: Incident | None = None
        self._complained: str | None = None

    def current(self) -> Incident | None:
        now = self.clock()
        if now - self._checked >= self.interval or now < self._checked:
            self._checked = now
            self._value = self._read()
        inc = self._value
        return inc if inc is not None and inc.since <= now else None

    def _read(self) -> Incident | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._complained = None
            return None
        except OSError as exc:
            return self._complain(f"cannot read: {exc.strerror or exc}")
        try:
            inc = parse_incident(json.loads(text))
        except ValueError as exc:
            return self._complain(str(exc))
        self._complained = None
        return inc

    def _complain(self, why: str) -> None:
        msg = f"testbed: ignoring {self.path}: {why}"
        if msg != self._complained:
            print(msg, file=sys.stderr, flush=True)
            self._complained = msg
        return None
