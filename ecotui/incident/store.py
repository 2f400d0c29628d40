"""Incident state on disk, durable and shared by every ecotui process of the user.

Layout (root: `ecotui.ops.journal.state_dir() / "incidents"`, or config `incident.state_dir`)::

    <root>/.lock                     flock'd around every write (kill -9 releases it)
    <root>/current                   the id of the newest incident (kept after it is resolved, until the next start)
    <root>/<id>/incident.json        the Incident (msgspec JSON), version +1 on every write
    <root>/<id>/…                    exports, snapshots, updates (`dir_for`, `write_artifact`)

Every change: lock, re-read from disk (another process may have written), apply, write a temporary file, fsync,
rename over the old one, fsync the directory, unlock. A kill -9 at any moment leaves either the old or the new
file, never half of one. `refresh()` is a cheap stat: it re-reads only when another process changed the files.

`current` is the newest incident — open, or resolved until the next `start` (check `.open`): a resolved incident
still takes notes, observed entries and the Resolution update; its severity, level, ack and resolution are final.
Every own change appends its TimelineEntry (source incident/note/update). Errors are `IncidentError`, one line.
A file that cannot be decoded is renamed `incident.json.corrupt-<time>` (kept, never lost silently).
"""
from __future__ import annotations

import bisect
import contextlib
import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import msgspec

from ecotui.errors import EcotuiError
from ecotui.incident.model import TEMPLATE_KINDS, TEMPLATE_NAMES, Incident, SeverityChange, TimelineEntry, UpdateSent
from ecotui.textsafe import one_line

FILE = "incident.json"
LOCK_TIMEOUT_S = 10.0
_ID = re.compile(r"^INC-[A-Za-z0-9-]{1,60}$")


class IncidentError(EcotuiError):
    """An incident operation that cannot be done (no open incident, already open, unreadable file …)."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    """Write `path` whole or not at all: temporary file, fsync, rename, fsync of the directory."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(raw)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def _utc(t: float, fmt: str = "%H:%M UTC") -> str:
    return time.strftime(fmt, time.gmtime(t))


def _insert(entries: tuple[TimelineEntry, ...], new: TimelineEntry) -> tuple[TimelineEntry, ...]:
    """Insert keeping time order (after entries of the same time)."""
    i = bisect.bisect_right([e.time for e in entries], new.time)
    return entries[:i] + (new,) + entries[i:]


class IncidentStore:
    def __init__(self, root: Path | None = None, clock: Callable[[], float] = time.time,
                 levels: Sequence[str] = ("L1", "L2", "L3", "L4")) -> None:
        if root is None:
            from ecotui.ops.journal import state_dir
            root = state_dir() / "incidents"
        self.root = Path(root).expanduser()
        self.clock = clock
        self.levels = tuple(levels)       # escalation order (the policy's level keys)
        self.last_error = ""              # the first load's problem, if any (refresh() raises it)
        self._current: Incident | None = None
        self._sig: tuple[int, ...] | None = None
        self._mu = threading.RLock()
        try:
            self.refresh()
        except IncidentError as exc:
            self.last_error = exc.message

    # ---- reading ------------------------------------------------------------------------------------------

    @property
    def current(self) -> Incident | None:
        """The newest incident as last loaded (open or resolved: check `.open`); None when there is none."""
        return self._current

    def _file(self, inc_id: str) -> Path:
        return self.root / inc_id / FILE

    def _pointer(self) -> str | None:
        try:
            text = (self.root / "current").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if _ID.match(text) else None

    def _signature(self) -> tuple[int, ...]:
        """stat() of the pointer and of the incident file it names: changes with every rename over them."""
        sig: list[int] = []
        inc_id = self._pointer()
        for path in (self.root / "current", self._file(inc_id) if inc_id else None):
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            sig += [st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size] if st is not None else [-1]
        return tuple(sig)

    def _decode(self, inc_id: str, raw: bytes) -> Incident:
        inc = msgspec.json.decode(raw, type=Incident)
        if inc.id != inc_id:
            raise msgspec.ValidationError(f"holds incident {inc.id!r}")
        return inc

    def _read(self, inc_id: str, locked: bool = False) -> Incident | None:
        """The incident `inc_id` from disk; None if it has no file. A corrupt file is moved aside."""
        path = self._file(inc_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IncidentError(f"incident {inc_id}: cannot read {path} ({exc.strerror or exc})") from None
        try:
            return self._decode(inc_id, raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            reason = one_line(str(exc), 120)
        if not locked:
            with self._locked():
                return self._read(inc_id, locked=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = path.with_name(f"{FILE}.corrupt-{stamp}")
        n = 1
        while aside.exists():           # never over an earlier one
            n += 1
            aside = path.with_name(f"{FILE}.corrupt-{stamp}-{n}")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        raise IncidentError(f"incident {inc_id}: {path} is unreadable ({reason}); kept as {aside.name}",
                            hint="start a new incident; the old file is kept for inspection")

    def refresh(self) -> bool:
        """Re-read when the files changed since the last load (a cheap stat otherwise). True if `current`
        changed. Raises IncidentError when the incident file is corrupt (it is moved aside)."""
        with self._mu:
            sig = self._signature()
            if sig == self._sig:
                return False
            inc_id = self._pointer()
            old = self._current
            self._sig = sig
            try:
                self._current = self._read(inc_id) if inc_id else None
            except IncidentError:
                self._current = None
                self._sig = self._signature()
                raise
            return (old is None) != (self._current is None) or (
                old is not None and self._current is not None
                and (old.id, old.version) != (self._current.id, self._current.version))

    def load(self, inc_id: str) -> Incident:
        if not _ID.match(inc_id):
            raise IncidentError(f"not an incident id: {one_line(inc_id, 80)!r}")
        inc = self._read(inc_id)
        if inc is None:
            raise IncidentError(f"no incident {inc_id} in {self.root}")
        return inc

    def history(self) -> list[Incident]:
        """Every readable incident under the root, newest first."""
        out = []
        try:
            names = [p.name for p in self.root.iterdir() if p.is_dir() and _ID.match(p.name)]
        except OSError:
            return []
        for name in names:
            with contextlib.suppress(IncidentError):
                inc = self._read(name)
                if inc is not None:
                    out.append(inc)
        return sorted(out, key=lambda i: i.started, reverse=True)

    def dir_for(self, inc: Incident) -> Path:
        d = self.root / inc.id
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    def write_artifact(self, inc: Incident, name: str, data: bytes | str) -> Path:
        """Write `<dir_for(inc)>/<name>` atomically (exports, snapshots)."""
        if "/" in name or name.startswith("."):
            raise IncidentError(f"not a file name: {one_line(name, 80)!r}")
        try:
            return atomic_write(self.dir_for(inc) / name, data)
        except OSError as exc:
            raise IncidentError(f"cannot write {self.root / inc.id / name}: {exc.strerror or exc}") from None

    # ---- writing ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise IncidentError(f"incident store {self.root}: {exc.strerror or exc}") from None
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IncidentError(f"incident store busy: another process holds {self.root / '.lock'}") \
                            from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _write(self, inc: Incident, pointer: bool = False) -> None:
        d = self.root / inc.id
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            for p in d.glob(f".{FILE}.tmp-*"):      # left by a writer killed mid-write (we hold the lock)
                with contextlib.suppress(OSError):
                    p.unlink()
            atomic_write(d / FILE, msgspec.json.format(msgspec.json.encode(inc), indent=1) + b"\n")
            if pointer:
                atomic_write(self.root / "current", inc.id + "\n")
        except OSError as exc:
            raise IncidentError(f"cannot write incident {inc.id} in {self.root}: {exc.strerror or exc}") from None

    def _mutate(self, fn: Callable[[Incident, float], Incident | None], final: bool = True) -> Incident:
        """Lock, re-read the current incident, apply `fn(inc, now)`, write when it changed. `final`: refused on a
        resolved incident."""
        with self._mu, self._locked():
            inc_id = self._pointer()
            inc = self._read(inc_id, locked=True) if inc_id else None
            if inc is None:
                raise IncidentError("no open incident", hint="start one first")
            if final and not inc.open:
                raise IncidentError(f"{inc.id} is resolved")
            new = fn(inc, self.clock())
            if new is not None and new != inc:
                new = replace(new, version=inc.version + 1)
                self._write(new)
                inc = new
            self._current, self._sig = inc, self._signature()
            return inc

    @staticmethod
    def _own(inc: Incident, now: float, kind: str, text: str, source: str = "incident",
             **data: object) -> tuple[TimelineEntry, ...]:
        entry = TimelineEntry(time=now, source=source, kind=kind, text=one_line(text), key=f"{source}:{inc.version + 1}",
                              data=dict(data))
        return _insert(inc.entries, entry)

    def start(self, *, title: str, services: Iterable[str], namespaces: Iterable[str], severity: str, impact: str,
              context: str, user: str) -> Incident:
        title = one_line(title)
        if not title:
            raise IncidentError("an incident needs a title (a brief description)")
        severity = severity.strip()
        if not severity or len(severity) > 16 or " " in severity:
            raise IncidentError(f"not a severity: {one_line(severity, 40)!r}")
        svcs = tuple(dict.fromkeys(s.strip() for s in services if s.strip()))
        nss = tuple(dict.fromkeys(s.strip() for s in namespaces if s.strip()))
        with self._mu, self._locked():
            old_id = self._pointer()
            old = None
            if old_id:
                with contextlib.suppress(IncidentError):
                    old = self._read(old_id, locked=True)
            if old is not None and old.open:
                raise IncidentError(f"an incident is already open: {old.id}", hint="resolve it first")
            now = self.clock()
            while True:
                inc_id = f"INC-{time.strftime('%Y%m%d-%H%M', time.gmtime(now))}-{secrets.token_hex(2)}"
                if not (self.root / inc_id).exists():
                    break
            inc = Incident(id=inc_id, title=title, services=svcs, namespaces=nss, severity=severity,
                           impact=one_line(impact), context=context, user=user, started=now)
            text = f"started {severity} incident: {title}" + (f" ({', '.join(svcs)})" if svcs else "") + \
                (f" by {user}" if user else "")
            inc = replace(inc, entries=self._own(inc, now, "started", text, user=user), version=1)
            self._write(inc, pointer=True)
            self._current, self._sig = inc, self._signature()
            return inc

    def set_severity(self, key: str, reason: str = "") -> Incident:
        key = key.strip()
        if not key or len(key) > 16 or " " in key:
            raise IncidentError(f"not a severity: {one_line(key, 40)!r}")

        def fn(inc: Incident, now: float) -> Incident:
            if key == inc.severity:
                raise IncidentError(f"{inc.id} is already {key}")
            why = one_line(reason)
            change = SeverityChange(time=now, old=inc.severity, new=key, reason=why)
            text = f"severity {inc.severity} → {key}" + (f": {why}" if why else "")
            return replace(inc, severity=key, severity_changes=inc.severity_changes + (change,),
                           entries=self._own(inc, now, "severity", text, old=inc.severity, new=key))
        return self._mutate(fn)

    def ack(self, user: str) -> Incident:
        def fn(inc: Incident, now: float) -> Incident:
            if inc.acked_at is not None:
                by = f" by {inc.acked_by}" if inc.acked_by else ""
                raise IncidentError(f"{inc.id} was already acknowledged at {_utc(inc.acked_at)}{by}")
            text = "acknowledged" + (f" by {user}" if user else "")
            return replace(inc, acked_at=now, acked_by=user, entries=self._own(inc, now, "ack", text, user=user))
        return self._mutate(fn)

    def escalate(self, level: str | None = None, reason: str = "") -> Incident:
        def fn(inc: Incident, now: float) -> Incident:
            pos = self.levels.index(inc.level) if inc.level in self.levels else -1
            target = level
            if target is None:
                if pos + 1 >= len(self.levels):
                    raise IncidentError(f"{inc.id} is already at the highest level {inc.level}")
                target = self.levels[pos + 1]
            if target not in self.levels:
                raise IncidentError(f"unknown escalation level {one_line(target, 20)!r} "
                                    f"(known: {', '.join(self.levels)})")
            if self.levels.index(target) <= pos:
                raise IncidentError(f"{target} is not above {inc.id}'s level {inc.level}")
            why = one_line(reason)
            text = f"escalated {inc.level} → {target}" + (f": {why}" if why else "")
            return replace(inc, level=target,
                           entries=self._own(inc, now, "escalate", text, old=inc.level, new=target))
        return self._mutate(fn)

    def note(self, text: str, user: str = "") -> Incident:
        line = one_line(text)
        if not line:
            raise IncidentError("a note needs some text")
        return self._mutate(lambda inc, now: replace(
            inc, entries=self._own(inc, now, "note", line, source="note", user=user)), final=False)

    def set_status(self, current_status: str, eta: str | None = None) -> Incident:
        status = one_line(current_status)
        if not status:
            raise IncidentError("the status needs some text")

        def fn(inc: Incident, now: float) -> Incident:
            new_eta = inc.eta if eta is None else one_line(eta)
            text = f"status: {status}" + (f", ETA {new_eta}" if new_eta else "")
            return replace(inc, current_status=status, eta=new_eta,
                           entries=self._own(inc, now, "status", text, eta=new_eta))
        return self._mutate(fn)

    def record_update(self, template: str, subject: str, body: str, file: str | None = None) -> Incident:
        """A status update was sent: kept whole, on the timeline, and the next-update countdown starts again."""
        if template not in TEMPLATE_KINDS:
            raise IncidentError(f"unknown template {one_line(template, 20)!r} (known: {', '.join(TEMPLATE_KINDS)})")

        def fn(inc: Incident, now: float) -> Incident:
            sent = UpdateSent(time=now, template=template, subject=subject, body=body, file=file)
            text = f"{TEMPLATE_NAMES.get(template, template)} sent: {subject}" + (f" (appended to {file})" if file else "")
            return replace(inc, updates=inc.updates + (sent,), last_update_at=now,
                           entries=self._own(inc, now, "update", text, source="update", template=template))
        return self._mutate(fn, final=False)

    def add_entries(self, entries: Iterable[TimelineEntry]) -> int:
        """Observed entries (journal, events, metrics): new keys inserted in time order, a known key whose entry
        changed (e.g. an event's count) replaced in place. Returns how many were added or changed; no write if 0."""
        fresh = [replace(e, text=one_line(e.text)) for e in entries]
        cur = self._current
        if cur is not None:
            known = {e.key: e for e in cur.entries}
            if all(known.get(e.key) == e for e in fresh):
                return 0
        count = 0

        def fn(inc: Incident, now: float) -> Incident | None:
            nonlocal count
            by_key = {e.key: i for i, e in enumerate(inc.entries)}
            out = list(inc.entries)
            changed = False
            for e in fresh:
                i = by_key.get(e.key)
                if i is None:
                    by_key[e.key] = len(out)
                    out.append(e)
                elif out[i] != e:
                    out[i] = e
                else:
                    continue
                count += 1
                changed = True
            if not changed:
                return None
            out.sort(key=lambda e: e.time)      # stable: equal times keep their order
            return replace(inc, entries=tuple(out))
        self._mutate(fn, final=False)
        return count

    def mark_bells(self, ids: Iterable[str]) -> Incident:
        new = frozenset(ids)
        return self._mutate(lambda inc, now: None if new <= inc.bells else replace(inc, bells=inc.bells | new),
                            final=False)

    def resolve(self, resolution: str, root_cause: str, post_mortem: str = "") -> Incident:
        res = one_line(resolution)
        if not res:
            raise IncidentError("a resolution is needed to resolve the incident")

        def fn(inc: Incident, now: float) -> Incident:
            cause = one_line(root_cause)
            text = f"resolved: {res}" + (f" (root cause: {cause})" if cause else "")
            return replace(inc, status="resolved", resolved_at=now, current_status="Resolved", resolution=res,
                           root_cause=cause, post_mortem=one_line(post_mortem),
                           entries=self._own(inc, now, "resolved", text))
        return self._mutate(fn)
