"""Config file loading, config_path resolution and data file lookup."""
from __future__ import annotations

from pathlib import Path

import pytest

import ecotui.resources as resources
from ecotui.config import ContextConfig, config_path, load_config
from ecotui.errors import EcotuiError

EXAMPLE = """\
theme: ansi16
keymap: keys.yaml
readonly: true
contexts:
  ecotui-testbed:
    namespace: ecotrack
    readonly: false
    prometheus_url: http://127.0.0.1:29090/
    loki_url: http://127.0.0.1:23100
  prod-eu:
"""


def write(tmp_path, text, name="config.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_full_example(tmp_path):
    p = write(tmp_path, EXAMPLE)
    cfg = load_config(str(p))
    assert cfg.theme == "ansi16" and cfg.readonly is True and cfg.path == str(p)
    assert cfg.keymap == str(tmp_path / "keys.yaml")          # relative to the config file
    tb = cfg.for_context("ecotui-testbed")
    assert tb == ContextConfig(namespace="ecotrack", readonly=False,
                               prometheus_url="http://127.0.0.1:29090", loki_url="http://127.0.0.1:23100")
    assert cfg.for_context("prod-eu") == ContextConfig()
    assert cfg.for_context("unknown") == ContextConfig()
    assert cfg.readonly_for("ecotui-testbed") is False      # context overrides the global flag
    assert cfg.readonly_for("prod-eu") is True


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOTUI_CONFIG", str(tmp_path / "absent.yaml"))
    cfg = load_config()
    assert cfg.theme is None and cfg.keymap is None and cfg.readonly is False and cfg.path is None
    assert dict(cfg.contexts) == {}


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(EcotuiError) as exc:
        load_config(str(tmp_path / "absent.yaml"))
    assert "file not found" in exc.value.message and str(tmp_path / "absent.yaml") in exc.value.message


def test_empty_file_is_defaults(tmp_path):
    cfg = load_config(str(write(tmp_path, "")))
    assert cfg.theme is None and cfg.readonly is False


@pytest.mark.parametrize("text,fragment", [
    ("theme: [dark\n", "not valid YAML at line 2"),
    ("- a\n- b\n", "must be a YAML mapping"),
    ("them: dark\n", "unknown key 'them'"),
    ("readonly: yes please\n", "readonly must be true or false"),
    ("theme: 3\n", "theme must be a non-empty string"),
    ("contexts: [a]\n", "contexts must be a mapping"),
    ("contexts:\n  c1:\n    namespac: x\n", "unknown key 'namespac' in contexts.c1"),
    ("contexts:\n  c1:\n    prometheus_url: 127.0.0.1:9090\n", "contexts.c1.prometheus_url must start with http"),
    ("contexts:\n  c1:\n    readonly: 1\n", "contexts.c1.readonly must be true or false"),
])
def test_bad_config_is_one_clear_line(tmp_path, text, fragment):
    p = write(tmp_path, text)
    with pytest.raises(EcotuiError) as exc:
        load_config(str(p))
    assert fragment in exc.value.message
    assert "\n" not in exc.value.message and str(p) in exc.value.message


def test_config_path_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("ECOTUI_CONFIG", str(tmp_path / "explicit.yaml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "explicit.yaml"
    monkeypatch.delenv("ECOTUI_CONFIG")
    assert config_path() == tmp_path / "xdg" / "ecotui" / "config.yaml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / ".config" / "ecotui" / "config.yaml"


def test_default_config_location_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("ECOTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "ecotui").mkdir()
    write(tmp_path / "ecotui", "theme: light\n")
    assert load_config().theme == "light"


def test_data_path_in_checkout_finds_repo_root_files():
    keymaps = resources.data_path("keymaps.yaml")
    assert keymaps == resources.REPO_ROOT / "keymaps.yaml" and keymaps.is_file()
    assert (resources.data_path("themes") / "ansi16.yaml").is_file()


def test_data_path_outside_checkout_uses_packaged_copy(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "themes").mkdir(parents=True)                 # an unrelated dir next to the package
    monkeypatch.setattr(resources, "REPO_ROOT", site)
    monkeypatch.setattr(resources, "PACKAGED_DATA", site / "ecotui" / "_data")
    assert resources.data_path("themes") == site / "ecotui" / "_data" / "themes"
    assert resources.data_path("keymaps.yaml") == Path(site / "ecotui" / "_data" / "keymaps.yaml")


def test_presentation_modules_do_not_import_textual_or_rich():
    import subprocess
    import sys
    code = ("import sys, ecotui.kube.render, ecotui.kube.describe, ecotui.kube.selector, ecotui.actions, "
            "ecotui.keymap, ecotui.themes, ecotui.config, ecotui.resources, ecotui.textsafe; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=resources.REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_actions_and_logs_settings(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("critical_contexts: 'eks-(prod|dr)'\njournal: state/j.jsonl\nlog_buffer_lines: 50000\n"
                 "contexts:\n  eks-prod:\n    critical: false\n    loki_tenant: ecotrack\n"
                 "    loki_token_file: ~/tok\n    loki_user: me\n    loki_password_file: pw\n")
    c = load_config(str(p))
    assert c.critical_contexts == "eks-(prod|dr)" and c.journal == str(tmp_path / "state/j.jsonl")
    assert c.log_buffer_lines == 50000
    cc = c.for_context("eks-prod")
    assert (cc.critical, cc.loki_tenant, cc.loki_user) == (False, "ecotrack", "me")
    assert cc.loki_token_file == str(Path("~/tok").expanduser()) and cc.loki_password_file == str(tmp_path / "pw")


@pytest.mark.parametrize("text, fragment", [
    ("critical_contexts: '(prod'\n", "critical_contexts is not a valid regular expression"),
    ("log_buffer_lines: 10\n", "log_buffer_lines must be a whole number"),
])
def test_bad_actions_and_logs_settings(tmp_path, text, fragment):
    p = tmp_path / "config.yaml"
    p.write_text(text)
    with pytest.raises(EcotuiError) as e:
        load_config(str(p))
    assert fragment in e.value.message
