"""msgspec structs for the Kubernetes objects ecotui shows, in two sizes.

* The **cached** structs (`Pod`, `Node`, `Event`, `Namespace` and their lists) are what the informers
  keep for every object of the cluster. They declare only what the tables, the `/` filter (labels) and the
  node pod counts read; the decoder skips everything else (annotations, images, env, ports, resources,
  volumes, timestamps of conditions...). On a 13.6k-pod cluster that is ~2.3 KB per pod instead of ~5.7 KB,
  and a 10k-pod list decodes in ~0.2 s.
* The **detail** structs (`PodDetail`, `NodeDetail`) subclass them with what `describe` shows. They are
  decoded from a fresh GET when the user asks for a description (`ClusterSession.get_pod` ...), so a
  description is never stale and the cache never pays for it.

All structs are frozen (immutable snapshots) and untracked by the cyclic GC (decoded JSON cannot form
cycles). Arrays are tuples: an empty one is a shared singleton (a `[]` default would be a new list per
object) and a tuple of untracked structs is itself untracked by the GC after its first collection.
"""
from __future__ import annotations

import msgspec

_S = dict(frozen=True, gc=False, omit_defaults=True)


class OwnerReference(msgspec.Struct, **_S):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class ObjectMeta(msgspec.Struct, **_S):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""
    creationTimestamp: str | None = None
    deletionTimestamp: str | None = None
    labels: dict[str, str] = {}


class ObjectMetaDetail(ObjectMeta, **_S):
    uid: str = ""
    annotations: dict[str, str] = {}
    ownerReferences: tuple[OwnerReference, ...] = ()


class ListMeta(msgspec.Struct, **_S):
    resourceVersion: str = ""
    continue_: str = msgspec.field(default="", name="continue")


class Condition(msgspec.Struct, **_S):
    type: str = ""
    status: str = ""
    reason: str = ""


class ConditionDetail(Condition, **_S):
    message: str = ""
    lastTransitionTime: str | None = None
    lastHeartbeatTime: str | None = None


# ---- pods: what the table needs ---------------------------------------------------------------

class Container(msgspec.Struct, **_S):
    name: str = ""
    restartPolicy: str = ""  # "Always" on an init container = sidecar


class PodSpec(msgspec.Struct, **_S):
    nodeName: str = ""
    containers: tuple[Container, ...] = ()
    initContainers: tuple[Container, ...] = ()


class StateWaiting(msgspec.Struct, **_S):
    reason: str = ""


class StateRunning(msgspec.Struct, **_S):
    pass  # only its presence matters to the table


class StateTerminated(msgspec.Struct, **_S):
    reason: str = ""
    exitCode: int = 0
    signal: int = 0
    finishedAt: str | None = None


class ContainerState(msgspec.Struct, **_S):
    waiting: StateWaiting | None = None
    running: StateRunning | None = None
    terminated: StateTerminated | None = None


class ContainerStatus(msgspec.Struct, **_S):
    name: str = ""
    ready: bool = False
    started: bool | None = None
    restartCount: int = 0
    state: ContainerState = ContainerState()
    lastState: ContainerState = ContainerState()


class PodStatus(msgspec.Struct, **_S):
    phase: str = ""
    reason: str = ""
    podIP: str = ""
    conditions: tuple[Condition, ...] = ()
    containerStatuses: tuple[ContainerStatus, ...] = ()
    initContainerStatuses: tuple[ContainerStatus, ...] = ()


class Pod(msgspec.Struct, **_S):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()


class PodList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[Pod] = []


# ---- pods: what describe adds -----------------------------------------------------------------

class ContainerPort(msgspec.Struct, **_S):
    containerPort: int = 0
    name: str = ""
    protocol: str = "TCP"


class ResourceRequirements(msgspec.Struct, **_S):
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}


class ContainerDetail(Container, **_S):
    image: str = ""
    ports: tuple[ContainerPort, ...] = ()
    resources: ResourceRequirements = ResourceRequirements()


class Toleration(msgspec.Struct, **_S):
    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    tolerationSeconds: int | None = None


class PodSpecDetail(PodSpec, **_S):
    containers: tuple[ContainerDetail, ...] = ()
    initContainers: tuple[ContainerDetail, ...] = ()
    restartPolicy: str = ""
    priorityClassName: str = ""
    serviceAccountName: str = ""
    nodeSelector: dict[str, str] = {}
    tolerations: tuple[Toleration, ...] = ()


class StateWaitingDetail(StateWaiting, **_S):
    message: str = ""


class StateRunningDetail(StateRunning, **_S):
    startedAt: str | None = None


class StateTerminatedDetail(StateTerminated, **_S):
    message: str = ""
    startedAt: str | None = None


class ContainerStateDetail(ContainerState, **_S):
    waiting: StateWaitingDetail | None = None
    running: StateRunningDetail | None = None
    terminated: StateTerminatedDetail | None = None


class ContainerStatusDetail(ContainerStatus, **_S):
    image: str = ""
    state: ContainerStateDetail = ContainerStateDetail()
    lastState: ContainerStateDetail = ContainerStateDetail()


class PodStatusDetail(PodStatus, **_S):
    message: str = ""
    hostIP: str = ""
    startTime: str | None = None
    qosClass: str = ""
    conditions: tuple[ConditionDetail, ...] = ()
    containerStatuses: tuple[ContainerStatusDetail, ...] = ()
    initContainerStatuses: tuple[ContainerStatusDetail, ...] = ()


class PodDetail(Pod, **_S):
    metadata: ObjectMetaDetail = ObjectMetaDetail()
    spec: PodSpecDetail = PodSpecDetail()
    status: PodStatusDetail = PodStatusDetail()


class PodDetailList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[PodDetail] = []


# ---- nodes ------------------------------------------------------------------------------------

class NodeSpec(msgspec.Struct, **_S):
    unschedulable: bool = False
    providerID: str = ""          # aws:///us-east-1a/i-… : the EC2 node columns (issue 12) read it from the cache


class NodeSystemInfo(msgspec.Struct, **_S):
    kubeletVersion: str = ""


class NodeStatus(msgspec.Struct, **_S):
    conditions: tuple[Condition, ...] = ()
    nodeInfo: NodeSystemInfo = NodeSystemInfo()


class Node(msgspec.Struct, **_S):
    metadata: ObjectMeta = ObjectMeta()
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()


class NodeList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[Node] = []


class Taint(msgspec.Struct, **_S):
    key: str = ""
    value: str = ""
    effect: str = ""


class NodeAddress(msgspec.Struct, **_S):
    type: str = ""
    address: str = ""


class NodeSpecDetail(NodeSpec, **_S):
    taints: tuple[Taint, ...] = ()
    podCIDR: str = ""


class NodeSystemInfoDetail(NodeSystemInfo, **_S):
    kernelVersion: str = ""
    osImage: str = ""
    containerRuntimeVersion: str = ""
    architecture: str = ""


class NodeStatusDetail(NodeStatus, **_S):
    conditions: tuple[ConditionDetail, ...] = ()
    capacity: dict[str, str] = {}
    allocatable: dict[str, str] = {}
    addresses: tuple[NodeAddress, ...] = ()
    nodeInfo: NodeSystemInfoDetail = NodeSystemInfoDetail()


class NodeDetail(Node, **_S):
    metadata: ObjectMetaDetail = ObjectMetaDetail()
    spec: NodeSpecDetail = NodeSpecDetail()
    status: NodeStatusDetail = NodeStatusDetail()


# ---- events (core/v1) -------------------------------------------------------------------------

class ObjectReference(msgspec.Struct, **_S):
    kind: str = ""
    name: str = ""
    namespace: str = ""
    uid: str = ""


class EventSource(msgspec.Struct, **_S):
    component: str = ""
    host: str = ""


class EventSeries(msgspec.Struct, **_S):
    count: int = 0
    lastObservedTime: str | None = None


class Event(msgspec.Struct, **_S):
    metadata: ObjectMeta = ObjectMeta()
    involvedObject: ObjectReference = ObjectReference()
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int = 0
    firstTimestamp: str | None = None
    lastTimestamp: str | None = None
    eventTime: str | None = None
    source: EventSource = EventSource()
    reportingComponent: str = ""
    series: EventSeries | None = None


class EventList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[Event] = []


# ---- namespaces -------------------------------------------------------------------------------

class NamespaceStatus(msgspec.Struct, **_S):
    phase: str = ""


class Namespace(msgspec.Struct, **_S):
    metadata: ObjectMeta = ObjectMeta()
    status: NamespaceStatus = NamespaceStatus()


class NamespaceList(msgspec.Struct, **_S):
    metadata: ListMeta = ListMeta()
    items: list[Namespace] = []


# ---- API status (errors, watch ERROR events) --------------------------------------------------

class Status(msgspec.Struct, **_S):
    kind: str = ""
    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0


def as_detail(obj: Pod | Node) -> PodDetail | NodeDetail:
    """A cached struct widened to its detail type (fields the cache does not keep get their defaults).
    The fallback when a fresh GET for describe fails."""
    if isinstance(obj, (PodDetail, NodeDetail)):
        return obj
    target: type[PodDetail] | type[NodeDetail] = PodDetail if isinstance(obj, Pod) else NodeDetail
    detail: PodDetail | NodeDetail = msgspec.convert(msgspec.to_builtins(obj), target)
    return detail
