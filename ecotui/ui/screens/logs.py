"""The live log screen: a two-line title, the LogView, a prompt line (search / include / exclude / save path)
and the key hints.

    screen = app.screen_class(LogScreen)(source, app.ui, title="deployment ecotrack/user-service")
    app.push_screen(screen)

`source.run(sink)` runs in a worker of this screen (cancelled when the screen closes or the source is swapped);
the sink only appends to the buffer. A 10 Hz timer redraws the view when lines came and refreshes the title
(source name first, always; state and its message, lines/s, kept/dropped, filter, search, follow).

`logs_source` posts `SwitchSourceRequested`; the App answers with `screen.set_source(new_source)`.
`copy` uses `App.copy_to_clipboard`, i.e. OSC 52 (`ESC ] 52 ; c ; <base64> BEL`). Under tmux the terminal only
gets it with `set -g set-clipboard on` (tmux ≥ 3.3 default `external` drops it) and a terminal that supports
OSC 52; the copied text is also kept in `app.clipboard`.
"""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from ecotui.logs.buffer import LogBuffer
from ecotui.logs.filters import NO_FILTER, FilterError, compile_pattern
from ecotui.logs.model import Kind, LogLine, LogSource, SourceState, SourceStatus
from ecotui.textsafe import one_line
from ecotui.ui.context import UiContext
from ecotui.ui.widgets.log_view import LogView
from ecotui.ui.widgets.status import KeyHints

TICK = 0.1            # seconds between redraws (at most 10 per second, never per line)
TITLE_EVERY = 0.5     # seconds between title refreshes when only the rate moved

LOG_IDS: tuple[str, ...] = (
    "logs_pause", "logs_follow", "logs_search", "logs_search_next", "logs_search_prev", "logs_filter_include",
    "logs_filter_exclude", "logs_clear_filters", "logs_errors", "logs_perf", "logs_security", "logs_wrap",
    "logs_timestamps", "logs_json", "logs_save", "logs_source", "logs_scroll_left", "logs_scroll_right", "copy",
)
HINT_IDS: tuple[str, ...] = ("back", "logs_pause", "logs_search", "logs_filter_include", "logs_errors", "logs_wrap",
                             "logs_timestamps", "copy", "logs_save", "help")
HINT_LABELS = {"back": "back", "logs_pause": "pause", "logs_search": "search", "logs_filter_include": "filter",
               "logs_errors": "errors", "logs_wrap": "wrap", "logs_timestamps": "time", "copy": "copy",
               "logs_save": "save", "help": "help"}

STATE_STYLE = {SourceState.LIVE: "ok", SourceState.DONE: "ok", SourceState.BACKFILL: "warning",
               SourceState.CONNECTING: "warning", SourceState.RECONNECTING: "warning", SourceState.ERROR: "critical"}


class SwitchSourceRequested(Message):
    """The user asked for the other log source; the App builds it and calls `screen.set_source(new)`."""

    def __init__(self, screen: LogScreen, current: str) -> None:
        super().__init__()
        self.screen = screen
        self.current = current


class LogPrompt(Vertical):
    """One input line (hidden until asked) and a one-line message under it."""

    DEFAULT_CSS = """
    LogPrompt { height: auto; display: none; }
    LogPrompt.-open { display: block; }
    LogPrompt > Input { height: 1; border: none; padding: 0 1; background: $panel; }
    LogPrompt > Static { height: auto; color: $error; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="logs-prompt")
        self.purpose = ""

    def compose(self) -> ComposeResult:
        yield Input(id="logs-input")
        yield Static("", id="logs-prompt-msg")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def ask(self, purpose: str, placeholder: str, value: str = "") -> None:
        self.purpose = purpose
        self.add_class("-open")
        inp = self.query_one(Input)
        inp.placeholder = placeholder
        inp.value = value
        inp.cursor_position = len(value)
        self.show_error("")
        inp.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.purpose = ""
        self.show_error("")

    def show_error(self, message: str) -> None:
        self.query_one("#logs-prompt-msg", Static).update(Text(one_line(message, 300)))


class LogScreen(Screen[None]):
    KEY_IDS: ClassVar[tuple[str, ...]] = ("back", "quit", "help", "filter", "clear_filter", "cursor_down", "cursor_up",
                                          "cursor_top", "page_down", "page_up", *LOG_IDS)
    KEY_ACTIONS: ClassVar[dict[str, str]] = {"quit": "app.quit", "help": "app.help",
                                             "filter": "logs_filter_include", "clear_filter": "logs_clear_filters"}

    DEFAULT_CSS = """
    LogScreen > #logs-title { height: 2; background: $panel; }
    """

    def __init__(self, source: LogSource, ui: UiContext, *, capacity: int = 100_000, title: str = "",
                 save_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.source = source
        self.ui = ui
        self.view_title = title
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.buffer = LogBuffer(capacity)
        self.view = LogView(self.buffer, styles=ui.styles, id="logs-view")
        self.prompt = LogPrompt()
        self.run_error = ""                      # the source raised (it should not): shown as its state
        self._gen = 0
        self._title_key: tuple[object, ...] | None = None
        self._title_at = 0.0
        self.title_plain = ""

    # ---- layout and life cycle -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="logs-title")
        yield self.view
        yield self.prompt
        yield KeyHints(self.ui.hints(HINT_IDS, HINT_LABELS), id="logs-hints")

    def on_mount(self) -> None:
        self.view.focus()
        self.set_interval(TICK, self._tick)
        self._start(self.source)
        self.show_title(force=True)

    def _start(self, source: LogSource) -> None:
        self._gen += 1
        self.run_error = ""
        self._run_source(source, self._gen)

    @work(group="log-source", exclusive=True, exit_on_error=False)
    async def _run_source(self, source: LogSource, gen: int) -> None:
        def sink(lines: object) -> None:
            if gen == self._gen:
                self.view.append(lines)  # type: ignore[arg-type]
        try:
            await source.run(sink)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a source must not raise; if it does, say so in the title
            if gen == self._gen:
                self.run_error = one_line(f"{type(exc).__name__}: {exc}", 200)

    def _tick(self) -> None:
        self.view.flush()
        self.show_title()

    def set_source(self, source: LogSource, *, keep: bool = True) -> None:
        """Swap the source: the old one is cancelled; the buffer is kept (or cleared) and an INFO marker says so."""
        old = self.source
        self.source = source
        if not keep:
            self.buffer.clear()
        self.view.append([LogLine(time.time_ns(), f"source: {old.name} → {source.name} ({source.description})",
                                  "ecotui", kind=Kind.INFO)])
        if not keep:
            self.view.reset_view()
        self._start(source)
        self.show_title(force=True)

    # ---- title ----------------------------------------------------------------------------------

    def _sem(self, name: str) -> Style:
        return self.ui.styles.get(name) or Style()

    def status(self) -> SourceStatus:
        try:
            st = self.source.status
        except Exception as exc:  # noqa: BLE001
            return SourceStatus(SourceState.ERROR, f"{type(exc).__name__}: {exc}")
        if self.run_error:
            return SourceStatus(SourceState.ERROR, self.run_error, st.streams)
        return st

    def show_title(self, force: bool = False) -> None:
        if not self.is_mounted:
            return
        now = time.monotonic()
        b, v = self.buffer, self.view
        st = self.status()
        try:
            desc = self.source.description
        except Exception:  # noqa: BLE001
            desc = ""
        rate = b.rate()
        key = (self.source.name, desc, st, b.filter, b.search, v.follow, bool(v.new_lines), v.evicted_top, v.cursor,
               v.wrap, v.timestamps, v.json_mode, self.view_title)
        if not force and key == self._title_key and now - self._title_at < TITLE_EVERY:
            return   # counts and rate: at most every TITLE_EVERY
        self._title_key, self._title_at = key, now
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {self.source.name} ", style="reverse bold")
        t.append(" ")
        t.append(st.state.value, style=self._sem(STATE_STYLE.get(st.state, "")) + Style(bold=True))
        if st.message:
            t.append(f": {one_line(st.message, 60)}", style=self._sem(STATE_STYLE.get(st.state, "")))
        t.append(f" │ {rate:,.0f} l/s │ {len(b):,} kept")
        if b.view_len != len(b):
            t.append(f" ({b.view_len:,} shown)")
        if b.dropped:
            t.append(f" · {b.dropped:,} dropped", style=self._sem("warning"))
        if v.follow:
            t.append(" │ following", style=self._sem("ok"))
        else:
            t.append(" │ PAUSED", style="reverse")
            if v.new_lines:
                t.append(f" {v.new_lines:,} new lines", style=self._sem("warning") + Style(bold=True))
            if v.evicted_top:
                t.append(" · lines shown were evicted: at the oldest kept", style=self._sem("warning"))
        t.append("\n")
        if self.view_title:
            t.append(one_line(self.view_title, 60) + " · ", style="bold")
        t.append(one_line(desc, 80), style="bold" if not self.view_title else "")
        if b.filter.active:
            t.append(" │ filter: ")
            t.append(one_line(b.filter.describe(30), 60), style=self._sem("warning"))
        if b.search is not None:
            g = v.cursor_g
            rank = b.hit_rank(g) if g is not None else 0
            t.append(f" │ search /{one_line(b.search.pattern, 30)}/ ")
            t.append(f"{rank}/{b.hit_count}" if rank else f"{b.hit_count} hits")
        opts = [name for name, on_ in (("wrap", v.wrap), ("time", v.timestamps)) if on_]
        if v.json_mode != "raw":
            opts.append(f"json:{v.json_mode}")
        if opts:
            t.append(" │ " + " ".join(opts), style=self._sem("muted"))
        self.title_plain = t.plain
        self.query_one("#logs-title", Static).update(t)

    # ---- prompt -----------------------------------------------------------------------------------

    def _ask(self, purpose: str, placeholder: str, value: str = "") -> None:
        self.prompt.ask(purpose, placeholder, value)

    def _close_prompt(self) -> None:
        self.prompt.close()
        self.view.focus()

    @on(Input.Submitted, "#logs-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        purpose, value = self.prompt.purpose, event.value
        try:
            if purpose == "search":
                self.apply_search(value)
            elif purpose == "include":
                self.apply_filter(include=value)
            elif purpose == "exclude":
                self.apply_filter(exclude=value)
            elif purpose == "save":
                self.save(value)
        except (FilterError, OSError) as exc:
            self.prompt.show_error(str(exc) if isinstance(exc, FilterError) else f"cannot save: {exc}")
            return
        self._close_prompt()

    # ---- operations (also the tests' entry points) -------------------------------------------------------

    def apply_filter(self, *, include: str | None = None, exclude: str | None = None,
                     preset: str | None = None) -> None:
        """Raises FilterError (the previous filter stays) for an invalid regex."""
        f = self.buffer.filter
        if include is not None:
            f = f.with_include(include)
        if exclude is not None:
            f = f.with_exclude(exclude)
        if preset is not None:
            f = f.with_preset(preset)
        self.buffer.set_filter(f)
        self.view.reset_view()
        self.show_title(force=True)

    def apply_search(self, pattern: str) -> None:
        self.buffer.set_search(compile_pattern(pattern, what="search regex") if pattern else None)
        self.view.reset_view()
        if pattern:
            self.action_logs_search_next()
        self.show_title(force=True)

    def default_save_path(self) -> Path:
        name = time.strftime("ecotui-logs-%Y%m%d-%H%M%S.log")
        return (self.save_dir or Path.cwd()) / name

    def save(self, path: str) -> int:
        """Write the lines of the view (filtered, raw text, whole; markers left out) to `path`; never overwrites."""
        p = Path(os.path.expanduser(path.strip() or str(self.default_save_path())))
        if not p.is_absolute() and self.save_dir is not None:
            p = self.save_dir / p
        lines = [line.text for line in self.buffer.iter_view() if line.kind is Kind.LINE]
        data = "".join(t + "\n" for t in lines)
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = data.encode("utf-8", "replace")
        with open(p, "xb") as fh:        # "x": an existing file is never overwritten
            fh.write(raw)
        self.notify(f"saved {len(lines):,} lines to {p}", timeout=4, markup=False)
        return len(lines)

    # ---- keys ------------------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.prompt.is_open:
            self._close_prompt()
        elif self.buffer.search is not None:
            self.apply_search("")
        else:
            self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.view.move_cursor(1)

    def action_cursor_up(self) -> None:
        self.view.move_cursor(-1)

    def action_cursor_top(self) -> None:
        self.view.cursor_top()

    def action_page_down(self) -> None:
        self.view.page(1)

    def action_page_up(self) -> None:
        self.view.page(-1)

    def action_logs_scroll_left(self) -> None:
        self.view.scroll_horizontal(-1)

    def action_logs_scroll_right(self) -> None:
        self.view.scroll_horizontal(1)

    def action_logs_pause(self) -> None:
        self.view.set_follow(not self.view.follow)
        self.show_title(force=True)

    def action_logs_follow(self) -> None:
        self.view.set_follow(True)
        self.show_title(force=True)

    def action_logs_search(self) -> None:
        cur = self.buffer.search
        self._ask("search", "search: regex (smart case), enter to find", cur.pattern if cur is not None else "")

    def _jump(self, forward: bool) -> None:
        b = self.buffer
        if b.search is None:
            self.action_logs_search()
            return
        g = self.view.cursor_g
        if g is None:
            return
        if self.view.follow and forward:
            hit = b.prev_hit(g + 1)             # from the end: the newest hit first
        else:
            hit = b.next_hit(g) if forward else b.prev_hit(g)
        if hit is None:
            self.notify("no match", timeout=2, markup=False)
            return
        self.view.goto(hit)
        self.show_title(force=True)

    def action_logs_search_next(self) -> None:
        self._jump(True)

    def action_logs_search_prev(self) -> None:
        self._jump(False)

    def action_logs_filter_include(self) -> None:
        inc = self.buffer.filter.include
        self._ask("include", "show only lines matching: regex (smart case); empty: all",
                  inc.pattern if inc is not None else "")

    def action_logs_filter_exclude(self) -> None:
        exc = self.buffer.filter.exclude
        self._ask("exclude", "hide lines matching: regex (smart case); empty: none",
                  exc.pattern if exc is not None else "")

    def action_logs_clear_filters(self) -> None:
        self.buffer.set_search(None)
        self.buffer.set_filter(NO_FILTER)
        self.view.reset_view()
        self.show_title(force=True)

    def action_logs_errors(self) -> None:
        self.apply_filter(preset="errors")

    def action_logs_perf(self) -> None:
        self.apply_filter(preset="perf")

    def action_logs_security(self) -> None:
        self.apply_filter(preset="security")

    def action_logs_wrap(self) -> None:
        self.view.toggle_wrap()
        self.show_title(force=True)

    def action_logs_timestamps(self) -> None:
        self.view.toggle_timestamps()
        self.show_title(force=True)

    def action_logs_json(self) -> None:
        self.view.cycle_json()
        self.show_title(force=True)

    def action_logs_save(self) -> None:
        self._ask("save", "save the lines shown to: path (enter to save)", str(self.default_save_path()))

    def action_logs_source(self) -> None:
        self.post_message(SwitchSourceRequested(self, self.source.name))

    def action_copy(self) -> None:
        line = self.view.cursor_line()
        if line is None:
            self.notify("nothing to copy", timeout=2, markup=False)
            return
        self.app.copy_to_clipboard(line.text)
        self.notify(f"copied the line ({len(line.text):,} chars) — OSC 52", timeout=2, markup=False)
