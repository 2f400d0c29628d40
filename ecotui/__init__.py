"""ecotui — a terminal cockpit for on-call Kubernetes (EKS) engineers."""

__version__ = "0.1.0"
