"""The health grid's settings (config `contexts.NAME.health`): which services, which path, through which port.

Defaults are the runbook's: `/actuator/health` of the five EcoTrack services in namespace `ecotrack`, reached
through a port-forward to each Service's `http` port.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RUNBOOK_SERVICES = ("user-service", "product-service", "order-service", "payment-service", "notification-service")
_KEYS = ("path", "namespace", "services", "port", "interval_s", "timeout_s")


@dataclass(frozen=True)
class HealthSettings:
    path: str = "/actuator/health"
    namespace: str = "ecotrack"
    services: tuple[str, ...] = RUNBOOK_SERVICES
    port: int | str = "http"      # the Service port the forward goes to (name or number)
    interval_s: float = 10.0      # re-run while the grid is visible
    timeout_s: float = 5.0        # per request


def parse_health(raw: Any, where: str) -> HealthSettings:
    """A `health:` mapping → HealthSettings (missing keys keep the defaults). ValueError with one line."""
    if raw is None:
        return HealthSettings()
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping ({', '.join(_KEYS)})")
    extra = sorted(str(k) for k in raw if k not in _KEYS)
    if extra:
        raise ValueError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(_KEYS)})")
    d = HealthSettings()
    path = raw.get("path", d.path)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"{where}.path must start with / (got {path!r})")
    ns = raw.get("namespace", d.namespace)
    if not isinstance(ns, str) or not ns:
        raise ValueError(f"{where}.namespace must be a non-empty string")
    services = raw.get("services", list(d.services))
    if not isinstance(services, list) or not services or not all(isinstance(s, str) and s for s in services):
        raise ValueError(f"{where}.services must be a non-empty list of Service names")
    port = raw.get("port", d.port)
    if isinstance(port, bool) or not isinstance(port, (int, str)) or (isinstance(port, int) and not 0 < port < 65536):
        raise ValueError(f"{where}.port must be a Service port number or name (got {port!r})")
    nums = {}
    for key in ("interval_s", "timeout_s"):
        v = raw.get(key, getattr(d, key))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.5 <= v <= 3600:
            raise ValueError(f"{where}.{key} must be a number of seconds from 0.5 to 3600 (got {v!r})")
        nums[key] = float(v)
    return HealthSettings(path, ns, tuple(services), port, nums["interval_s"], nums["timeout_s"])
