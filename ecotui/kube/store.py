"""Immutable snapshots handed from informers to the UI, and the connection state shown in the header."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Mapping, TypeVar

T = TypeVar("T")


class ConnState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STALE = "stale"  # data shown is older than the last successful sync
    ERROR = "error"  # a permanent problem (401/403/...) — see Connection.message


@dataclass(frozen=True)
class Connection:
    state: ConnState
    since: float  # time.time() when this state was entered
    message: str = ""


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    """A read-only view of one informer's cache at one moment.

    `items` maps a stable key ("namespace/name" or "name" for cluster-scoped kinds) to a frozen msgspec struct.
    `version` increases on every change, so the UI can skip work when nothing changed.
    """

    kind: str
    items: Mapping[str, T] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0
    synced: bool = False
