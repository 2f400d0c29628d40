"""The configuration example in README.md is a valid config (the file a user copies must load)."""
from __future__ import annotations

import re
from pathlib import Path

from ecotui.config import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_config_example_loads(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    section = text.split("### Configuration", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "README's Configuration section has no yaml block"
    monkeypatch.setenv("HOME", str(tmp_path))           # ~/… paths in the example resolve under tmp
    for rel in (".config/ecotui/prom-token", ".config/ecotui/keymap.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n" if rel.endswith("token") else "{}\n")
    (tmp_path / ".config/ecotui/incident-policy.yaml").write_text("severities:\n  P1: {update_minutes: 20}\n")
    path = tmp_path / "config.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    cfg = load_config(str(path))
    ctx = cfg.for_context("prod-eks")
    assert ctx.namespace == "ecotrack" and ctx.readonly is True and ctx.eks_cluster == "ecotrack-prod"
    assert cfg.aws.profiles == ("oncall",) and cfg.incident.bell is True
