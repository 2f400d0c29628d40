"""The log view: a Line-API widget (ScrollView + render_line) over a LogBuffer. Renders only the visible rows.

Coordinates: the vertical scroll position is the *view position of the top line* (line units), in every mode.
Without wrap (and without pretty JSON) one line is one row, which is the usual ScrollView. With wrap or pretty
JSON a line may take several rows: the rows on screen are laid out from the top line downwards, only as far
as the screen reaches (O(visible)), and "the end" is found by walking back from the newest line until the
screen is full. So the scrollbar counts lines, not rows; a single line taller than the screen shows its first
screenful.

Follow: on, the view sticks to the newest line; any move up (keys, wheel, a search jump, pause) turns it off
and new lines are counted (`new_lines`) instead; the follow action turns it back on. While not following the
top line is anchored by its global index (`_top_g`) and the rows are drawn from that anchor, never from the
scroll position: lines arrive (and old ones are evicted, which shifts every view position) between the 10 Hz
flushes, and Textual may paint, or repaint part of the view, at any moment in between. The scroll position is
brought back in line with the anchor at each flush; a scroll by Textual (wheel, scrollbar) moves the anchor by
its *delta* only, since its absolute value may be stale. When the anchored line itself is evicted the view
moves to the oldest kept line (the cursor too, when its line is gone) and `evicted_top` says so.

Every line is drawn from `sanitize.display(line.text)` as literal Text (never markup): escapes dimmed, level
colour, pod colour, timestamp prefix, search highlight; GAP/INFO markers have their own style. Rendered rows
are cached per (index, width, options) in a small LRU; the cursor style is applied on top.

Sources append through `append(lines)` (cheap: the buffer only); the screen calls `flush()` on a timer
(10 Hz), which is when the view's size, scroll position and rows are updated — never per line.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ecotui.logs.buffer import LogBuffer
from ecotui.logs.filters import spans
from ecotui.logs.format import Level, detect_level, json_kv, json_pretty, pod_colour, pod_label, ts_prefix
from ecotui.logs.model import Kind, LogLine
from ecotui.logs.sanitize import MAX_LEN, display_spans

CACHE_SIZE = 1500
POD_WIDTH = 20
JSON_MODES = ("raw", "kv", "pretty")
H_STEP = 8

LEVEL_STYLE_NAMES = {Level.ERROR: "critical", Level.WARN: "warning", Level.DEBUG: "muted", Level.TRACE: "muted"}
_DEFAULT_STYLES: dict[str, Style] = {
    "critical": Style(color="red"), "warning": Style(color="yellow"), "muted": Style(dim=True),
    "ok": Style(color="green"),
}
ESCAPE_STYLE = Style(dim=True, italic=True)
SEARCH_STYLE = Style(color="black", bgcolor="yellow")
CURSOR_STYLE = Style(reverse=True)
GAP_STYLE = Style(color="black", bgcolor="yellow", bold=True)
INFO_STYLE = Style(color="cyan", italic=True)
TS_STYLE = Style(dim=True)


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Keys are given by the screen (from the keymap); this widget has no bindings of its own."""

    DEFAULT_CSS = """
    LogView { height: 1fr; scrollbar-size-vertical: 1; scrollbar-size-horizontal: 1; }
    """

    def __init__(self, buffer: LogBuffer, *, styles: Mapping[str, Style] | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.cell_styles: Mapping[str, Style] = styles or {}
        self.follow = True
        self.wrap = False
        self.timestamps = False
        self.json_mode = "raw"
        self.new_lines = 0            # lines the view gained while not following
        self.cursor: int | None = None  # global index of the cursor line (None: last line / top line)
        self._top_g = 0               # anchor of the top line while not following
        self.evicted_top = False      # paused, the lines shown were evicted: now at the oldest kept line
        self._syncing = False         # the scroll position is being set from the anchor (not a user scroll)
        self._shown: tuple[int, int] | None = None   # global indexes of the top and bottom rows last laid out
        self._cursor_row_g: int | None = None        # the line drawn with the cursor style (by that layout)
        self._dirty = False
        self._cache: OrderedDict[tuple[Any, ...], list[Strip]] = OrderedDict()
        self._layout_key: tuple[Any, ...] | None = None
        self._layout: list[tuple[int, int]] = []
        self._max_width = 0

    # ---- feeding ---------------------------------------------------------------------------------

    def append(self, lines: Sequence[LogLine]) -> None:
        """The sink: add a batch to the buffer (no drawing here; `flush` does it)."""
        kept = self.buffer.append(lines)
        if not self.follow:
            self.new_lines += kept
        self._dirty = True

    def flush(self, force: bool = False) -> bool:
        """Bring size, scroll position and rows up to date with the buffer; True if anything was redrawn."""
        if not (self._dirty or force):
            return False
        self._dirty = False
        self._update_size()
        if self.follow:
            self._scroll_top(self._end_top())
        else:
            self._drop_evicted()
            self._scroll_top(self.top)
        self.refresh()
        return True

    def _drop_evicted(self, note: bool = True) -> None:
        """Paused: the anchored top line (or the cursor's line) was evicted: go to the oldest kept line."""
        b = self.buffer
        if not b.view_len:
            return
        oldest = b.view_index(0)
        if self._top_g < b.first:
            self._top_g = oldest
            self.evicted_top = note
        if self.cursor is not None and self.cursor < b.first:
            self.cursor = oldest

    def reset_view(self) -> None:
        """After a filter / clear / option change: keep the cursor line in sight (or follow the end)."""
        self._cache.clear()
        self._layout_key = None
        self._max_width = 0
        self._update_size()
        if self.follow:
            self._scroll_top(self._end_top())
        else:
            self._drop_evicted(note=False)        # (a clear, not an eviction)
            self._scroll_top(self.top)
            self._show(self.cursor_g)
        self.refresh()

    def set_cell_styles(self, styles: Mapping[str, Style]) -> None:
        self.cell_styles = styles
        self._cache.clear()
        self.refresh()

    # ---- geometry --------------------------------------------------------------------------------

    @property
    def _height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    @property
    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    @property
    def one_row_per_line(self) -> bool:
        return not self.wrap and self.json_mode != "pretty"

    def _prefix_width(self) -> int:
        w = 0
        if self.timestamps:
            w += 13
        if self.show_pods:
            w += POD_WIDTH + 1
        return w

    @property
    def show_pods(self) -> bool:
        return len(self.buffer.pods) > 1

    def _update_size(self) -> None:
        n = self.buffer.view_len
        if self.one_row_per_line:
            height = n
            width = max(self._max_width, self._prefix_width() + min(self.buffer.longest, MAX_LEN + 16))
        else:
            height = n + self._height - 1 if n else 0
            width = self._width if self.wrap else max(self._max_width, self._width)
        size = Size(width, height)
        if size != self.virtual_size:
            self.virtual_size = size

    @property
    def top(self) -> int:
        """View position of the top line: the scroll position when following, else the anchored line's."""
        n = self.buffer.view_len
        if self.follow or n == 0:
            return int(round(self.scroll_y))
        return min(self.buffer.view_pos(self._top_g), n - 1)

    def _clamp_top(self, pos: int) -> int:
        n = self.buffer.view_len
        if self.one_row_per_line:
            return max(0, min(pos, n - self._height))
        return max(0, min(pos, n - 1, self._end_top()))

    def _scroll_top(self, pos: int) -> None:
        """Put line `pos` at the top: the anchor and the scroll position, together."""
        pos = self._clamp_top(pos)
        self._syncing = True
        try:
            self.scroll_to(y=pos, animate=False, immediate=True, force=True)
        finally:
            self._syncing = False
        n = self.buffer.view_len
        if n:
            self._top_g = self.buffer.view_index(min(pos, n - 1))

    def rows_of(self, pos: int) -> int:
        if self.one_row_per_line:
            return 1
        return len(self._strips(self.buffer.view_index(pos)))

    def _end_top(self) -> int:
        """The top position that shows the newest line at the bottom."""
        n = self.buffer.view_len
        h = self._height
        if self.one_row_per_line:
            return max(0, n - h)
        rows = 0
        pos = n
        while pos > 0:
            r = self.rows_of(pos - 1)
            if rows + r > h and rows > 0:
                break
            rows += r
            pos -= 1
        return pos

    def _bottom_pos(self) -> int:
        """View position of the last line (partly) on screen."""
        n = self.buffer.view_len
        if self.one_row_per_line:
            return min(n - 1, self.top + self._height - 1)
        rows, pos = 0, self.top
        while pos < n:
            rows += self.rows_of(pos)
            if rows >= self._height:
                return pos
            pos += 1
        return n - 1

    def _layout_rows(self) -> list[tuple[int, int]]:
        """(global index, row within that line) for each screen row, from the top line down."""
        top = self.top
        key = (top, self._height, self._width, self.buffer.version, self.wrap, self.json_mode, self.timestamps,
               self.show_pods, self.follow, self.cursor)
        if key == self._layout_key:
            return self._layout
        out: list[tuple[int, int]] = []
        n = self.buffer.view_len
        pos, h = top, self._height
        while pos < n and len(out) < h:
            g = self.buffer.view_index(pos)
            r = 1 if self.one_row_per_line else len(self._strips(g))
            out.extend((g, i) for i in range(r))
            pos += 1
        self._layout_key, self._layout = key, out[:h]
        self._shown = (out[0][0], out[-1][0]) if out else None
        self._cursor_row_g = None if self.follow else self.cursor_g
        return self._layout

    # ---- rendering ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self._width
        rows = self._layout_rows()
        if y >= len(rows):
            return Strip.blank(width, self.rich_style)
        g, i = rows[y]
        strips = self._strips(g)
        strip = strips[i] if i < len(strips) else Strip.blank(0)
        if not self.wrap:
            x = int(round(self.scroll_x))
            strip = strip.crop(x, x + width)
        strip = strip.extend_cell_length(width, self.rich_style)
        if g == self._cursor_row_g:
            strip = strip.apply_style(CURSOR_STYLE)
        return strip

    def _style(self, name: str) -> Style:
        return self.cell_styles.get(name) or _DEFAULT_STYLES.get(name) or Style()

    def line_text(self, line: LogLine) -> list[Text]:
        """The line as one or more literal Texts (more than one for pretty JSON)."""
        if line.kind is not Kind.LINE:
            disp, _ = display_spans(line.text)
            style = GAP_STYLE if line.kind is Kind.GAP else INFO_STYLE
            label = "GAP" if line.kind is Kind.GAP else "INFO"
            t = Text(no_wrap=not self.wrap, end="")
            if self.timestamps:
                t.append(ts_prefix(line.ts_ns) + " ", style=TS_STYLE)
            t.append(f"── {label}: {disp} ──", style=style)
            return [t]
        prefix = Text(no_wrap=not self.wrap, end="")
        if self.timestamps:
            prefix.append(ts_prefix(line.ts_ns) + " ", style=TS_STYLE)
        if self.show_pods:
            pod = line.pod or line.stream
            prefix.append(f"{pod_label(pod, POD_WIDTH):<{POD_WIDTH}} ", style=Style(color=pod_colour(pod)))
        if line.previous:
            prefix.append("(previous) ", style=TS_STYLE)
        level = detect_level(line.text)
        body_style = self._style(LEVEL_STYLE_NAMES[level]) if level in LEVEL_STYLE_NAMES else Style()
        bodies: list[str]
        if self.json_mode == "kv":
            bodies = [json_kv(line.text) or line.text]
        elif self.json_mode == "pretty":
            bodies = json_pretty(line.text) or [line.text]
        else:
            bodies = [line.text]
        out = []
        indent = " " * prefix.cell_len
        search = self.buffer.search
        for i, body in enumerate(bodies):
            disp, esc = display_spans(body)
            t = prefix.copy() if i == 0 else Text(indent, no_wrap=not self.wrap, end="")
            start = len(t.plain)
            t.append(disp, style=body_style)
            for s, e in esc:
                t.stylize(ESCAPE_STYLE, start + s, start + e)
            for s, e in spans(search, disp):
                t.stylize(SEARCH_STYLE, start + s, start + e)
            out.append(t)
        return out

    def _strips(self, g: int) -> list[Strip]:
        search = self.buffer.search
        key = (g, self._width if self.wrap else 0, self.wrap, self.timestamps, self.json_mode, self.show_pods,
               search.pattern if search is not None else None, id(self.cell_styles))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        line = self.buffer.get(g)
        if line is None:
            strips = [Strip.blank(0)]
        else:
            console = self.app.console
            strips = []
            for t in self.line_text(line):
                if self.wrap:
                    for part in t.wrap(console, self._width, no_wrap=False):
                        part.end = ""
                        strips.append(Strip(list(part.render(console)), part.cell_len))
                else:
                    segs = [s for s in t.render(console) if s.text]
                    strip = Strip(segs, t.cell_len)
                    strips.append(strip)
                    if strip.cell_length > self._max_width:
                        self._max_width = strip.cell_length
            strips = strips or [Strip.blank(0)]
        self._cache[key] = strips
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return strips

    # ---- cursor, follow, scrolling -------------------------------------------------------------------

    @property
    def cursor_g(self) -> int | None:
        """Global index of the line the cursor is on: the cursor, else the newest (following) or top line."""
        b = self.buffer
        n = b.view_len
        if n == 0:
            return None
        if self.cursor is not None and b.in_view(self.cursor):
            return self.cursor
        if self.follow:
            return b.view_index(n - 1)
        if self.cursor is not None:
            pos = b.view_pos(self.cursor)
            return b.view_index(min(pos, n - 1))
        return b.view_index(min(self.top, n - 1))

    def cursor_line(self) -> LogLine | None:
        g = self.cursor_g
        return None if g is None else self.buffer.get(g)

    def set_follow(self, follow: bool) -> None:
        if follow == self.follow:
            if follow:
                self._scroll_top(self._end_top())
            return
        if follow:
            self.follow = True
            self.new_lines = 0
            self.cursor = None
            self.evicted_top = False
            self._update_size()
            self._scroll_top(self._end_top())
        else:
            self._pause()
        self.refresh()

    def _pause(self) -> None:
        """Stop following where the screen is: the top row last laid out stays the top, the cursor goes on the
        bottom row (lines that came since that layout are below it, not yet shown)."""
        if not self.follow:
            return
        b = self.buffer
        n = b.view_len
        top = int(round(self.scroll_y))
        bottom = n - 1
        shown = self._shown
        if shown is not None and b.in_view(shown[0]) and b.in_view(shown[1]):
            top, bottom = b.view_pos(shown[0]), b.view_pos(shown[1])
        self.follow = False
        self.evicted_top = False
        self.cursor = b.view_index(bottom) if n else None
        if n:
            self._scroll_top(top)

    def _show(self, g: int | None) -> None:
        """Scroll so that line `g` is on screen (no move when it already is)."""
        if g is None:
            return
        pos = self.buffer.view_pos(g)
        if pos < self.top:
            self._scroll_top(pos)
        elif pos > self._bottom_pos():
            if self.one_row_per_line:
                self._scroll_top(pos - self._height + 1)
            else:
                rows, top = 0, pos
                while top >= 0:
                    rows += self.rows_of(top)
                    if rows > self._height:
                        break
                    top -= 1
                self._scroll_top(min(pos, top + 1))

    def move_cursor(self, delta: int) -> None:
        n = self.buffer.view_len
        if n == 0:
            return
        self._pause()
        g = self.cursor_g
        pos = self.buffer.view_pos(g) if g is not None else n - 1
        pos = max(0, min(n - 1, pos + delta))
        self.cursor = self.buffer.view_index(pos)
        self.evicted_top = False
        self._show(self.cursor)
        self.refresh()

    def goto(self, g: int) -> None:
        """Put the cursor on line `g` (a search hit), not following."""
        self._pause()
        self.cursor = g
        self.evicted_top = False
        self._show(g)
        self.refresh()

    def cursor_top(self) -> None:
        if self.buffer.view_len:
            self.move_cursor(-self.buffer.view_len)

    def page(self, direction: int) -> None:
        self.move_cursor(direction * max(1, self._height - 1))

    def scroll_horizontal(self, direction: int) -> None:
        if not self.wrap:
            self.scroll_to(x=max(0, self.scroll_x + direction * H_STEP), animate=False, immediate=True, force=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.follow or self._syncing:
            return
        # A scroll by Textual (wheel, scrollbar, its own clamping): its coordinates date from the last flush, and
        # lines may have been evicted since, so only the move counts; the next flush re-syncs the position.
        delta = int(round(new_value)) - int(round(old_value))
        if delta and self.buffer.view_len:
            self._top_g = self.buffer.view_index(self._clamp_top(self.top + delta))
            self.evicted_top = False
            self._dirty = True

    def on_mouse_scroll_up(self, event: Any) -> None:
        if self.follow:
            self._pause()
            self.refresh()

    # ---- options ----------------------------------------------------------------------------------------

    def toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        if self.wrap:
            self.scroll_to(x=0, animate=False, immediate=True, force=True)
        self.reset_view()

    def toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.reset_view()

    def cycle_json(self) -> str:
        self.json_mode = JSON_MODES[(JSON_MODES.index(self.json_mode) + 1) % len(JSON_MODES)]
        self.reset_view()
        return self.json_mode

    # ---- for tests and the screen -------------------------------------------------------------------

    def visible_text(self) -> list[str]:
        """The plain text of each screen row (tests)."""
        return ["".join(s.text for s in self.render_line(y)) for y in range(self._height)]

    def visible_segments(self) -> list[Segment]:
        return [seg for y in range(self._height) for seg in self.render_line(y)]
