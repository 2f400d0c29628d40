"""The EcoTrack scenario from the runbook, as Kubernetes objects (plain dicts)."""
from __future__ import annotations

from . import ports

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
# node group -> (count, instance type, cpu, memory, max pods)
NODE_GROUPS = {
    "system-ng": (3, "m5.large", "2", "8Gi", "29"),
    "apps-ng": (6, "m5.xlarge", "4", "16Gi", "58"),
    "data-ng": (3, "r5.xlarge", "4", "32Gi", "58"),
}
KUBELET_VERSION = "v1.36.3-eks-7e2b1c0"

# service -> (replicas, hpa min, hpa max, cpu usage, memory usage)
SERVICES = {
    "user-service": (4, 4, 8, "140m", "420Mi"),
    "product-service": (4, 4, 8, "110m", "380Mi"),
    "order-service": (4, 4, 10, "160m", "460Mi"),
    "payment-service": (3, 3, 10, "120m", "510Mi"),
    "notification-service": (3, 3, 6, "90m", "350Mi"),
}
NAMESPACES = {
    "ecotrack": {"istio-injection": "enabled"},
    "observability": {},
    "ambassador": {},
    "cert-manager": {},
    "external-dns": {},
    "istio-system": {},
}
APP_VERSION = ["1.4.1", "1.4.2"]  # two rollout revisions per service, so undo has a target
# each service's container port `http` (distinct, so KWOK's port-forward reaches that service's own actuator)
SERVICE_PORTS = {"user-service": 8080, "product-service": 8081, "order-service": 8082, "payment-service": 8083,
                 "notification-service": 8084}


def _meta(name: str, ns: str | None = None, labels: dict | None = None, annotations: dict | None = None) -> dict:
    m: dict = {"name": name}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    return m


def node_names() -> list[str]:
    return [n["metadata"]["name"] for n in nodes()]


def nodes() -> list[dict]:
    out = []
    i = 0
    for group, (count, itype, cpu, mem, pods) in NODE_GROUPS.items():
        for k in range(count):
            zone = ZONES[k % 3]
            subnet = 1 + k % 3
            name = f"ip-10-0-{subnet}-{20 + i}.ec2.internal"
            i += 1
            labels = {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": itype, "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": REGION, "eks.amazonaws.com/nodegroup": group,
                "eks.amazonaws.com/capacityType": "ON_DEMAND", "type": "kwok",
            }
            if group == "data-ng":
                labels["workload"] = "data"
            res = {"cpu": cpu, "memory": mem, "pods": pods, "ephemeral-storage": "80Gi"}
            out.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": _meta(name, labels=labels, annotations={
                    "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0",
                    "metrics.k8s.io/resource-metrics-path": f"/metrics/nodes/{name}/metrics/resource"}),
                "spec": {"providerID": f"aws:///{zone}/i-0{abs(hash(name)) % 16**15:015x}"},
                "status": {
                    "capacity": res, "allocatable": res,
                    "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "osImage": "Amazon Linux 2023.6.20241121",
                                 "kernelVersion": "6.1.115-126.197.amzn2023.x86_64", "architecture": "amd64",
                                 "containerRuntimeVersion": "containerd://1.7.23", "operatingSystem": "linux"},
                },
            })
    return out


def _container(name: str, image: str, port: int, cpu: str, mem: str, lim_cpu: str, lim_mem: str) -> dict:
    return {"name": name, "image": image, "ports": [{"containerPort": port, "name": "http"}],
            "resources": {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": lim_cpu, "memory": lim_mem}}}


def _workload(kind: str, name: str, ns: str, replicas: int | None, container: dict, *, labels: dict | None = None,
              usage: tuple[str, str] = ("20m", "64Mi"), node_selector: dict | None = None,
              annotations: dict | None = None) -> dict:
    lbl = {"app": name, **(labels or {})}
    pod_ann = {"kwok.x-k8s.io/usage-cpu": usage[0], "kwok.x-k8s.io/usage-memory": usage[1]}
    spec: dict = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": lbl, "annotations": pod_ann},
                     "spec": {"containers": [container], **({"nodeSelector": node_selector} if node_selector else {})}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    if kind == "Deployment":
        spec["revisionHistoryLimit"] = 10
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(name, ns, lbl, annotations), "spec": spec}


def _service(name: str, ns: str, port: int, target: int | str, headless: bool = False) -> dict:
    spec: dict = {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": target}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns, {"app": name}), "spec": spec}


def outdated(deployments: list[dict], services: list[dict]) -> list[str]:
    """What of the live EcoTrack Deployments/Services (API items of namespace ecotrack) differs from this scenario's
    ports (an older testbed had 8080 everywhere and numbered targetPorts); [] when up to date or not there."""
    deps = {d["metadata"]["name"]: d for d in deployments}
    svcs = {s["metadata"]["name"]: s for s in services}
    out = []
    for svc, port in SERVICE_PORTS.items():
        d = deps.get(svc)
        if d is not None:
            cports = [p for c in d["spec"]["template"]["spec"].get("containers", []) for p in c.get("ports", [])]
            if not any(p.get("name") == "http" and p.get("containerPort") == port for p in cports):
                out.append(f"deployment/{svc} port")
        s = svcs.get(svc)
        if s is not None and not any(p.get("port") == 80 and p.get("targetPort") == "http"
                                     for p in s["spec"].get("ports", [])):
            out.append(f"service/{svc} targetPort")
    return out


def service_deployments(version: str) -> list[dict]:
    out = []
    for svc, (replicas, _mn, _mx, cpu_use, mem_use) in SERVICES.items():
        c = _container(svc, f"ecotrack/{svc}:{version}", SERVICE_PORTS[svc], "250m", "512Mi", "1", "1Gi")
        c["env"] = [{"name": "SPRING_PROFILES_ACTIVE", "value": "prod"}]
        out.append(_workload("Deployment", svc, "ecotrack", replicas, c, labels={"tier": "backend", "version": version},
                             usage=(cpu_use, mem_use), annotations={"kubernetes.io/change-cause": f"deploy {svc} {version}"}))
    return out


def objects() -> list[dict]:
    """Everything except nodes and the second rollout revision."""
    objs: list[dict] = []
    for ns, labels in NAMESPACES.items():
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns, labels=labels or None)})
    # metrics.k8s.io through the aggregator -> metrics-server on loopback
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("metrics-server", "kube-system"),
                 "spec": {"type": "ExternalName", "externalName": ports.HOST}})
    objs.append({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                 "metadata": {"name": "v1beta1.metrics.k8s.io"},
                 "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                          "versionPriority": 100, "insecureSkipTLSVerify": True,
                          "service": {"name": "metrics-server", "namespace": "kube-system",
                                      "port": ports.METRICS_SERVER}}})
    # EcoTrack services: Deployment + Service + PDB + HPA
    objs += service_deployments(APP_VERSION[0])
    for svc, (_r, mn, mx, _c, _m) in SERVICES.items():
        objs.append(_service(svc, "ecotrack", 80, "http"))  # named targetPort: kubectl's named-port rule
        objs.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(f"{svc}-pdb", "ecotrack"),
                     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": svc}}}})
        objs.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": _meta(f"{svc}-hpa", "ecotrack"),
                     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc},
                              "minReplicas": mn, "maxReplicas": mx,
                              "metrics": [{"type": "Resource", "resource": {
                                  "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
    data = {"workload": "data"}
    objs.append(_workload("StatefulSet", "postgres-primary", "ecotrack", 2,
                          _container("postgres", "postgres:15.8", 5432, "500m", "1Gi", "2", "4Gi"),
                          usage=("300m", "1800Mi"), node_selector=data))
    objs.append(_service("postgres-primary", "ecotrack", 5432, 5432, headless=True))
    objs.append(_workload("StatefulSet", "redis", "ecotrack", 3, _container("redis", "redis:7.2", 6379, "100m", "256Mi", "500m", "1Gi"),
                          usage=("40m", "180Mi"), node_selector=data))
    objs.append(_service("redis", "ecotrack", 6379, 6379, headless=True))
    objs.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta("db-migrate-1-4-1", "ecotrack"),
                 "spec": {"backoffLimit": 1, "template": {"metadata": {"labels": {"app": "db-migrate"}}, "spec": {
                     "restartPolicy": "Never",
                     "containers": [_container("flyway", "flyway/flyway:10", 8080, "100m", "128Mi", "500m", "256Mi")]}}}})
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta("ecotrack", "ecotrack"),
                 "spec": {"ingressClassName": "ambassador", "rules": [
                     {"host": f"{svc}.ecotrack.dev", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                         "service": {"name": svc, "port": {"number": 80}}}}]}} for svc in SERVICES]}})
    # observability (LGTM), named as in the runbook
    for name, port, reps, usage in (("grafana", 3000, 1, ("60m", "220Mi")), ("prometheus-server", 9090, 1, ("400m", "2Gi")),
                                    ("loki-query-frontend", 3100, 2, ("80m", "300Mi")),
                                    ("tempo-query-frontend", 3200, 1, ("50m", "200Mi")),
                                    ("alertmanager", 9093, 1, ("10m", "40Mi"))):
        objs.append(_workload("Deployment", name, "observability", reps,
                              _container(name.split("-")[0], f"grafana/{name}:latest" if name != "prometheus-server" else "prom/prometheus:v2.55.1",
                                         port, "100m", "256Mi", "1", "4Gi"), usage=usage))
        objs.append(_service(name, "observability", 80 if name in ("grafana", "prometheus-server") else port, port))
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta("grafana", "observability"),
                 "spec": {"ingressClassName": "ambassador", "rules": [{"host": "grafana.ecotrack.dev", "http": {"paths": [
                     {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "grafana", "port": {"number": 80}}}}]}}]}})
    for name, reps, image in (("loki-ingester", 3, "grafana/loki:3.3.2"), ("tempo-ingester", 2, "grafana/tempo:2.6.1"),
                              ("mimir-ingester", 3, "grafana/mimir:2.14.2")):
        objs.append(_workload("StatefulSet", name, "observability", reps,
                              _container(name.split("-")[0], image, 3100, "200m", "512Mi", "1", "2Gi"), usage=("150m", "700Mi")))
        objs.append(_service(name, "observability", 3100, 3100, headless=True))
    # daemonsets
    for name, ns, image in (("promtail", "observability", "grafana/promtail:3.3.2"),
                            ("prometheus-node-exporter", "observability", "prom/node-exporter:v1.8.2"),
                            ("kube-proxy", "kube-system", "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.36.3-eksbuild.1"),
                            ("aws-node", "kube-system", "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.0"),
                            ("node-local-dns", "kube-system", "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1"),
                            ("istio-cni-node", "istio-system", "docker.io/istio/install-cni:1.24.1"),
                            ("ebs-csi-node", "kube-system", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.37.0")):
        objs.append(_workload("DaemonSet", name, ns, None, _container(name, image, 9100, "25m", "64Mi", "200m", "256Mi"),
                              usage=("8m", "48Mi")))
    # platform deployments
    for name, ns, reps, image in (("coredns", "kube-system", 2, "coredns/coredns:1.11.3"),
                                  ("ebs-csi-controller", "kube-system", 2, "aws-ebs-csi-driver:v1.37.0"),
                                  ("ambassador", "ambassador", 3, "docker.io/emissaryingress/emissary:3.9.1"),
                                  ("cert-manager", "cert-manager", 1, "quay.io/jetstack/cert-manager-controller:v1.16.2"),
                                  ("cert-manager-cainjector", "cert-manager", 1, "quay.io/jetstack/cert-manager-cainjector:v1.16.2"),
                                  ("cert-manager-webhook", "cert-manager", 1, "quay.io/jetstack/cert-manager-webhook:v1.16.2"),
                                  ("kube-state-metrics", "observability", 1, "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0"),
                                  ("mimir-querier", "observability", 2, "grafana/mimir:2.14.2"),
                                  ("cluster-autoscaler", "kube-system", 1, "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0"),
                                  ("aws-load-balancer-controller", "kube-system", 2, "public.ecr.aws/eks/aws-load-balancer-controller:v2.10.1"),
                                  ("external-dns", "external-dns", 1, "registry.k8s.io/external-dns/external-dns:v0.15.0"),
                                  ("istiod", "istio-system", 2, "docker.io/istio/pilot:1.24.1"),
                                  ("istio-ingressgateway", "istio-system", 2, "docker.io/istio/proxyv2:1.24.1")):
        objs.append(_workload("Deployment", name, ns, reps, _container(name, image, 8080, "50m", "128Mi", "500m", "512Mi"),
                              usage=("15m", "90Mi")))
    return objs


EKS_ADMINS = "ecotui:eks-admins"  # the group testbed/eksauth.py puts every moto identity in


def aws_objects() -> list[dict]:
    """RBAC for the EKS path: the identities our token webhook maps (STS ARNs) are cluster admins, as the
    cluster creator is on EKS."""
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "ecotui-eks-admins", "labels": {"app.kubernetes.io/part-of": "ecotui-testbed"}},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": EKS_ADMINS}]}]
