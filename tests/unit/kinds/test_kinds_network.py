"""Services and Ingresses: kubectl's exact column formats."""
from __future__ import annotations

import copy

from kinds_helpers import HOSTILE, NOW, assert_inert, meta, row, styles

from ecotui.kinds import ingresses, services
from ecotui.kinds.common import describe_object


def svc(spec: dict, status: dict | None = None, name: str = "user-service") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, "ecotrack"),
            "spec": {"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                     "internalTrafficPolicy": "Cluster", **spec},
            "status": status or {"loadBalancer": {}}}


CLUSTER_IP = svc({"type": "ClusterIP", "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"],
                  "selector": {"app": "user-service"},
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]})


def test_cluster_ip():
    assert row(services.SPEC, CLUSTER_IP) == {
        "namespace": "ecotrack", "name": "user-service", "type": "ClusterIP", "cluster_ip": "10.96.12.34",
        "external_ip": "<none>", "ports": "80/TCP", "age": "60m"}


def test_headless_and_multi_port():
    s = svc({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
             "ports": [{"name": "redis", "port": 6379, "protocol": "TCP", "targetPort": 6379},
                       {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]})
    r = row(services.SPEC, s)
    assert (r["cluster_ip"], r["ports"]) == ("None", "6379/TCP,53/UDP")


def test_node_port_and_external_ips():
    s = svc({"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
             "externalIPs": ["192.0.2.1", "192.0.2.2"],
             "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 8080}]})
    r = row(services.SPEC, s)
    assert (r["external_ip"], r["ports"]) == ("192.0.2.1,192.0.2.2", "80:30080/TCP")


def test_load_balancer_pending_and_addresses():
    spec = {"type": "LoadBalancer", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"],
            "externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True,
            "ports": [{"name": "https", "port": 443, "nodePort": 31443, "protocol": "TCP", "targetPort": 8443}]}
    pending = svc(spec)
    assert row(services.SPEC, pending)["external_ip"] == "<pending>"
    assert styles(services.SPEC, pending)["external_ip"] == "warning"
    ip = svc(spec, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9", "ipMode": "VIP"}]}})
    assert row(services.SPEC, ip)["external_ip"] == "203.0.113.9"
    # AWS: a long hostname is cut to 16 characters like kubectl (wide output shows it whole)
    host = "a1b2c3d4e5f6a7b8c9d0-1234567890.us-east-1.elb.amazonaws.com"
    elb = svc(spec, {"loadBalancer": {"ingress": [{"hostname": host}]}})
    assert row(services.SPEC, elb)["external_ip"] == "a1b2c3d4e5f6a..."
    two = svc(spec, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"ip": "198.51.100.1"}]}})
    assert row(services.SPEC, two)["external_ip"] == "198.51.100.1,..."   # sorted, then cut
    both = svc({**spec, "externalIPs": ["192.0.2.1"]}, {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
    assert row(services.SPEC, both)["external_ip"] == "1.2.3.4,192.0.2.1"


def test_external_name():
    s = svc({"type": "ExternalName", "externalName": "db.example.com"}, name="db")
    r = row(services.SPEC, s)
    assert (r["type"], r["cluster_ip"], r["external_ip"], r["ports"]) == (
        "ExternalName", "<none>", "db.example.com", "<none>")


def test_service_describe():
    text = "\n".join(services.describe(CLUSTER_IP, NOW))
    assert "Selector:         app=user-service" in text and "Type:             ClusterIP" in text
    assert "IP:               10.96.12.34" in text
    assert "http" in text and "80/TCP" in text and "8080/TCP" in text
    with_eps = {**CLUSTER_IP, "endpoints": ["10.0.0.1:8080", "10.0.0.2:8080"]}
    assert "Endpoints:         10.0.0.1:8080,10.0.0.2:8080" in "\n".join(services.describe(with_eps, NOW))


ING = {
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("ecotrack", "ecotrack"),
    "spec": {"ingressClassName": "ambassador", "rules": [
        {"host": f"{s}.ecotrack.dev", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": s, "port": {"number": 80}}}}]}}
        for s in ("user-service", "product-service", "order-service", "payment-service", "notification-service")]},
    "status": {"loadBalancer": {}},
}


def test_ingress_row_like_kubectl():
    assert row(ingresses.SPEC, ING) == {
        "namespace": "ecotrack", "name": "ecotrack", "class": "ambassador",
        "hosts": "user-service.ecotrack.dev,product-service.ecotrack.dev,order-service.ecotrack.dev + 2 more...",
        "address": "", "ports": "80", "age": "60m"}


def test_ingress_variants():
    i = copy.deepcopy(ING)
    del i["spec"]["ingressClassName"]
    i["spec"]["rules"] = [{"http": {"paths": []}}]
    i["spec"]["tls"] = [{"hosts": ["a.example.com"], "secretName": "tls"}]
    i["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}
    assert row(ingresses.SPEC, i) | {"age": ""} == {
        "namespace": "ecotrack", "name": "ecotrack", "class": "<none>", "hosts": "*", "address": "203.0.113.9",
        "ports": "80, 443", "age": ""}
    i["spec"]["rules"] = [{"host": "a"}, {"host": ""}, {"host": "b"}, {"host": "c"}]
    assert row(ingresses.SPEC, i)["hosts"] == "a,b,c"
    i["spec"]["rules"].append({"host": "d"})       # kubectl counts "more" over all rules, empty hosts too
    assert row(ingresses.SPEC, i)["hosts"] == "a,b,c + 2 more..."


def test_ingress_describe():
    text = "\n".join(ingresses.describe(ING, NOW))
    assert "Ingress Class:    ambassador" in text
    assert "user-service.ecotrack.dev" in text and "user-service:80" in text and "Rules:" in text


def test_hostile_network_strings():
    s = copy.deepcopy(CLUSTER_IP)
    s["metadata"]["name"] = HOSTILE
    s["spec"]["type"] = "ExternalName"
    s["spec"]["externalName"] = HOSTILE
    for t in row(services.SPEC, s).values():
        assert_inert(t)
    assert_inert(describe_object("Service", s, services.describe(s, NOW), [], NOW))
    i = copy.deepcopy(ING)
    i["spec"]["rules"][0]["host"] = HOSTILE
    i["spec"]["ingressClassName"] = HOSTILE
    i["status"] = {"loadBalancer": {"ingress": [{"hostname": HOSTILE}]}}
    for t in row(ingresses.SPEC, i).values():
        assert_inert(t)
    assert_inert(describe_object("Ingress", i, ingresses.describe(i, NOW), [], NOW))
