"""Where a running testbed keeps its state (outside the repo)."""
from __future__ import annotations

import os
from pathlib import Path

from . import versions


def state_dir() -> Path:
    env = os.environ.get("ECOTUI_TESTBED_STATE")
    return Path(env) if env else versions.cache_root() / "run"


def kubeconfig() -> Path:
    return state_dir() / "kubeconfig"


def component_kubeconfig() -> Path:
    """The control-plane components' own kubeconfig (admin identity, not audited)."""
    return pki_dir() / "admin.kubeconfig"


def audit_log() -> Path:
    """Metadata-level audit log of the on-call user's requests (ecotui, kubectl, k9s)."""
    return state_dir() / "audit.log"


def ecotui_config() -> Path:
    return state_dir() / "ecotui-config.yaml"


def pki_dir() -> Path:
    return state_dir() / "pki"


def logs_dir() -> Path:
    """Per-service application log files served by the fake kubelet and pushed to Loki."""
    return state_dir() / "logs"


def proc_dir() -> Path:
    """pid files and component stdout/stderr logs."""
    return state_dir() / "proc"
