"""Loopback ports of every testbed component (all bind 127.0.0.1)."""

HOST = "127.0.0.1"
ETCD = 32379
ETCD_PEER = 32380
APISERVER = 36443
CONTROLLER_MANAGER = 30257
SCHEDULER = 30259
KWOK = 30250  # fake kubelet: logs, port-forward, metrics; also kwok's own /metrics
METRICS_SERVER = 34443
PROMETHEUS = 39090
LOKI = 33100
EXPORTER = 39100
HEALTH = 38080  # actuator-like port-forward target of grafana (3000) and tempo (3200): never DOWN
# one actuator look-alike per EcoTrack service (KWOK forwards the service's container port here), so the health
# server knows which service it answers for and an incident can turn exactly that one DOWN
HEALTH_SERVICES = {"user-service": 38081, "product-service": 38082, "order-service": 38083,
                   "payment-service": 38084, "notification-service": 38085}
BENCH_SINK = 38090  # bench/forward_sink.py (started by the benchmark, not by `up`): every pod's port 9000 lands here

CONTEXT = "ecotui-testbed"
