"""The data types of the drain (ecotui.ops.drain / drain_run): options, the slice of a pod it decodes, the
plan's pod lists, the live progress; and the small helpers both halves use."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ecotui.errors import EcotuiError

DS_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DS_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
ORPHAN_WARNING = "deleting DaemonSet Pods whose DaemonSet is gone"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class DrainOptions:
    ignore_daemonsets: bool = True
    delete_emptydir_data: bool = True
    force: bool = False            # unmanaged pods only when asked
    grace_period: int = -1         # -1: the pod's own terminationGracePeriodSeconds
    timeout: float = 300.0         # seconds for the whole drain; 0 = no limit
    pod_selector: str = ""         # label selector
    retry_delay: float = 5.0       # kubectl's EvictErrorRetryDelay (tests lower it)


# ---- the slice of a pod / PDB the drain reads ---------------------------------------------------------

_S: dict[str, Any] = dict(frozen=True, gc=False)


class _Owner(msgspec.Struct, **_S):
    kind: str = ""
    name: str = ""
    controller: bool = False


class _Meta(msgspec.Struct, **_S):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    deletionTimestamp: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    ownerReferences: tuple[_Owner, ...] = ()


class _Volume(msgspec.Struct, **_S):
    name: str = ""
    emptyDir: dict[str, Any] | None = None


class _PodSpec(msgspec.Struct, **_S):
    nodeName: str = ""
    volumes: tuple[_Volume, ...] = ()


class _PodStatus(msgspec.Struct, **_S):
    phase: str = ""


class DrainPod(msgspec.Struct, **_S):
    metadata: _Meta = _Meta()
    spec: _PodSpec = _PodSpec()
    status: _PodStatus = _PodStatus()


class _ListMeta(msgspec.Struct, **_S):
    resourceVersion: str = ""
    continue_: str = msgspec.field(default="", name="continue")


class DrainPodList(msgspec.Struct, **_S):
    items: tuple[DrainPod, ...] = ()
    metadata: _ListMeta = _ListMeta()


# ---- the plan's pod lists and the run's progress ------------------------------------------------------

@dataclass(frozen=True)
class PodRef:
    """A pod the drain evicts; `uid` guards against touching a different pod of the same name."""

    namespace: str
    name: str
    uid: str
    flags: tuple[str, ...] = ()        # "unmanaged", "emptyDir", "orphaned DaemonSet pod"
    pdbs: tuple[str, ...] = ()         # names of the PDBs (same namespace) selecting it

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class SkippedPod:
    namespace: str
    name: str
    reason: str                        # "DaemonSet", "mirror pod"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PdbBlock:
    pod: str                           # "ns/name"
    pdb: str                           # PDB name (the pod's namespace)
    disruptions_allowed: int


@dataclass(frozen=True)
class PodProgress:
    key: str                 # "ns/name"
    state: str               # pending | evicting | retrying | deleting | evicted | failed
    message: str = ""
    attempts: int = 0        # eviction requests sent


@dataclass(frozen=True)
class DrainProgress:
    node: str
    phase: str               # planning | cordoning | evicting | done | failed | cancelled
    rows: tuple[PodProgress, ...]
    counts: tuple[tuple[str, int], ...]   # (state, number of pods), states in the order above
    elapsed: float
    message: str = ""        # what the drain as a whole is doing / its final line
    skipped: int = 0         # DaemonSet and mirror pods left alone

    def count(self, state: str) -> int:
        return dict(self.counts).get(state, 0)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "failed", "cancelled")


def short_error(e: BaseException) -> str:
    """The API's message without the server/method/path prefix KubeClient puts in front of it."""
    msg = e.message if isinstance(e, EcotuiError) else str(e)
    for sep in (" failed with HTTP ", "forbidden: "):
        if sep in msg:
            head, _, tail = msg.partition(sep)
            return tail if sep == "forbidden: " else "HTTP " + tail
    return msg


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: None matches nothing, {} matches everything."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or ():
        key, op, values = req.get("key", ""), req.get("operator", ""), req.get("values") or ()
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def controller_of(pod: DrainPod) -> _Owner | None:
    return next((o for o in pod.metadata.ownerReferences if o.controller), None)


def finished(pod: DrainPod) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")
