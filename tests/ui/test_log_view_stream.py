"""A paused log view under a fast stream: the lines on screen stay where they are (same lines at the same rows,
one cursor row) while batches arrive and old lines are evicted; when the lines shown are evicted the view
moves to the oldest kept line and says so; following keeps showing the newest lines."""
from __future__ import annotations

import asyncio

from textual import events
from textual.geometry import Region

from ecotui.logs.model import NS, LogLine
from tests.ui.test_log_view import T, FakeSource, LogApp, settle, started

CAPACITY = 20_000
BATCH = 3_000


class Streamer:
    """Emits BATCH lines every `every` seconds (in `chunks` pieces) from a task on the event loop, like a source."""

    def __init__(self, src: FakeSource, every: float = 0.1, chunks: int = 1) -> None:
        self.src = src
        self.every = every
        self.chunks = chunks
        self.n = 0
        self.task: asyncio.Task[None] | None = None

    def batch(self, count: int) -> None:
        assert self.src.sink is not None
        self.src.sink([LogLine(T + (self.n + i) * NS, f"line {self.n + i:07d}", "ecotrack/p/app", pod="p")
                       for i in range(count)])
        self.n += count

    async def _run(self) -> None:
        step = BATCH // self.chunks
        while True:
            for _ in range(self.chunks):
                self.batch(step)
                await asyncio.sleep(self.every / self.chunks)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def screen_rows(app: LogApp) -> list[tuple[str, bool]]:
    """What the terminal would show in the log view's region: (text, drawn reversed) per row."""
    view = app.log_screen.view
    region = view.content_region
    strips = app.screen._compositor.render_strips()
    out = []
    for y in range(region.y, region.bottom):
        strip = strips[y].crop(region.x, region.x + view.scrollable_content_region.width)
        segs = list(strip)
        text = "".join(s.text for s in segs).rstrip()
        rev = any(s.style is not None and s.style.reverse and s.text.strip() for s in segs)
        out.append((text, rev))
    return out


def top_index(text: str) -> int:
    return int(text.split()[1])


async def _paused_view_stays_put(tmp_path, chunks: int, how: str) -> None:
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=2 * CAPACITY)
    async with app.run_test(size=(100, 30)) as pilot:
        s = await started(pilot, src)
        st = Streamer(src, chunks=chunks)
        st.batch(2 * CAPACITY)                       # a full buffer: from now on every batch evicts
        await settle(pilot)
        st.start()
        await pilot.pause(0.25)
        await st.stop()            # (the pilot's waits for idle take long under a stream: pause, then go on)
        if how == "key":
            await pilot.press("space")
        else:
            s.view.post_message(events.MouseScrollUp(s.view, 1, 1, 0, -1, 0, False, False, False))
        await settle(pilot)
        v = s.view
        assert not v.follow
        cursor = v.cursor
        first = screen_rows(app)
        texts = [t for t, _ in first]
        assert all(t.startswith("line ") for t in texts), texts
        # one cursor row (none once the wheel has scrolled the bottom row, the cursor's, out of sight)
        assert sum(1 for _, r in first if r) == (1 if how == "key" else 0)
        firsts, compared = {s.buffer.first}, 0
        st.start()
        for _ in range(50):                      # every 10 ms while batches arrive, until the top line is evicted
            await pilot.pause(0.01)
            if s.buffer.first > top_index(texts[0]):
                break
            now = screen_rows(app)
            assert [t for t, _ in now] == texts
            assert [t for t, r in now if r] == [t for t, r in first if r]     # one cursor row, the same one
            assert v.cursor == cursor
            firsts.add(s.buffer.first)
            compared += 1
        # compared on many paints, while several batches evicted lines
        assert compared >= 4 and len(firsts) >= 3, (compared, firsts, texts[0], s.buffer.first)
        await st.stop()


async def test_paused_view_stays_put_under_a_stream_of_big_batches(tmp_path):
    await _paused_view_stays_put(tmp_path, chunks=1, how="key")


async def test_paused_view_stays_put_under_a_stream_of_small_batches(tmp_path):
    await _paused_view_stays_put(tmp_path, chunks=30, how="key")


async def test_wheel_paused_view_stays_put_under_a_stream(tmp_path):
    await _paused_view_stays_put(tmp_path, chunks=30, how="wheel")


async def test_lines_arriving_between_flushes_and_a_partial_repaint_move_nothing(tmp_path):
    """Evicting batches land after a flush and Textual repaints part of the view before the next one: the rows
    repainted must agree with the rows not repainted (no shifted rows, no second cursor row)."""
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=200)
    async with app.run_test(size=(80, 24)) as pilot:
        s = await started(pilot, src)
        st = Streamer(src)
        st.batch(200)
        await settle(pilot)
        await pilot.press("k")                   # paused, the cursor on the row above the bottom one
        await settle(pilot)
        v = s.view
        before = screen_rows(app)
        assert before[-2] == ("line 0000198", True) and sum(r for _, r in before) == 1
        st.batch(5)                                        # evicts line 0…4, before any flush
        h = v.scrollable_content_region.height
        v.refresh(Region(0, 3, 80, h - 6))                 # a partial repaint (rows 3 … h-4) before the flush
        await pilot.pause()
        after = screen_rows(app)
        assert [t for t, r in after if r] == ["line 0000198"]          # one cursor row, not a stale second one
        assert after == before
        assert [r.rstrip() for r in v.visible_text()] == [t for t, _ in before]
        await settle(pilot)                                # the flush
        assert screen_rows(app) == before and v.new_lines == 5


async def test_cursor_keeps_its_line_while_old_lines_are_evicted_fast(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=2 * CAPACITY)
    async with app.run_test(size=(100, 30)) as pilot:
        s = await started(pilot, src)
        st = Streamer(src, chunks=10)
        st.batch(2 * CAPACITY)
        await settle(pilot)
        await pilot.press("k", "k", "k")
        await settle(pilot)
        v = s.view
        g = v.cursor
        text = v.cursor_line().text
        compared = 0
        st.start()
        for _ in range(30):
            await pilot.pause(0.01)
            if s.buffer.first > g - 30:
                break
            assert v.cursor == g and v.cursor_line().text == text
            rev = [t for t, r in screen_rows(app) if r]
            assert rev == [text]
            compared += 1
        assert compared >= 3
        await st.stop()


async def test_evicted_view_moves_to_the_oldest_kept_line_and_says_so(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=CAPACITY)
    async with app.run_test(size=(100, 30)) as pilot:
        s = await started(pilot, src)
        st = Streamer(src, chunks=10)
        st.batch(CAPACITY)
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        v = s.view
        shown = screen_rows(app)
        st.start()
        while s.buffer.first <= top_index(shown[-1][0]) + 3 * BATCH:   # the lines shown, and more, evicted
            await pilot.pause(0.05)
        await st.stop()
        await settle(pilot)
        b = s.buffer
        now = screen_rows(app)
        assert not v.follow and v.evicted_top
        assert now[0][0] == f"line {b.first:07d}"                       # the oldest kept line at the top
        assert [t for t, r in now if r] == [now[0][0]]                   # the cursor went with it: one row
        assert v.cursor == b.first
        assert "lines shown were evicted" in s.title_plain
        await pilot.press("j")                                           # moving clears the note
        await settle(pilot)
        assert not v.evicted_top and "evicted" not in s.title_plain


async def test_following_shows_the_newest_lines_under_a_stream(tmp_path):
    src = FakeSource()
    app = LogApp(src, tmp_path, capacity=CAPACITY)
    async with app.run_test(size=(100, 30)) as pilot:
        s = await started(pilot, src)
        st = Streamer(src, chunks=10)
        st.batch(CAPACITY)
        st.start()
        await pilot.pause(0.5)
        await st.stop()
        await settle(pilot)
        now = screen_rows(app)
        assert s.view.follow and not any(r for _, r in now)
        assert now[-1][0] == f"line {st.n - 1:07d}"
        assert [top_index(t) for t, _ in now] == list(range(st.n - len(now), st.n))
