"""What a port-forward is (ForwardSpec), what state it is in (ForwardState) and the immutable view the UI
renders (ForwardView). The manager (`ecotui.forward.manager.ForwardManager`) owns the live objects.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

TARGET_KINDS = ("pod", "service", "deployment", "statefulset")
_ALIASES = {"po": "pod", "pods": "pod", "svc": "service", "services": "service", "deploy": "deployment",
            "deployments": "deployment", "sts": "statefulset", "statefulsets": "statefulset"}


class ForwardState(enum.Enum):
    STARTING = "starting"          # listener bound, pod being resolved
    ACTIVE = "active"              # resolved to a pod, accepting connections
    RECONNECTING = "reconnecting"  # the pod went away: re-resolving the Service/workload to a new ready pod
    FAILED = "failed"              # cannot forward (error says why); a pod target whose pod is gone ends here
    STOPPED = "stopped"            # stopped by the user or on exit; the local port is released


@dataclass(frozen=True)
class Target:
    """What to forward to: `kind` in TARGET_KINDS, like kubectl's `svc/NAME`, `deploy/NAME`, `pod/NAME`."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        short = {"pod": "pod", "service": "svc", "deployment": "deploy", "statefulset": "sts"}[self.kind]
        return f"{self.namespace}/{short}/{self.name}"

    @classmethod
    def parse(cls, text: str, namespace: str) -> Target:
        """`svc/grafana`, `deploy/x`, `pod/y`, `y` (a pod), `ns/svc/grafana`. Raises ValueError with one line."""
        parts = [p for p in text.strip().split("/")]
        if any(not p for p in parts) or not 1 <= len(parts) <= 3:
            raise ValueError(f"not a forward target: {text!r} (use svc/NAME, deploy/NAME, sts/NAME or pod/NAME)")
        if len(parts) == 3:
            namespace, kind, name = parts
        elif len(parts) == 2:
            kind, name = parts
        else:
            kind, name = "pod", parts[0]
        kind = _ALIASES.get(kind.lower(), kind.lower())
        if kind not in TARGET_KINDS:
            raise ValueError(f"cannot forward to a {parts[-2]!r}: use svc/NAME, deploy/NAME, sts/NAME or pod/NAME")
        return cls(kind, namespace, name)


@dataclass(frozen=True)
class ForwardSpec:
    """One forward as asked for. `port` is the target's port as the user names it: for a Service its service
    port (number or name, resolved like kubectl to the container port), for a pod/workload a container port
    (number or name). `local_port` 0 = a free port. `address` is the local bind address: 127.0.0.1 unless set
    explicitly (anything not loopback is allowed but warned about). `name` is a preset's name (or "")."""

    context: str
    target: Target
    port: int | str
    local_port: int = 0
    address: str = "127.0.0.1"
    name: str = ""

    @property
    def key(self) -> str:
        """Stable identity (the table row key): one forward per target, port and local address:port."""
        return f"{self.context}|{self.target}|{self.port}|{self.address}:{self.local_port}"


@dataclass(frozen=True)
class ForwardView:
    """An immutable snapshot of one forward for the UI."""

    id: str                      # the manager's id for stop/restart (stable for the forward's life)
    spec: ForwardSpec
    state: ForwardState
    local: str                   # "127.0.0.1:3000" (the bound address; port filled in once bound)
    pod: str | None              # the pod in use ("ns/name"), None before the first resolution
    pod_port: int | None         # the container port on that pod
    connections: int             # open connections now
    total_connections: int       # accepted since start
    bytes_in: int                # pod → local
    bytes_out: int               # local → pod
    since: float                 # time.time() when the forward (re)started
    error: str = ""              # the last error, one line ("" when none)
    warning: str = ""            # e.g. bound to a non-loopback address
    reconnects: int = 0          # how many times it moved to another pod

    @property
    def url(self) -> str:
        host, _, port = self.local.rpartition(":")
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{port}"
