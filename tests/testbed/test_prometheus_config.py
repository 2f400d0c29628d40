"""The testbed Prometheus config: the kubelet resource-metrics job (file SD, every target on loopback at KWOK's
port with the node's path and a `node` label), valid for the real Prometheus (promtool, when installed), and a
config change changes Prometheus's fingerprint (so `up` restarts it)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from testbed import components, ports, scenario


def test_kubelet_resource_job_targets_loopback_kwok_per_node(tmp_path: Path):
    cfg = yaml.safe_load(components.prometheus_yaml(tmp_path, tmp_path / "pki"))
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "kubelet-resource")
    assert job["file_sd_configs"][0]["files"] == [str(components.kubelet_targets(tmp_path))]
    targets = json.loads(components._kubelet_targets_json())
    assert {t["labels"]["node"] for t in targets} == set(scenario.node_names())
    for t in targets:
        assert t["targets"] == [f"127.0.0.1:{ports.KWOK}"]
        assert t["labels"]["__metrics_path__"] == f"/metrics/nodes/{t['labels']['node']}/metrics/resource"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_config_is_valid_for_promtool(tmp_path: Path):
    components.kubelet_targets(tmp_path).write_text(components._kubelet_targets_json())
    f = tmp_path / "prometheus.yml"
    f.write_text(components.prometheus_yaml(tmp_path, tmp_path / "pki"))
    p = subprocess.run(["promtool", "check", "config", "--syntax-only", str(f)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def test_prometheus_fingerprint_follows_its_config(tmp_path: Path, monkeypatch):
    specs = {c.name: c for c in components.components(tmp_path, write=False)}
    before = specs["prometheus"].fingerprint
    assert before
    monkeypatch.setattr(components, "_kubelet_resource_job", lambda st: {"job_name": "other"})
    after = {c.name: c for c in components.components(tmp_path, write=False)}["prometheus"].fingerprint
    assert after != before
