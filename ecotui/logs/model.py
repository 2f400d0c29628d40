"""What every log source produces and the viewer consumes."""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

NS = 1_000_000_000


class Kind(enum.Enum):
    LINE = "line"      # a log line
    GAP = "gap"        # a visible marker: entries dropped / a gap that could not be filled / a stream restarted
    INFO = "info"      # a marker from ecotui itself (reconnected, source switched, pod added/removed)


class LogLine(msgspec.Struct, frozen=True, gc=False):
    """One line as received. `text` is the raw text (decoded with errors="replace"; NOT safe to display:
    the UI shows `ecotui.logs.sanitize.display(text)`; save and copy use `text`, whole).

    `ts_ns` is the source's timestamp (Loki entry time; Kubernetes `timestamps=true` prefix), 0 if unknown.
    `stream` names where it came from and is stable for a stream: Loki → the label set rendered as
    `{a="1",b="2"}` (sorted); Kubernetes → "namespace/pod/container". `pod`, `container`, `namespace` are
    filled when known (Loki: from labels of those names). `previous` marks lines of a previous container.

    A frozen msgspec Struct (immutable, hashable, compared by value like the frozen dataclass it was): built in C,
    ~10x cheaper per line than a frozen dataclass, and not tracked by the cyclic GC (it holds no containers)."""

    ts_ns: int
    text: str
    stream: str
    pod: str = ""
    container: str = ""
    namespace: str = ""
    kind: Kind = Kind.LINE
    previous: bool = False


class SourceState(enum.Enum):
    CONNECTING = "connecting"
    BACKFILL = "backfill"          # loading history (query_range / tailLines)
    LIVE = "live"                  # following
    RECONNECTING = "reconnecting"  # lost the stream, retrying with backoff
    DONE = "done"                  # a finite query (no follow) is complete
    ERROR = "error"                # gave up or cannot start: `message` says why, one line


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    message: str = ""              # one line for the title bar ("reconnecting in 2 s: connection refused")
    streams: int = 0               # open streams (Kubernetes: containers followed; Loki: 1 tail)


Sink = Callable[[Sequence[LogLine]], None]


class LogSource(Protocol):
    """A source of log lines for one selection. `run(sink)` runs until cancelled (or, for a non-follow
    query, until done): it calls `sink` with batches of lines in the order it should show them, from the
    event loop (never from a thread), and never raises for network/API problems — it reports them in
    `status` (and GAP/INFO marker lines) and retries with backoff. Cancelling the task stops it cleanly."""

    name: str                      # "loki" | "kubernetes" — always shown in the viewer's title

    @property
    def status(self) -> SourceStatus: ...

    @property
    def description(self) -> str:
        """What is being followed, one line: `{namespace="ecotrack",app="user-service"}` or
        `deployment ecotrack/user-service (3 pods)`."""

    async def run(self, sink: Sink) -> None: ...


@dataclass(frozen=True)
class Selection:
    """What the user asked to see; a source is built for it (`ecotui.logs.open.open_source`).

    Exactly one of: `pods` (explicit "ns/name" keys), `workload` (kind id + "ns/name": all its pods, pods
    that come and go followed), `node` (its pods), `namespace` (all its pods), `selector` (label selector in
    `namespace` or all), `logql` (a LogQL query, Loki only)."""

    pods: tuple[str, ...] = ()
    workload: tuple[str, str] | None = None    # ("deployments", "ecotrack/user-service")
    node: str | None = None
    namespace: str | None = None
    selector: str = ""
    logql: str = ""
    container: str = ""                        # "" = all containers
    previous: bool = False                     # the previous container's logs (Kubernetes; finite)
    since_s: int = 900                         # backfill window (default 15 min)
    tail_lines: int | None = None              # Kubernetes: at most this many lines per container first
    follow: bool = True
    extra: dict[str, str] = field(default_factory=dict)
