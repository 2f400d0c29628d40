"""Services (core/v1): NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, in kubectl's exact formats
(`80/TCP`, `80:30080/TCP`, `<none>`, `<pending>` for a LoadBalancer without an address yet, the
external name of an ExternalName service, load-balancer addresses cut to 16 characters)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecotui.kube.render import _ip_sort

from .common import (Cell, ListMeta, ObjectMeta, S, age_cell, field, get, inert, mapping, msgspec, name_cell,
                     ns_cell, shared_text, table)
from .spec import GVR, Cap, Cells, KindSpec

LB_WIDTH = 16  # kubectl's loadBalancerWidth (wide output shows all)


class ServicePort(msgspec.Struct, **S):
    port: int = 0
    nodePort: int = 0
    protocol: str = "TCP"


class ServiceSpec(msgspec.Struct, **S):
    type: str = ""
    clusterIPs: tuple[str, ...] = ()
    externalIPs: tuple[str, ...] = ()
    externalName: str = ""
    ports: tuple[ServicePort, ...] = ()


class LoadBalancerIngress(msgspec.Struct, **S):
    ip: str = ""
    hostname: str = ""


class LoadBalancerStatus(msgspec.Struct, **S):
    ingress: tuple[LoadBalancerIngress, ...] = ()


class ServiceStatus(msgspec.Struct, **S):
    loadBalancer: LoadBalancerStatus = LoadBalancerStatus()


class Service(msgspec.Struct, **S):
    metadata: ObjectMeta = ObjectMeta()
    spec: ServiceSpec = ServiceSpec()
    status: ServiceStatus = ServiceStatus()


class ServiceList(msgspec.Struct, **S):
    metadata: ListMeta = ListMeta()
    items: list[Service] = []


COLUMNS = [("namespace", "NAMESPACE"), ("name", "NAME"), ("type", "TYPE"), ("cluster_ip", "CLUSTER-IP"),
           ("external_ip", "EXTERNAL-IP"), ("ports", "PORT(S)"), ("age", "AGE")]


def lb_addresses(ingress: Any, wide: bool = False) -> str:
    """kubectl's loadBalancerStatusStringer: sorted unique IPs (else hostnames), cut to 16 chars."""
    r = ",".join(sorted({i.ip or i.hostname for i in ingress if i.ip or i.hostname}))
    if not wide and len(r) > LB_WIDTH:
        r = r[:LB_WIDTH - 3] + "..."
    return r


def external_ip(svc: Service) -> str:
    """kubectl's getServiceExternalIP (non-wide)."""
    sp = svc.spec
    if sp.type in ("ClusterIP", "NodePort"):
        return ",".join(sp.externalIPs) if sp.externalIPs else "<none>"
    if sp.type == "LoadBalancer":
        lb = lb_addresses(svc.status.loadBalancer.ingress)
        if sp.externalIPs:
            return ",".join([*(lb.split(",") if lb else ()), *sp.externalIPs])
        return lb or "<pending>"
    if sp.type == "ExternalName":
        return sp.externalName
    return "<unknown>"


def ports_text(ports: tuple[ServicePort, ...]) -> str:
    """kubectl's makePortString: "80/TCP,443:30443/TCP"; "<none>" without ports."""
    return ",".join(f"{p.port}:{p.nodePort}/{p.protocol}" if p.nodePort > 0 else f"{p.port}/{p.protocol}"
                    for p in ports) or "<none>"


def cells(svc: Service, now: float) -> Cells:
    md, sp = svc.metadata, svc.spec
    cip = sp.clusterIPs[0] if sp.clusterIPs else "<none>"
    ext = external_ip(svc)
    ext_style = "warning" if ext == "<pending>" else "muted" if ext in ("<none>", "<unknown>") else ""
    ports = ports_text(sp.ports)
    return (ns_cell(md), name_cell(md), shared_text(sp.type),
            Cell(inert(cip), _ip_sort(cip), "muted" if cip in ("<none>", "None") else ""),
            Cell(inert(ext), ext, ext_style),
            shared_text(ports, "muted" if ports == "<none>" else ""),
            age_cell(md.creationTimestamp, now))


def _target(p: Mapping[str, Any]) -> str:
    t = p.get("targetPort")
    if t is None:
        return str(p.get("port", ""))
    return f"{t}/{p.get('protocol') or 'TCP'}"


def _endpoints(obj: Any) -> list[str]:
    """Ready addresses of the service's EndpointSlices/Endpoints when the caller put them in the object
    (`obj["endpoints"]`: a list of "ip:port" strings); otherwise nothing."""
    eps = obj.get("endpoints") if isinstance(obj, Mapping) else None
    if eps is None:
        return []
    shown = [inert(str(e)) for e in list(eps)[:10]]
    more = f" + {len(eps) - 10} more..." if len(eps) > 10 else ""
    return [f"Endpoints:         {','.join(shown) + more if shown else '<none>'}"]


def describe(obj: Any, now: float) -> list[str]:
    spec, st = get(obj, "spec", default={}), get(obj, "status", default={})
    out: list[str] = []
    field(out, "Selector", mapping(spec.get("selector") or {}).replace("\n", ","))
    typ = str(spec.get("type", ""))
    field(out, "Type", inert(typ))
    field(out, "IP Family Policy", inert(str(spec.get("ipFamilyPolicy", ""))) or "<none>")
    field(out, "IP Families", inert(",".join(str(f) for f in spec.get("ipFamilies") or ())) or "<none>")
    field(out, "IP", inert(str(spec.get("clusterIP", ""))) or "<none>")
    ips = spec.get("clusterIPs") or ()
    field(out, "IPs", inert(",".join(str(i) for i in ips)) or "<none>")
    if spec.get("externalIPs"):
        field(out, "External IPs", inert(",".join(str(i) for i in spec["externalIPs"])))
    lb = [i.get("ip") or i.get("hostname") for i in get(st, "loadBalancer", "ingress", default=())
          if i.get("ip") or i.get("hostname")]
    if typ == "LoadBalancer":
        field(out, "LoadBalancer Ingress", inert(", ".join(str(x) for x in lb)) or "<pending>")
    if typ == "ExternalName":
        field(out, "External Name", inert(str(spec.get("externalName", ""))))
    ports = spec.get("ports") or ()
    rows = [["Name", "Port", "TargetPort", "NodePort"]]
    for p in ports:
        rows.append([inert(str(p.get("name") or "<unset>")), f"{p.get('port', '')}/{p.get('protocol') or 'TCP'}",
                     inert(_target(p)), str(p.get("nodePort", "")) or ""])
    out.append("Ports:" + ("" if ports else "             <none>"))
    if ports:
        out.extend(table(rows))
    out.extend(_endpoints(obj))
    field(out, "Session Affinity", inert(str(spec.get("sessionAffinity", ""))) or "None")
    if spec.get("externalTrafficPolicy"):
        field(out, "External Traffic Policy", inert(str(spec["externalTrafficPolicy"])))
    if spec.get("internalTrafficPolicy"):
        field(out, "Internal Traffic Policy", inert(str(spec["internalTrafficPolicy"])))
    return out


SPEC = KindSpec(GVR("", "v1", "services"), "Service", "Services", namespaced=True,
                names=("services", "service", "svc"), list_type=ServiceList, item_type=Service,
                columns=COLUMNS, cells=cells, describe=describe,
                capabilities=frozenset({Cap.DESCRIBE, Cap.PORT_FORWARD, Cap.DELETE}),
                max_widths={"namespace": 24, "name": 56, "external_ip": 40, "ports": 48})
