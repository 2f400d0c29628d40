"""Pure helpers of the UI: incremental rows, the `:` command parser, theme conversion, help text."""
from __future__ import annotations

import pytest

from ecotui.keymap import load_keymap
from ecotui.kube.render import pod_cells
from ecotui.themes import load_themes
from ecotui.ui.commands import Command, parse_command
from ecotui.ui.help_text import help_text
from ecotui.ui.rows import PaneRows
from ecotui.ui.theming import semantic_styles, to_textual_theme
from ui_fakes import T0, keyed, pod


def test_rows_reuse_cells_of_unchanged_structs():
    calls = []

    def cells(p, now):
        calls.append(p.metadata.name)
        return pod_cells(p, now)

    model = PaneRows(cells)
    items = keyed([pod("a"), pod("b")], True)
    first = model.rows(items, T0)
    assert list(first) == ["ecotrack/a", "ecotrack/b"] and calls == ["a", "b"]
    items = dict(items)
    items["ecotrack/b"] = pod("b", waiting="CrashLoopBackOff")
    second = model.rows(items, T0)
    assert calls == ["a", "b", "b"]                     # only the replaced struct was rendered again
    assert second["ecotrack/a"] is first["ecotrack/a"]
    assert second["ecotrack/b"][3].text == "CrashLoopBackOff"
    del items["ecotrack/a"]
    assert list(model.rows(items, T0)) == ["ecotrack/b"]
    assert model.cells_of("ecotrack/a") is None


def test_rows_filter_text_selector_and_where():
    model = PaneRows(pod_cells)
    items = keyed([pod("web-1", labels={"app": "web"}), pod("db-1", labels={"app": "db"}, node="node-b")], True)
    model.set_filter("WEB")
    assert list(model.rows(items, T0)) == ["ecotrack/web-1"]
    model.set_filter("app!=web")
    assert list(model.rows(items, T0)) == ["ecotrack/db-1"]
    with pytest.raises(ValueError):
        model.set_filter("app in (x")
    model.clear_filter()
    assert list(model.rows(items, T0, where=lambda p: p.spec.nodeName == "node-b")) == ["ecotrack/db-1"]


def test_rows_fresh_rerenders_age():
    model = PaneRows(pod_cells)
    items = keyed([pod("a")], True)
    age0 = model.rows(items, T0)["ecotrack/a"][5].text
    assert model.rows(items, T0 + 7200)["ecotrack/a"][5].text == age0     # not asked: unchanged
    later = model.rows(items, T0 + 7200, fresh=["ecotrack/a"])["ecotrack/a"][5].text
    assert later != age0


@pytest.mark.parametrize(("line", "expected"), [
    ("ns ecotrack", Command("ns", "ecotrack")),
    (":ns all", Command("ns", "all")),
    ("ctx prod-eu", Command("ctx", "prod-eu")),
    ("theme light", Command("theme", "light")),
    ("theme", Command("theme", "")),
    ("q", Command("quit")),
    ("pods", Command("focus", "pods")),
    ("help", Command("help")),
    ("ns", Command("view", "namespaces")),            # k9s: `:ns` alone is the Namespaces view
    ("deploy", Command("view", "deployments")),
    (":sts", Command("view", "statefulsets")),
    ("Secrets", Command("view", "secrets")),
    ("hpa", Command("view", "horizontalpodautoscalers")),
])
def test_parse_command(line, expected):
    assert parse_command(line) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("", "empty command"), ("bogus x", "unknown command 'bogus'"), ("ctx", "needs a name"),
    ("deploy web", "takes no argument"),
    ("ctx a b", "takes one name"), ("q now", "takes no argument"),
])
def test_parse_command_errors(line, message):
    with pytest.raises(ValueError, match=message):
        parse_command(line)


def test_every_shipped_theme_converts():
    themes = load_themes()
    assert {"dark", "light", "high-contrast", "ansi16"} <= set(themes)
    for spec in themes.values():
        theme = to_textual_theme(spec)
        assert theme.name == spec.name and theme.dark == spec.dark
        assert theme.variables["ecotui-critical"] == spec.colors["critical"]
        styles = semantic_styles(spec)
        assert set(styles) >= {"ok", "warning", "critical", "muted", "p0", "p3"}
    assert to_textual_theme(themes["ansi16"]).ansi is True
    assert to_textual_theme(themes["dark"]).ansi is False
    assert semantic_styles(themes["ansi16"])["critical"].color.number == 1   # ANSI red, not RGB


def test_help_text_shows_problems():
    keymap, _ = load_keymap(None)
    text = help_text(keymap, ["keymap.yaml: foo: unknown action id (ignored)"], ["dark", "light"], "dark")
    assert "foo: unknown action id" in text
    assert "Themes: dark, light (current: dark)" in text
