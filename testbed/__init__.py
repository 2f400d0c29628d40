"""ecotui's local testbed: a real Kubernetes control plane with KWOK nodes, Prometheus and a Loki-API server."""
