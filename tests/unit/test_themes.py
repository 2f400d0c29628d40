"""Built-in and user themes: required keys, colour validation, the 16-colour theme."""
from __future__ import annotations

import pytest

from ecotui.themes import ANSI_NAMES, COLOR_KEYS, load_themes, load_themes_with_problems, valid_color

ANSI16 = {f"ansi_{b}{c}" for c in ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
          for b in ("", "bright_")} | {"ansi_default"}


def test_builtin_themes_load_cleanly():
    themes, problems = load_themes_with_problems()
    assert problems == []
    assert {"dark", "light", "high-contrast", "ansi16"} <= set(themes)
    for spec in themes.values():
        assert set(spec.colors) == set(COLOR_KEYS)
    assert themes["dark"].dark and not themes["light"].dark
    assert load_themes().keys() == themes.keys()


def test_ansi16_uses_only_the_16_ansi_colours():
    spec = load_themes()["ansi16"]
    assert set(spec.colors.values()) <= ANSI16
    assert spec.ansi
    assert not load_themes()["dark"].ansi
    assert ANSI_NAMES == ANSI16


def test_builtin_colours_parse_in_textual():
    from textual.color import Color   # the UI will hand these strings to Textual
    for spec in load_themes().values():
        for key, value in spec.colors.items():
            Color.parse(value)


def test_severity_colours_are_distinct_in_each_theme():
    for spec in load_themes().values():
        sev = [spec.colors[k] for k in ("p0", "p1", "p2", "p3")]
        assert len(set(sev)) == 4, spec.name
        assert len({spec.colors["ok"], spec.colors["warning"], spec.colors["critical"]}) == 3, spec.name


@pytest.mark.parametrize("value,ok", [
    ("#fff", True), ("#FFA500", True), ("#11223344", True), ("rgb(1, 2, 3)", True), ("hsl(100,50%,50%)", True),
    ("ansi_bright_red", True), ("ansi_default", True), ("darkslategray", True), ("red", True),
    ("#ggg", False), ("#12345", False), ("ansi_orange", False), ("not-a-colour", False), ("", False),
    ("default", False),
])
def test_valid_color(value, ok):
    assert valid_color(value) is ok


def test_valid_color_agrees_with_textual():
    from textual.color import Color, ColorParseError
    for value in ("#fff", "#FFA500", "rgb(1,2,3)", "ansi_bright_red", "ansi_default", "rebeccapurple",
                  "#ggg", "ansi_orange", "dark_slate_gray", "default"):
        try:
            Color.parse(value)
            parsed = True
        except ColorParseError:
            parsed = False
        assert valid_color(value) is parsed, value


def full_theme(**overrides):
    base = {k: "#101010" for k in COLOR_KEYS}
    base.update(name="mine", dark=True)
    base.update(overrides)
    return "\n".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {str(v).lower()}" for k, v in base.items())


def test_user_theme_dir_problems_are_reported_per_key(tmp_path):
    (tmp_path / "good.yaml").write_text(full_theme(name="mine"))
    bad = full_theme(name="broken", critical="reddish")
    bad = "\n".join(line for line in bad.splitlines() if not line.startswith("p3:")) + "\nsparkle: '#fff'\n"
    (tmp_path / "broken.yaml").write_text(bad)
    (tmp_path / "yamlerr.yaml").write_text("name: [oops\n")
    themes, problems = load_themes_with_problems(str(tmp_path))
    assert "mine" in themes and "broken" not in themes
    broken = [p for p in problems if "broken.yaml" in p]
    assert len(broken) == 3
    assert any("critical" in p and "'reddish'" in p for p in broken)
    assert any("missing colour key 'p3'" in p for p in broken)
    assert any("unknown key 'sparkle'" in p for p in broken)
    assert [p for p in problems if "yamlerr.yaml" in p] == [f"{tmp_path / 'yamlerr.yaml'}: not valid YAML at line 2"]


def test_user_theme_overrides_builtin_of_same_name(tmp_path):
    (tmp_path / "dark.yaml").write_text(full_theme(name="dark", primary="#123456"))
    themes, problems = load_themes_with_problems(str(tmp_path))
    assert problems == [] and themes["dark"].colors["primary"] == "#123456"


def test_missing_extra_dir_is_a_problem_not_an_error(tmp_path):
    themes, problems = load_themes_with_problems(str(tmp_path / "none"))
    assert "dark" in themes and len(problems) == 1 and "not found" in problems[0]


def test_bad_name_and_dark_flag(tmp_path):
    (tmp_path / "x.yaml").write_text(full_theme(name="bad name!", dark="maybe"))
    themes, problems = load_themes_with_problems(str(tmp_path))
    assert len(problems) == 2 and "name must be" in problems[0] and "dark must be true or false" in problems[1]
