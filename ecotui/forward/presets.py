"""Port-forward presets per context (config `contexts.NAME.forwards`), the runbook's defaults, and in-cluster
Service references used as a Loki/Prometheus address (`observability/loki-query-frontend:3100`).

The runbook reaches the observability stack with `kubectl port-forward -n observability svc/grafana 3000:80`,
`svc/prometheus-server 9090:80`, `svc/loki-query-frontend 3100:3100` and `svc/tempo-query-frontend 3200:3200`:
those are the defaults when a context lists no `forwards:`. A preset starts when asked (the forwards pane) or,
with `start: launch`, when ecotui opens the context.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecotui.forward.model import ForwardSpec, Target

START_MODES = ("on-demand", "launch")
_NAME = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"
_SERVICE_REF = re.compile(rf"^(?:svc/)?(?P<ns>{_NAME})/(?:svc/)?(?P<name>{_NAME}):(?P<port>[0-9]{{1,5}}|[a-z][-a-z0-9]*)$")


@dataclass(frozen=True)
class Preset:
    name: str
    target: Target
    port: int | str            # the target's port (a Service port for a Service), number or name
    local_port: int = 0        # 0 = a free port
    address: str = "127.0.0.1"
    start: str = "on-demand"   # or "launch"

    def spec(self, context: str) -> ForwardSpec:
        return ForwardSpec(context, self.target, self.port, self.local_port, self.address, self.name)


DEFAULT_PRESETS: tuple[Preset, ...] = (
    Preset("grafana", Target("service", "observability", "grafana"), 80, 3000),
    Preset("prometheus", Target("service", "observability", "prometheus-server"), 80, 9090),
    Preset("loki", Target("service", "observability", "loki-query-frontend"), 3100, 3100),
    Preset("tempo", Target("service", "observability", "tempo-query-frontend"), 3200, 3200),
)


def _port(value: Any, where: str, *, allow_zero: bool = False) -> int | str:
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a port number or name (got {value!r})")
    if isinstance(value, int):
        if not (0 if allow_zero else 1) <= value <= 65535:
            raise ValueError(f"{where} must be from {0 if allow_zero else 1} to 65535 (got {value})")
        return value
    if isinstance(value, str) and value.strip():
        v = value.strip()
        if v.isdigit():
            return _port(int(v), where, allow_zero=allow_zero)
        if not allow_zero and re.fullmatch(r"[a-z][-a-z0-9]{0,14}", v):
            return v
    raise ValueError(f"{where} must be a port number{'' if allow_zero else ' or name'} (got {value!r})")


def parse_presets(raw: Any, where: str, default_namespace: str = "default") -> tuple[Preset, ...]:
    """A `forwards:` list → presets. Raises ValueError with one line naming the entry and key."""
    if raw is None:
        return DEFAULT_PRESETS
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a list of {{name, target, port, local_port, address, start}}")
    out: list[Preset] = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{w} must be a mapping with name, target and port")
        extra = sorted(str(k) for k in item if k not in ("name", "target", "namespace", "port", "local_port",
                                                          "address", "start"))
        if extra:
            raise ValueError(f"{w}: unknown key {extra[0]!r} (known: name, target, namespace, port, local_port, "
                             "address, start)")
        name, target = item.get("name"), item.get("target")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{w}.name must be a non-empty string")
        if not isinstance(target, str):
            raise ValueError(f"{w}.target must be like observability/svc/grafana or svc/grafana")
        ns = item.get("namespace", default_namespace)
        if not isinstance(ns, str) or not ns:
            raise ValueError(f"{w}.namespace must be a string")
        try:
            tgt = Target.parse(target, ns)
        except ValueError as exc:
            raise ValueError(f"{w}.target: {exc}") from None
        if "port" not in item:
            raise ValueError(f"{w}.port is missing (the target's port, e.g. 80)")
        port = _port(item["port"], f"{w}.port")
        local = _port(item.get("local_port", 0), f"{w}.local_port", allow_zero=True)
        address = item.get("address", "127.0.0.1")
        if not isinstance(address, str) or not address.strip():
            raise ValueError(f"{w}.address must be a string (127.0.0.1 unless you mean it)")
        start = item.get("start", "on-demand")
        if start not in START_MODES:
            raise ValueError(f"{w}.start must be one of {', '.join(START_MODES)} (got {start!r})")
        out.append(Preset(name.strip(), tgt, port, int(local), address.strip(), start))
    names = [p.name for p in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ValueError(f"{where}: two presets are named {dup!r}")
    return tuple(out)


@dataclass(frozen=True)
class ServiceRef:
    """`namespace/service:port` — an in-cluster Service a source (Loki, Prometheus) is reached through."""

    namespace: str
    name: str
    port: int | str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"

    def spec(self, context: str, label: str) -> ForwardSpec:
        return ForwardSpec(context, Target("service", self.namespace, self.name), self.port, 0, "127.0.0.1", label)


def parse_service_ref(text: str) -> ServiceRef | None:
    """`observability/loki-query-frontend:3100` (also `svc/observability/...`, `observability/svc/...`) → a
    ServiceRef; anything else (a URL) → None."""
    if "://" in text:
        return None
    m = _SERVICE_REF.match(text.strip())
    if m is None:
        return None
    port = m.group("port")
    return ServiceRef(m.group("ns"), m.group("name"), int(port) if port.isdigit() else port)


def launch_presets(presets: Sequence[Preset]) -> list[Preset]:
    return [p for p in presets if p.start == "launch"]
