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
HEALTH = 38080  # port-forward target answering /actuator/health

CONTEXT = "ecotui-testbed"
