"""Ingresses (networking.k8s.io/v1): NAME CLASS HOSTS ADDRESS PORTS AGE, like `kubectl get ingress`
(HOSTS: the first 3 hosts then "+ N more...", or `*`; PORTS `80`, or `80, 443` with TLS)."""
from __future__ import annotations

from typing import Any

from .common import (Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, msgspec, name_cell, ns_cell,
                     shared_text, table)
from .services import LoadBalancerStatus, lb_addresses
from .spec import GVR, Cap, Cells, KindSpec


class IngressRule(msgspec.Struct, **S):
    host: str = ""


class IngressTLS(msgspec.Struct, **S):
    pass  # only how many there are matters to the table


class IngressSpec(msgspec.Struct, **S):
    ingressClassName: str | None = None
    rules: tuple[IngressRule, ...] = ()
    tls: tuple[IngressTLS, ...] = ()


class IngressStatus(msgspec.Struct, **S):
    loadBalancer: LoadBalancerStatus = LoadBalancerStatus()


class Ingress(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: IngressSpec = IngressSpec()
    status: IngressStatus = IngressStatus()


class IngressList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[Ingress] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("class", "CLASS"), ("hosts", "HOSTS"),
           ("address", "ADDRESS"), ("ports", "PORTS"), ("age", "AGE")]


def hosts_text(rules: tuple[IngressRule, ...]) -> str:
    """kubectl's formatHosts (at most 3 hosts, then "+ N more..." counted over all rules)."""
    hosts: list[str] = []
    more = False
    for r in rules:
        if len(hosts) == 3:
            more = True
        if not more and r.host:
            hosts.append(r.host)
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def cells(ing: Ingress, now: float) -> Cells:
    md, sp = ing.metadata, ing.spec
    cls = sp.ingressClassName
    hosts = hosts_text(sp.rules)
    addr = lb_addresses(ing.status.loadBalancer.ingress)
    return (ns_cell(md), name_cell(md),
            shared_text("<none>", "muted") if cls is None else shared_text(cls),
            Cell(inert(hosts), hosts),
            Cell(inert(addr), addr, "" if addr else "muted"),
            shared_text("80, 443" if sp.tls else "80"),
            age_cell(md.creationTimestamp, now))


def _backend(b: Any) -> str:
    if not isinstance(b, dict):
        return "<default>"
    svc = b.get("service")
    if isinstance(svc, dict):
        port = svc.get("port") or {}
        return inert(f"{svc.get('name', '')}:{port.get('number') or port.get('name') or ''}")
    res = b.get("resource")
    if isinstance(res, dict):
        return inert(f"{res.get('apiGroup', '')}/{res.get('kind', '')}/{res.get('name', '')}".lstrip("/"))
    return "<default>"


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    field(out, "Ingress Class", inert(str(spec.get("ingressClassName") or "<none>")))
    addrs = [i.get("ip") or i.get("hostname") for i in get(st, "loadBalancer", "ingress", default=())
             if i.get("ip") or i.get("hostname")]
    field(out, "Address", inert(",".join(str(a) for a in addrs)))
    field(out, "Default backend", _backend(spec.get("defaultBackend")) if spec.get("defaultBackend") else "<default>")
    tls = spec.get("tls") or ()
    if tls:
        out.append("TLS:")
        out.extend(inert(f"  {t.get('secretName', '') or '<none>'} terminates {','.join(t.get('hosts') or ())}")
                   for t in tls)
    rows = [["Host", "Path", "Backends"]]
    for r in spec.get("rules") or ():
        host = inert(str(r.get("host") or "*"))
        paths = get(r, "http", "paths", default=())
        if not paths:
            rows.append([host, "", "<default>"])
        for i, p in enumerate(paths):
            rows.append([host if i == 0 else "", inert(str(p.get("path") or "/")), _backend(p.get("backend"))])
    out.append("Rules:")
    out.extend(table(rows) if len(rows) > 1 else ["  <none>"])
    return out


SPEC = KindSpec(GVR("networking.k8s.io", "v1", "ingresses"), "Ingress", "Ingresses", namespaced=True,
                names=("ingresses", "ingress", "ing"), list_type=IngressList, item_type=Ingress,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 48, "hosts": 60, "address": 40})
