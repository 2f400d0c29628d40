"""Config `incident:` — incident mode's settings, paths relative to the config file, bad input → one line."""
from __future__ import annotations

import pytest

from ecotui.config import load_config
from ecotui.errors import EcotuiError
from ecotui.incident.settings import IncidentSettings, parse_incident


def test_defaults_when_absent(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("theme: dark\n")
    assert load_config(str(p)).incident == IncidentSettings()
    assert IncidentSettings().bell is True and IncidentSettings().policy is None


def test_full_section(tmp_path):
    (tmp_path / "team.yaml").write_text("severities:\n  P1: {update_minutes: 20}\n")
    p = tmp_path / "config.yaml"
    p.write_text("incident:\n  policy: team.yaml\n  bell: false\n  updates_file: out/updates.md\n"
                 "  export_dir: /srv/pm\n  state_dir: ~/inc\n")
    inc = load_config(str(p)).incident
    assert inc.policy == str(tmp_path / "team.yaml") and inc.bell is False
    assert inc.updates_file == str(tmp_path / "out" / "updates.md") and inc.export_dir == "/srv/pm"
    assert inc.state_dir is not None and not inc.state_dir.startswith("~") and inc.state_dir.endswith("/inc")


@pytest.mark.parametrize("section, words", [
    ("incident: [a]\n", "incident must be a mapping"),
    ("incident:\n  bel: true\n", "unknown key 'bel'"),
    ("incident:\n  bell: loud\n", "incident.bell must be true or false"),
    ("incident:\n  policy: ''\n", "incident.policy must be a non-empty path"),
    ("incident:\n  policy: missing.yaml\n", "incident.policy: incident policy"),
    ("incident:\n  policy: bad.yaml\n", "severities.P1.update_minutes must be a whole number"),
])
def test_bad_section_is_one_line(tmp_path, section, words):
    (tmp_path / "bad.yaml").write_text("severities:\n  P1: {update_minutes: soon}\n")
    p = tmp_path / "config.yaml"
    p.write_text(section)
    with pytest.raises(EcotuiError) as exc:
        load_config(str(p))
    assert words in exc.value.message and "\n" not in exc.value.message and str(p) in exc.value.message


def test_parse_incident_alone():
    assert parse_incident(None) == IncidentSettings()
    assert parse_incident({"bell": False}).bell is False
    with pytest.raises(ValueError, match="x.state_dir"):
        parse_incident({"state_dir": 3}, "x")
