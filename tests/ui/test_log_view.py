"""The log screen with a fake LogSource: follow/pause, search, filters, presets, toggles, save, copy, title,
hostile lines rendered inert, 80×24."""
from __future__ import annotations

import asyncio
import importlib
import re
import time
from collections.abc import Sequence

import pytest
from textual import events
from textual.app import App

from ecotui.keymap import load_keymap
from ecotui.logs.model import NS, Kind, LogLine, SourceState, SourceStatus
from ecotui.ui.bindings import hint_line, make_bindings, with_bindings
from ecotui.ui.context import UiContext
from ecotui.ui.screens.logs import LogScreen, SwitchSourceRequested
from ecotui.ui.widgets.log_view import LogView

KEYMAP, _ = load_keymap(None)
T = 1_767_600_000 * NS


class FakeSource:
    def __init__(self, name: str = "kubernetes", description: str = "deployment ecotrack/user-service (2 pods)"):
        self.name = name
        self._status = SourceStatus(SourceState.CONNECTING)
        self._description = description
        self.sink = None
        self.cancelled = False
        self.started = asyncio.Event()

    @property
    def status(self) -> SourceStatus:
        return self._status

    @property
    def description(self) -> str:
        return self._description

    def set_status(self, state: SourceState, message: str = "") -> None:
        self._status = SourceStatus(state, message, 1)

    async def run(self, sink) -> None:
        self.sink = sink
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    def emit(self, texts: Sequence[str], pod: str = "user-service-1", kind: Kind = Kind.LINE, t0: int = 0) -> None:
        assert self.sink is not None
        self.sink([LogLine(T + (t0 + i) * NS, t, f"ecotrack/{pod}/app", pod=pod, kind=kind)
                   for i, t in enumerate(texts)])


class LogApp(App[None]):
    def __init__(self, source: FakeSource, tmp_path, capacity: int = 100_000) -> None:
        super().__init__()
        self.source = source
        self.tmp_path = tmp_path
        self.capacity = capacity
        self.switches: list[str] = []
        ui = UiContext(hints=lambda ids, labels: hint_line(KEYMAP, ids, labels), clock=time.time)
        cls = with_bindings(LogScreen, make_bindings(KEYMAP, LogScreen.KEY_IDS, actions=LogScreen.KEY_ACTIONS))
        self.log_screen: LogScreen = cls(source, ui, capacity=capacity, title="user-service", save_dir=tmp_path)

    def on_mount(self) -> None:
        self.push_screen(self.log_screen)

    def on_switch_source_requested(self, msg: SwitchSourceRequested) -> None:
        self.switches.append(msg.current)


async def started(pilot, src: FakeSource) -> LogScreen:
    await asyncio.wait_for(src.started.wait(), 2)
    await pilot.pause()
    return pilot.app.log_screen


async def settle(pilot) -> None:
    await pilot.pause(0.12)
    await pilot.pause()


def rows(screen: LogScreen) -> list[str]:
    return [r.rstrip() for r in screen.view.visible_text()]


async def test_follow_pause_new_lines_and_resume(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit([f"line {i}" for i in range(100)])
        await settle(pilot)
        v = s.view
        assert v.follow and rows(s)[-1] == "line 99"
        h = v.size.height
        assert len(rows(s)) == h and rows(s)[0] == f"line {100 - h}"
        await pilot.press("k")                           # moving up pauses
        await settle(pilot)
        assert not v.follow and v.cursor_line().text == "line 98"
        before = rows(s)
        src.emit([f"more {i}" for i in range(5)])
        await settle(pilot)
        assert rows(s) == before                         # nothing moved
        assert v.new_lines == 5 and "PAUSED 5 new lines" in s.title_plain
        await pilot.press("end")
        await settle(pilot)
        assert v.follow and v.new_lines == 0 and rows(s)[-1] == "more 4"
        await pilot.press("space")                       # pause key
        await settle(pilot)
        assert not v.follow
        await pilot.press("space")
        assert v.follow


async def test_search_highlight_next_prev(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit([("needle here" if i in (10, 50, 90) else f"hay {i}") for i in range(100)])
        await settle(pilot)
        await pilot.press("s")
        await pilot.press(*"needle")
        await pilot.press("enter")
        await settle(pilot)
        v = s.view
        assert not v.follow and v.cursor_line().text == "needle here"
        assert s.buffer.view_pos(v.cursor) == 90                  # newest hit first
        assert "search /needle/ 3/3" in s.title_plain
        # the hit is highlighted: its segment has the search style
        y = rows(s).index("needle here")
        segs = list(v.render_line(y))
        assert any(seg.text == "needle" and seg.style and seg.style.bgcolor for seg in segs)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert s.buffer.view_pos(v.cursor) == 50 and "2/3" in s.title_plain
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert s.buffer.view_pos(v.cursor) == 90                  # wrapped around
        await pilot.press("right_square_bracket")
        assert s.buffer.view_pos(v.cursor) == 10
        await pilot.press("escape")                               # clears the search, stays
        await settle(pilot)
        assert s.buffer.search is None and app.screen is s


async def test_filters_apply_to_old_and_new_lines_and_bad_regex_keeps_previous(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit(["INFO ok 1", "ERROR db down", "INFO ok 2", "WARN slow db", "ERROR cache"])
        await settle(pilot)
        await pilot.press("i", *"db", "enter")
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["ERROR db down", "WARN slow db"]
        await pilot.press("minus", *"slow", "enter")
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["ERROR db down"]
        src.emit(["INFO db up", "INFO other", "ERROR db slow"])
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["ERROR db down", "INFO db up"]
        assert "filter: +/db/ -/slow/" in s.title_plain
        await pilot.press("i", "ctrl+u")               # ctrl+u in the input clears it … then a bad regex
        await pilot.press(*"db(", "enter")
        await pilot.pause()
        assert s.prompt.is_open
        msg = str(s.query_one("#logs-prompt-msg").render())
        assert "invalid include regex 'db('" in msg
        assert s.buffer.filter.include.pattern == "db"           # previous kept
        await pilot.press("escape")
        assert not s.prompt.is_open
        await pilot.press("u")                                    # clear filters
        await settle(pilot)
        assert s.buffer.view_len == 8


async def test_presets_errors_perf_security_toggle(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit(["INFO fine", "ERROR boom", "request slow", "read timeout", "403 forbidden", "an error"])
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["ERROR boom", "an error"] and "filter: errors" in s.title_plain
        await pilot.press("P")
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["request slow", "read timeout"]
        await pilot.press("A")
        await settle(pilot)
        assert [r for r in rows(s) if r] == ["403 forbidden"]
        await pilot.press("A")                          # again: off
        await settle(pilot)
        assert s.buffer.view_len == 6


async def test_wrap_timestamps_json_and_pods(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        long = "x" * 200
        src.emit(["first", long, '{"level":"error","msg":"boom","n":1}'])
        await settle(pilot)
        w = s.view.size.width
        assert sum(1 for r in rows(s) if r) == 3
        assert rows(s)[1] == "x" * (w - 1) or rows(s)[1].startswith("x" * (w - 2))   # cut at the edge
        await pilot.press("w")
        await settle(pilot)
        r = [x for x in rows(s) if x]
        assert r[0] == "first" and len(r) == 2 + -(-200 // w) and r[-1].startswith('{"level"')
        await pilot.press("w", "t")
        await settle(pilot)
        assert re.match(r"\d\d:\d\d:\d\d\.000 first", rows(s)[0])
        await pilot.press("t", "v")                    # json: key=value
        await settle(pilot)
        assert rows(s)[2] == "level=error msg=boom n=1"
        await pilot.press("v")                         # json: pretty
        await settle(pilot)
        assert [x for x in rows(s) if x][2:] == ["{", '  "level": "error",', '  "msg": "boom",', '  "n": 1', "}"]
        await pilot.press("v")
        src.emit(["from another pod"], pod="user-service-2")
        await settle(pilot)
        last = [x for x in rows(s) if x][-1]
        assert last.startswith("user-service-2") and last.endswith("from another pod")


async def test_level_colours_use_semantic_styles(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit(["2026-01-05T10:00:00.000Z ERROR 1 --- [main] c.e.X : boom", "level=warn msg=x", "plain"])
        await settle(pilot)
        styles = [next(seg.style for seg in s.view.render_line(y) if seg.text.strip()) for y in range(3)]
        assert styles[0].color.name == "red" and styles[1].color.name == "yellow"
        assert styles[2] is None or styles[2].color is None


async def test_save_writes_filtered_raw_whole_lines(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        hostile = "ERROR \x1b]52;c;aGk=\x07 " + "y" * 5000
        src.emit(["INFO a", hostile, "ERROR b\ttab"])
        src.emit(["lost 3 lines"], kind=Kind.GAP)
        await settle(pilot)
        await pilot.press("E", "W")
        await pilot.pause()
        assert s.prompt.is_open and "ecotui-logs-" in s.query_one("#logs-input").value
        s.query_one("#logs-input").value = "out.log"
        await pilot.press("enter")
        await pilot.pause()
        assert not s.prompt.is_open
        assert (tmp_path / "out.log").read_bytes().decode() == hostile + "\nERROR b\ttab\n"
        # never overwrites
        await pilot.press("W")
        s.query_one("#logs-input").value = "out.log"
        await pilot.press("enter")
        await pilot.pause()
        assert s.prompt.is_open and "cannot save" in str(s.query_one("#logs-prompt-msg").render())


async def test_copy_puts_the_raw_cursor_line_on_the_clipboard(tmp_path, monkeypatch):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        hostile = "\x1b[31mred\x1b[0m [b]markup[/b] " + "z" * 3000
        src.emit([hostile, "last"])
        await settle(pilot)
        calls: list[str] = []
        orig = app.copy_to_clipboard
        monkeypatch.setattr(app, "copy_to_clipboard", lambda text: (calls.append(text), orig(text)))
        await pilot.press("y")                          # following: the newest line
        assert calls == ["last"]
        await pilot.press("k", "y")
        assert calls[-1] == hostile and app.clipboard == hostile


async def test_title_shows_source_state_rate_counts(tmp_path):
    src = FakeSource(name="loki", description='{namespace="ecotrack",app="user-service"}')
    app = LogApp(src, tmp_path, capacity=50)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.set_status(SourceState.RECONNECTING, "reconnecting in 2 s: connection refused")
        src.emit([f"l{i}" for i in range(80)])
        await settle(pilot)
        s.show_title(force=True)
        first, second = s.title_plain.split("\n")
        assert first.startswith(" loki  reconnecting: reconnecting in 2 s")
        assert "50 kept · 30 dropped" in first and "l/s" in first
        assert second.startswith('user-service · {namespace="ecotrack",app="user-service"}')
        src.set_status(SourceState.LIVE)
        await settle(pilot)
        s.show_title(force=True)      # (the title is redrawn at most a few times a second: don't race it)
        assert s.title_plain.startswith(" loki  live │")


async def test_hostile_lines_render_inert(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    lines = [
        "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\x1b]52;c;ZXZpbA==\x07", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
        "\x9b2J", "\x1bP0;1|17/ab\x1b\\", "\x1b_apc\x1b\\", "a\rb\x08c\x00", "\u202eevil\u2066", "z\u200bw\ufeff",
        "bad \ufffd", "[red]markup[/red] [link=http://x]l[/link]", "\x1b", "\x1b[", "\x1b]", "lone\udcff",
    ]
    try:
        mod = importlib.import_module("testbed.hostile")
        extra = next((getattr(mod, n) for n in ("HOSTILE_LINES", "LINES", "HOSTILE") if getattr(mod, n, None)), [])
        lines += [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in extra]
    except ImportError:
        pass
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        bad = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff\ud800-\udfff]")
        for i in range(0, len(lines), 20):
            chunk = lines[i:i + 20]
            s.buffer.clear()
            src.emit(chunk)
            await settle(pilot)
            for mode in ("plain", "wrap", "json"):
                if mode == "wrap":
                    s.view.toggle_wrap()
                if mode == "json":
                    s.view.toggle_wrap()
                    s.view.cycle_json()
                    s.view.cycle_json()
                for y in range(s.view.size.height):
                    for seg in s.view.render_line(y):
                        assert not bad.search(seg.text), (mode, repr(seg.text))
                        assert seg.control is None
                        assert seg.style is None or seg.style.link is None
                s.view.json_mode = "raw"
            s.view.reset_view()
        assert "[red]markup[/red]" in "\n".join(rows(s)) or len(lines) > 20
        # the screen's own output: nothing hostile written past the title either
        assert not bad.search(s.title_plain.replace("\n", ""))


async def test_layout_80x24_and_gap_marker(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit(["before"])
        src.emit(["stream restarted, 12 lines lost"], kind=Kind.GAP)
        src.emit(["after"])
        await settle(pilot)
        assert s.query_one("#logs-title").region.height == 2
        assert s.view.region.height == 21 and s.view.region.width == 80
        assert s.query_one("#logs-hints").region.y == 23
        assert rows(s)[1].startswith("── GAP: stream restarted, 12 lines lost ──")
        assert "esc back" in str(s.query_one("#logs-hints").render())


async def test_set_source_and_switch_request(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit(["old line"])
        await settle(pilot)
        await pilot.press("S")
        await pilot.pause()
        assert app.switches == ["kubernetes"]
        new = FakeSource(name="loki", description='{app="user-service"}')
        s.set_source(new)
        await asyncio.wait_for(new.started.wait(), 2)
        await settle(pilot)
        assert src.cancelled
        marker = '── INFO: source: kubernetes → loki ({app="user-service"}) ──'
        assert [r for r in rows(s) if r][:2] == ["old line", marker]
        src.sink([LogLine(0, "late from the old source", "x")])  # ignored
        new.emit(["new line"])
        await settle(pilot)
        assert [r for r in rows(s) if r][-1] == "new line" and s.title_plain.startswith(" loki ")
        s.set_source(FakeSource(name="kubernetes"), keep=False)
        await settle(pilot)
        assert s.buffer.view_len == 1


async def test_back_closes_the_screen_and_cancels_the_source(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not s
        await pilot.pause(0.05)
        assert src.cancelled


async def test_large_buffer_renders_only_visible_lines(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=20_000)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        for k in range(5):
            src.emit([f"{k}-{i} " + "w" * (i % 300) for i in range(10_000)])
        await settle(pilot)
        assert len(s.buffer) == 20_000 and s.buffer.dropped == 30_000
        assert len(s.view._cache) < 200
        await pilot.press("w")
        await settle(pilot)
        assert len(s.view._cache) < 400
        assert [r for r in rows(s) if r][-1].startswith("w")   # the end of the last wrapped line


async def test_wheel_up_pauses_and_the_view_stays_put_while_old_lines_are_evicted(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=200)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        src.emit([f"a{i}" for i in range(150)])
        await settle(pilot)
        s.view.post_message(events.MouseScrollUp(s.view, 1, 1, 0, -1, 0, False, False, False))
        await settle(pilot)
        assert not s.view.follow
        top = rows(s)[0]
        src.emit([f"b{i}" for i in range(100)])           # evicts a0..a49
        await settle(pilot)
        assert rows(s)[0] == top and s.view.new_lines == 100
        assert s.buffer.first == 50
