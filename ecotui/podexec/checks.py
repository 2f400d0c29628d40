"""Configured one-shot checks [run_check]: the runbook's `psql ... -c "SELECT 1;"` in postgres-primary and
`redis-cli ping` in redis by default, or the context's `checks:` (parsed by `ecotui.config` into CheckSpec).

A check's target is a pod (`NAME`, `pod/NAME`) or a workload/Service (`sts/NAME`, `deploy/NAME`, `svc/NAME`)
resolved to one ready pod like `kubectl exec deploy/NAME` does (its selector's pods, Running and Ready, the one
ready the longest first). `run_checks` runs them all at once, each bounded by a timeout; every outcome is a
`CheckResult` (never an exception): resolution failures, a refused exec (read-only, 403) and timeouts are its
`error` line.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ecotui.errors import EcotuiError
from ecotui.podexec.run import ExecResult, run_command
from ecotui.textsafe import one_line


@dataclass(frozen=True)
class CheckSpec:
    name: str
    namespace: str
    target: str                      # pod NAME, pod/NAME, sts/NAME, deploy/NAME or svc/NAME
    container: str | None = None     # None: the pod's default container
    command: list[str] = field(default_factory=list)


DEFAULT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("postgres", "ecotrack", "sts/postgres-primary", None,
              ["psql", "-U", "ecotrack", "-d", "ecotrack", "-c", "SELECT 1;"]),
    CheckSpec("redis", "ecotrack", "sts/redis", None, ["redis-cli", "ping"]),
)

_KINDS = {"pod": "pod", "po": "pod", "pods": "pod",
          "sts": "statefulsets", "statefulset": "statefulsets", "statefulsets": "statefulsets",
          "deploy": "deployments", "deployment": "deployments", "deployments": "deployments",
          "rs": "replicasets", "replicaset": "replicasets", "replicasets": "replicasets",
          "ds": "daemonsets", "daemonset": "daemonsets", "daemonsets": "daemonsets",
          "svc": "services", "service": "services", "services": "services"}
_SHORT = {"statefulsets": "sts", "deployments": "deploy", "replicasets": "rs", "daemonsets": "ds",
          "services": "svc"}


@dataclass(frozen=True)
class CheckResult:
    spec: CheckSpec
    pod: str                        # the pod it ran in ("" when the target did not resolve)
    result: ExecResult | None       # None when it did not run (see error)
    error: str = ""                 # one line: why it did not run or did not finish
    duration: float = 0.0           # seconds, resolution included
    ran_at: float = 0.0             # time.time() at the start

    @property
    def ok(self) -> bool:
        return not self.error and self.result is not None and self.result.ok

    @property
    def exit_code(self) -> int | None:
        return self.result.exit_code if self.result is not None else None


def parse_target(target: str) -> tuple[str, str]:
    """(kind, name): kind "pod" or a plural resource. ValueError with one line for anything else."""
    parts = target.strip().split("/")
    if len(parts) == 1 and parts[0]:
        return "pod", parts[0]
    if len(parts) == 2 and all(parts) and parts[0].lower() in _KINDS:
        return _KINDS[parts[0].lower()], parts[1]
    raise ValueError(f"not an exec target: {target!r} (use NAME, pod/NAME, sts/NAME, deploy/NAME or svc/NAME)")


def label_selector(selector: dict[str, Any]) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as the labelSelector query string."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or ():
        key, op, vals = e.get("key", ""), e.get("operator", ""), ",".join(e.get("values") or ())
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})", "Exists": key,
                      "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(parts)


def _ready_since(pod: dict[str, Any]) -> str | None:
    """The Ready condition's transition time when the pod is Running, Ready and not being deleted."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    for c in status.get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            return str(c.get("lastTransitionTime") or "")
    return None


def pick_ready(pods: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The pod ready the longest (then by name), like kubectl's choice among a workload's active pods."""
    ready = [(since, (p.get("metadata") or {}).get("name", ""), p) for p in pods
             if (since := _ready_since(p)) is not None]
    ready.sort(key=lambda t: (t[0], t[1]))
    return ready[0][2] if ready else None


async def resolve_pod(api: Any, namespace: str, target: str) -> str:
    """The pod name to exec in. EcotuiError / ValueError with one line when there is none."""
    kind, name = parse_target(target)
    ns = quote(namespace, safe="")
    if kind == "pod":
        pod = await api.get(f"/api/v1/namespaces/{ns}/pods/{quote(name, safe='')}")
        if _ready_since(pod) is None:
            phase = (pod.get("status") or {}).get("phase") or "unknown"
            raise ValueError(f"pod {namespace}/{name} is not ready (phase {phase})")
        return name
    group = "/api/v1" if kind == "services" else "/apis/apps/v1"
    obj = await api.get(f"{group}/namespaces/{ns}/{kind}/{quote(name, safe='')}")
    spec = obj.get("spec") or {}
    sel = label_selector({"matchLabels": spec.get("selector") or {}} if kind == "services"
                         else spec.get("selector") or {})
    what = f"{_SHORT[kind]}/{name} in {namespace}"
    if not sel:
        raise ValueError(f"{what} has no selector")
    got = await api.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": sel})
    pods = list((got or {}).get("items") or ())
    pod = pick_ready(pods)
    if pod is None:
        raise ValueError(f"no ready pod for {what} ({len(pods)} pod{'s' if len(pods) != 1 else ''}, none ready)")
    return str(pod["metadata"]["name"])


async def run_check(api: Any, spec: CheckSpec, *, timeout: float = 30.0,
                    clock: Callable[[], float] = time.monotonic) -> CheckResult:
    """Resolve the target and run the command, all within `timeout`. Never raises (but on cancellation)."""
    t0, started = clock(), time.time()
    pod = ""

    def done(result: ExecResult | None, error: str = "") -> CheckResult:
        return CheckResult(spec, pod, result, one_line(error, 300), clock() - t0, started)

    if not spec.command:
        return done(None, f"check {spec.name!r} has no command")
    try:
        async with asyncio.timeout(timeout):
            pod = await resolve_pod(api, spec.namespace, spec.target)
            result = await run_command(api, spec.namespace, pod, spec.container, list(spec.command),
                                       timeout=timeout)
    except TimeoutError:
        return done(None, f"no answer within {timeout:g}s")
    except EcotuiError as exc:
        return done(None, exc.message)
    except ValueError as exc:
        return done(None, str(exc))
    return done(result, result.error)


async def run_checks(api: Any, specs: Sequence[CheckSpec], *, timeout: float = 30.0) -> list[CheckResult]:
    """Every check at once; results in the order of `specs`."""
    return list(await asyncio.gather(*(run_check(api, s, timeout=timeout) for s in specs)))
