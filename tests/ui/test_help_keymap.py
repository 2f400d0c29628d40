"""Keys come from the keymap: the help screen lists them, user overrides take effect, problems show."""
from __future__ import annotations

from ecotui.actions import ACTIONS
from ecotui.keymap import load_keymap
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.text_view import DescribeScreen, HelpScreen
from ui_fakes import T0, FakeSession, node, pod, workspace


def session() -> FakeSession:
    s = FakeSession()
    s.set_nodes([node("node-a")])
    s.set_pods([pod("web-1"), pod("web-2")])
    return s


def help_line(text: str, action_id: str) -> str:
    return next(line for line in text.splitlines() if f"  {action_id} " in line)


async def test_help_lists_every_action_with_default_keys():
    keymap, problems = load_keymap(None)
    assert problems == []
    app = EcotuiApp(workspace(session()), keymap=keymap, keymap_problems=problems, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for aid, spec in ACTIONS.items():
            assert spec.description in help_line(text, aid)
        assert help_line(text, "help").lstrip().startswith("?, f1")
        assert help_line(text, "filter").lstrip().startswith("/")
        assert "Start-up problems: none" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_user_keymap_override_moves_keys(tmp_path):
    user = tmp_path / "keymap.yaml"
    user.write_text("help: f2\ndescribe: o\nfocus_nodes: ctrl+y\n")
    keymap, problems = load_keymap(str(user))
    assert problems == []
    app = EcotuiApp(workspace(session()), keymap=keymap, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")          # no longer bound
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        assert help_line(text, "help").lstrip().startswith("f2 ")
        assert help_line(text, "describe").lstrip().startswith("o ")
        await pilot.press("escape")
        await pilot.press("d")                      # old describe key does nothing now
        await pilot.pause()
        assert not isinstance(app.screen, DescribeScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, DescribeScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+y")
        assert app.focused is app.cockpit.tables["nodes"]
        assert "f2 help" in str(app.cockpit.query_one("#hints").render())


async def test_keymap_problems_are_notified_and_listed(tmp_path):
    user = tmp_path / "keymap.yaml"
    user.write_text("no_such_action: z\nquit: ctrl+nonsense\nfilter: d\n")
    keymap, problems = load_keymap(str(user))
    assert len(problems) == 3
    app = EcotuiApp(workspace(session()), keymap=keymap, keymap_problems=problems, clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        startup = [n for n in app.notices if "Start-up problems" in n]
        assert startup and "no_such_action" in startup[0]
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.text
        for p in problems:
            assert p in text
        # the bad entries kept their defaults
        assert help_line(text, "quit").lstrip().startswith("q ")
        assert help_line(text, "filter").lstrip().startswith("/ ")


async def test_hints_line_uses_keymap(tmp_path):
    user = tmp_path / "keymap.yaml"
    user.write_text("quit: Q\n")
    keymap, _ = load_keymap(str(user))
    app = EcotuiApp(workspace(session()), keymap=keymap, clock=lambda: T0)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        hints = str(app.cockpit.query_one("#hints").render())
        assert "Q quit" in hints and "q quit" not in hints
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("Q")
        await pilot.pause()
    assert app.return_code == 0


async def test_unknown_start_theme_is_reported():
    app = EcotuiApp(workspace(session()), theme="nope", clock=lambda: T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "dark"
        assert any("unknown theme 'nope'" in n for n in app.notices)
