"""The write gate: the one check every request that changes cluster state passes before it is sent.

`KubeClient._send` (the only function that sends anything) calls `WriteGate.check(method, path)` first. A
mutating request (POST, PUT, PATCH, DELETE) while the gate is read-only raises `ReadOnlyError` with one
clear line and nothing is sent. Exempt, because they change nothing: access reviews (POST
selfsubjectaccessreviews / selfsubjectrulesreviews, used to decide which actions to offer) and port-forward
streams (a connection to a pod, not a change of cluster state). Exec and attach streams are mutating whatever
their method (a WebSocket upgrade is a GET, but it starts a process in the cluster): read-only refuses them.

The gate belongs to the workspace (one per context): `readonly` comes from the context's profile, so a
context switch to a read-only context turns it on at once; `set_readonly` turns it on/off live.
"""
from __future__ import annotations

from ecotui.errors import ReadOnlyError

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_EXEMPT_SUFFIXES = ("/selfsubjectaccessreviews", "/selfsubjectrulesreviews", "/selfsubjectreviews", "/portforward")
_PROCESS_SUFFIXES = ("/exec", "/attach")   # pods/NAME/exec, pods/NAME/attach: a process in the cluster


def is_mutating(method: str, path: str) -> bool:
    """Does this request change cluster state? (reviews and port-forwards do not; exec and attach do)"""
    bare = path.split("?", 1)[0].rstrip("/")
    if "/pods/" in bare and bare.endswith(_PROCESS_SUFFIXES):
        return True
    if method.upper() not in MUTATING:
        return False
    return not bare.endswith(_EXEMPT_SUFFIXES)


class WriteGate:
    def __init__(self, context: str, readonly: bool = False) -> None:
        self.context = context
        self._readonly = readonly
        self.refused = 0  # how many requests it stopped (tests and the journal read it)

    @property
    def readonly(self) -> bool:
        return self._readonly

    def set_readonly(self, on: bool) -> None:
        self._readonly = on

    def check(self, method: str, path: str) -> None:
        """Raise ReadOnlyError (and send nothing) for a mutating request while read-only."""
        if self._readonly and is_mutating(method, path):
            self.refused += 1
            raise ReadOnlyError(
                f"read-only: {method.upper()} {path.split('?', 1)[0]} refused on context {self.context!r}",
                "start without --readonly, or set readonly: false for this context in the config")
