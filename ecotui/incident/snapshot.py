"""[incident_snapshot]: the affected namespaces as one YAML `kind: List`, like `kubectl get all -o yaml` plus
ConfigMaps and Secrets — the runbook's configuration backup, saved next to the incident's files.

* Kinds: pods, services, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs, HPAs, configmaps,
  secrets (LISTs through the workspace's client, paged).
* **Secret values are never written**: every value of a Secret's `data` and `stringData` becomes "<redacted>"
  (keys kept), and its `kubectl.kubernetes.io/last-applied-configuration` annotation (which holds the values in
  clear) too. `metadata.managedFields` is dropped from every object.
* A kind that cannot be listed (403, a group the server does not serve…) is a comment line at the top of the
  file (`# not captured: secrets in ecotrack: forbidden: …`), not a failure. Only when nothing at all could be
  read (the API server unreachable) is it an EcotuiError (one line).
* `write_snapshot` writes `<store.dir_for(inc)>/snapshot-<namespaces>-<UTC time>.yaml` atomically (tmp, fsync,
  rename, fsync of the directory), mode 0600.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import yaml

from ecotui.errors import ConnectError, EcotuiError
from ecotui.incident.collect import list_all
from ecotui.incident.model import Incident
from ecotui.textsafe import one_line

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# (kind, apiVersion, plural) in `kubectl get all` order, then configmaps and secrets
KINDS: tuple[tuple[str, str, str], ...] = (
    ("Pod", "v1", "pods"),
    ("Service", "v1", "services"),
    ("DaemonSet", "apps/v1", "daemonsets"),
    ("Deployment", "apps/v1", "deployments"),
    ("ReplicaSet", "apps/v1", "replicasets"),
    ("StatefulSet", "apps/v1", "statefulsets"),
    ("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    ("CronJob", "batch/v1", "cronjobs"),
    ("Job", "batch/v1", "jobs"),
    ("ConfigMap", "v1", "configmaps"),
    ("Secret", "v1", "secrets"),
)
CONCURRENCY = 4

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class DirStore(Protocol):
    def dir_for(self, inc: Incident) -> Path: ...


def list_path(api_version: str, plural: str, ns: str) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{base}/namespaces/{ns}/{plural}"


def clean(obj: dict[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    """One object as `kubectl get -o yaml` shows it in a List, minus managedFields; a Secret's values redacted."""
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    out.update((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind"))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k != "managedFields"}
        out["metadata"] = meta
    if kind == "Secret":
        for field in ("data", "stringData"):
            values = out.get(field)
            if isinstance(values, dict):
                out[field] = {k: REDACTED for k in values}
            elif values is not None:
                out[field] = REDACTED
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict) and LAST_APPLIED in meta["annotations"]:
            meta["annotations"] = dict(meta["annotations"], **{LAST_APPLIED: REDACTED})
    return out


async def snapshot_namespaces(client: Any, namespaces: Iterable[str], *, now: float | None = None) -> str:
    """The namespaces' objects as one YAML List (see the module's docstring). Raises EcotuiError only when no
    LIST at all succeeded and the API server could not be reached."""
    nss = [n for n in dict.fromkeys(namespaces) if n]
    if not nss:
        raise EcotuiError("snapshot: the incident names no namespace")
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(ns: str, kind: str, api_version: str, plural: str) -> list[dict[str, Any]] | BaseException:
        async with sem:
            try:
                return await list_all(client, list_path(api_version, plural, ns), {})
            except Exception as exc:  # noqa: BLE001 - a comment line in the file
                return exc

    jobs = [(ns, kind, av, plural) for ns in nss for kind, av, plural in KINDS]
    results = await asyncio.gather(*(one(*j) for j in jobs))
    items: list[dict[str, Any]] = []
    missing: list[str] = []
    failures: list[BaseException] = []
    for (ns, kind, av, plural), res in zip(jobs, results):
        if isinstance(res, BaseException):
            failures.append(res)
            msg = res.message if isinstance(res, EcotuiError) else f"{type(res).__name__}: {res}"
            missing.append(one_line(f"{plural} in {ns}: {msg}", 400))
            continue
        items.extend(clean(o, kind, av) for o in res)
    if len(failures) == len(jobs) and all(isinstance(f, ConnectError) for f in failures):
        first = failures[0]
        raise EcotuiError(f"snapshot: {first.message if isinstance(first, EcotuiError) else first}")
    at = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    head = [f"# ecotui snapshot of namespace{'s' if len(nss) > 1 else ''} {', '.join(nss)} at {stamp}",
            "# like `kubectl get all -o yaml` + configmaps + secrets; secret values redacted, managedFields dropped",
            f"# {len(items)} objects"]
    head += [f"# not captured: {m}" for m in missing]
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False,
                     width=120)
    return "\n".join(head) + "\n" + body


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def snapshot_name(inc: Incident, now: float) -> str:
    nss = "+".join(_UNSAFE.sub("_", n) for n in inc.namespaces) or "none"
    return f"snapshot-{nss[:100]}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}.yaml"


def write_snapshot(store: DirStore, inc: Incident, text: str, now: float) -> Path:
    """Write the snapshot next to the incident's files, atomically; its path. OSError → EcotuiError (one line)."""
    try:
        folder = store.dir_for(inc)
        path = folder / snapshot_name(inc, now)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            data = text.encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        raise EcotuiError(f"snapshot: cannot write {exc.filename or 'the file'}: {exc.strerror or exc}") from None
    return path
