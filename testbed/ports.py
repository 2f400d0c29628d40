"""Loopback ports of every testbed component (all bind 127.0.0.1)."""

HOST = "127.0.0.1"
ETCD = 22379
ETCD_PEER = 22380
APISERVER = 26443
CONTROLLER_MANAGER = 30257
SCHEDULER = 30259
KWOK = 30250  # fake kubelet: logs, port-forward, metrics; also kwok's own /metrics
METRICS_SERVER = 24443
PROMETHEUS = 29090
LOKI = 23100
EXPORTER = 29100
HEALTH = 28080  # actuator-like port-forward target of grafana (3000) and tempo (3200): never DOWN
# one actuator look-alike per EcoTrack service (KWOK forwards the service's container port here), so the health
# server knows which service it answers for and an incident can turn exactly that one DOWN
HEALTH_SERVICES = {"user-service": 28081, "product-service": 28082, "order-service": 28083,
                   "payment-service": 28084, "notification-service": 28085}
MOTO = 25000      # moto in server mode (EKS, EC2, STS): the testbed's AWS (testbed/motoserver.py)
EKS_AUTH = 25001  # our webhook token authenticator: presigned-STS tokens checked against moto (testbed/eksauth.py)
BENCH_SINK = 28090  # bench/forward_sink.py (started by the benchmark, not by `up`): every pod's port 9000 lands here

CONTEXT = "ecotui-testbed"

# the "EKS" clusters moto knows (both endpoints are this testbed's API server; the second one is still CREATING)
EKS_CLUSTER = "eks-learning-lab-dev-cluster"
EKS_REGION = "us-east-1"
EKS_CLUSTER_2 = "eks-learning-lab-staging-cluster"
EKS_REGION_2 = "us-west-2"
AWS_PROFILE = "testbed"
