"""The incremental table: `apply_changes` keeps natural and column order by bisection, re-renders only what
changed, never shows a stale render, and keeps no per-row DataTable objects."""
from __future__ import annotations

import gc
import random

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from ecotui.kube.render import Cell
from ecotui.ui.widgets.resource_table import ResourceTable

COLS = [("name", "NAME"), ("status", "STATUS"), ("restarts", "RESTARTS")]


def cells(name: str, status: str = "Running", restarts: int = 0) -> tuple[Cell, ...]:
    return (Cell(name, name), Cell(status, status, "ok" if status == "Running" else "critical"),
            Cell(str(restarts), restarts))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(COLS, id="t")


def shown(table: ResourceTable) -> list[str]:
    return [str(r.key.value) for r in table.ordered_rows]


def screen_lines(app: App) -> list[str]:
    return [s.text.rstrip() for s in app.screen._compositor.render_strips()]


def assert_screen_shows_the_rows(app: App, t: ResourceTable) -> None:
    """Every table line on screen is what the rows hold now (no stale render survives a change)."""
    widths = [c.get_render_width(t) for c in t.ordered_columns]
    top, region = int(t.scroll_y), t.region
    lines = screen_lines(app)[region.y:region.y + region.height]
    want = ["".join(f" {label}".ljust(w) for label, w in zip([str(c.label) for c in t.ordered_columns], widths))]
    for key in t.keys[top:top + region.height - 1]:
        want.append("".join(f" {c.text}".ljust(w) for c, w in zip(t._memo[key], widths)))
    content = region.width - 1                                    # the vertical scrollbar
    assert [x[:content].rstrip() for x in lines[:len(want)]] == [x[:content].rstrip() for x in want]


def expected_order(live: dict[str, tuple], nat: dict[str, object], col: int | None, reverse: bool) -> list[str]:
    natural = sorted(live, key=lambda k: nat[k])
    if col is None:
        return natural
    return sorted(natural, key=lambda k: live[k][col].sort, reverse=reverse)   # stable: ties in natural order


async def test_random_changes_match_a_full_sort_and_the_screen_in_every_sort_mode():
    app = TableApp()
    rnd = random.Random(11)
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        live: dict[str, tuple] = {}
        nat: dict[str, object] = {}
        serial = 0
        modes = [(None, False), (2, False), (2, True), (1, False), (0, True)]
        for step in range(120):
            upserts: dict[str, tuple] = {}
            natural: dict[str, object] = {}
            removed: list[str] = []
            kind = "fill" if step < 3 else rnd.choice(["mixed", "cells", "below", "visible"])
            if kind == "mixed":
                removed = rnd.sample(sorted(live), min(len(live), rnd.randint(0, 6)))
            for k in removed:
                del live[k], nat[k]
            for _ in range({"fill": 40, "mixed": rnd.randint(0, 8), "below": 3}.get(kind, 0)):
                serial += 1
                k = f"{'z' if kind == 'below' else 'p'}{rnd.randint(0, 999):03d}-{serial}"
                text = k + ("-wide" * rnd.randint(0, 3) if kind == "below" else "")
                live[k] = upserts[k] = cells(text, rnd.choice(["Running", "Error"]), rnd.randint(0, 5))
                nat[k] = natural[k] = (9 if kind == "below" else rnd.randint(0, 3), k)   # tuples, like events
            if kind == "visible":
                changing = t.keys[int(t.scroll_y):int(t.scroll_y) + 10]
            else:
                changing = rnd.sample(sorted(live), min(len(live), rnd.randint(0, 6)))
            for k in changing:
                live[k] = upserts[k] = cells(live[k][0].text, rnd.choice(["Running", "Error", "Pending"]),
                                             rnd.randint(0, 5))
                if kind == "mixed" and rnd.random() < 0.3:
                    nat[k] = (rnd.randint(0, 3), k)                      # some rows move
                natural[k] = nat[k]
            t.apply_changes(upserts, removed, natural)
            if step % 10 == 3:
                col, rev = modes[(step // 10) % len(modes)]
                if col is None:
                    t.sort_column = None
                    t._resort()
                else:
                    t.sort_by(COLS[col][0], reverse=rev)
            if step % 9 == 0:
                t.scroll_to(y=rnd.randint(0, max(0, len(live) - 10)), animate=False, immediate=True)
            await pilot.pause()
            assert_screen_shows_the_rows(app, t)
            want = expected_order(live, nat, t.sort_column, t.sort_reverse)
            assert shown(t) == want == t.keys
            assert t.row_count == len(live)
            for i, k in enumerate(want):
                assert t._position(k) == i
        for k, c in live.items():
            assert [str(v) for v in t.get_row(k)] == [x.text for x in c]


async def test_cursor_and_view_stay_when_rows_arrive_above():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(200)})
        await pilot.pause()
        t.move_cursor(row=100)
        t.scroll_to(y=95, animate=False, immediate=True)
        await pilot.pause()
        offset = t.cursor_row - t.scroll_y
        t.apply_changes({f"pod-00{i}a": cells(f"pod-00{i}a") for i in range(7)}, ["pod-150", "pod-001"])
        await pilot.pause()
        assert t.cursor_key == "pod-100"
        assert t.cursor_row - t.scroll_y == offset
        assert t.cursor_row == t.keys.index("pod-100")


async def test_clicks_hit_the_drawn_row_after_rows_arrive_above_the_view():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(200)})
        await pilot.pause()
        t.move_cursor(row=105)
        t.scroll_to(y=100, animate=False, immediate=True)
        await pilot.pause()
        t.apply_changes({f"pod-00{i}a": cells(f"pod-00{i}a") for i in range(5)})   # above the view
        await pilot.pause()
        lines = screen_lines(app)
        y = next(i for i, x in enumerate(lines) if "pod-110" in x)
        await pilot.click(ResourceTable, offset=(3, y - t.region.y))
        await pilot.pause()
        assert t.cursor_key == "pod-110"


async def test_a_changed_visible_row_is_redrawn_alone():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(300)})
        await pilot.pause()
        rendered: list[int] = []
        real = t._render_cell

        def counting(row_index, *a, **kw):
            rendered.append(row_index)
            return real(row_index, *a, **kw)

        t._render_cell = counting  # type: ignore[method-assign]
        t.apply_changes({"pod-004": cells("pod-004", "Error", 3)})      # no column gets wider
        await pilot.pause()
        line = next(x for x in screen_lines(app) if "pod-004" in x)
        assert "Error" in line and " 3" in line
        assert set(rendered) == {4}                      # only that row's cells were rendered again


async def test_no_stale_render_after_an_off_screen_change():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(300)})
        await pilot.pause()
        t.scroll_to(y=200, animate=False, immediate=True)    # renders rows 200.. (now cached)
        await pilot.pause()
        t.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        t.apply_changes({"pod-205": cells("pod-205", "Error", 9)})      # off screen, same widths
        await pilot.pause()
        t.scroll_to(y=195, animate=False, immediate=True)
        await pilot.pause()
        assert "Error    9" in next(x for x in screen_lines(app) if "pod-205" in x)
        t.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        t.apply_changes({"pod-205": cells("pod-205", "Evicted", 9)}, ["pod-201"])
        await pilot.pause()
        t.scroll_to(y=195, animate=False, immediate=True)
        await pilot.pause()
        lines = screen_lines(app)
        assert not any("pod-201" in x for x in lines)
        assert "Evicted" in next(x for x in lines if "pod-205" in x)
        # rows below the removed one moved up by one: a click lands on the row that is drawn there
        y = next(i for i, x in enumerate(lines) if "pod-210" in x)
        await pilot.click(ResourceTable, offset=(3, y - t.region.y))
        await pilot.pause()
        assert t.cursor_key == "pod-210"


async def test_rows_added_below_the_view_do_not_redraw_it():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(100)})
        await pilot.pause()
        before = screen_lines(app)
        rendered: list[int] = []
        real = t._render_cell
        t._render_cell = lambda r, *a, **kw: (rendered.append(r), real(r, *a, **kw))[1]  # type: ignore[method-assign]
        t.apply_changes({f"pod-5{i:02d}": cells(f"pod-5{i:02d}") for i in range(50)})
        await pilot.pause()
        assert [r for r in rendered if r >= 0] == []
        assert [x[:60].rstrip() for x in screen_lines(app)] == [x[:60].rstrip() for x in before]  # bar aside
        assert t.virtual_size.height == 150 + 1
        t.move_cursor(row=149)
        await pilot.pause()
        assert t.cursor_key == "pod-549" and any("pod-549" in x for x in screen_lines(app))


async def test_a_change_on_screen_shows_even_when_rows_also_arrive_below_it():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(100)})
        await pilot.pause()
        t.apply_changes({"pod-003": cells("pod-003", "Error", 4), "pod-500": cells("pod-500")})
        await pilot.pause()
        assert "Error    4" in next(x for x in screen_lines(app) if "pod-003" in x)


async def test_a_wider_cell_below_the_view_realigns_the_visible_rows():
    app = TableApp()
    async with app.run_test(size=(100, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(100)})
        await pilot.pause()
        t.apply_changes({"pod-500-with-a-much-longer-name": cells("pod-500-with-a-much-longer-name")})
        await pilot.pause()
        lines = screen_lines(app)
        header = next(x for x in lines if "STATUS" in x)
        row = next(x for x in lines if "pod-002" in x)
        assert row.index("Running") == header.index("STATUS") > len("pod-500-with-a-much-longer-name")


async def test_page_keys_move_one_screen():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply_changes({f"pod-{i:03d}": cells(f"pod-{i:03d}") for i in range(100)})
        t.focus()
        await pilot.pause()
        page = t.scrollable_content_region.height - 1
        await pilot.press("pagedown")
        assert t.cursor_row == page
        await pilot.press("pagedown")
        assert t.cursor_row == 2 * page
        await pilot.press("pageup")
        assert t.cursor_row == page


async def test_rows_hold_no_per_row_objects_and_cells_are_made_when_asked():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        rows = {f"pod-{i:05d}": cells(f"pod-{i:05d}", "Running", i % 7) for i in range(5000)}
        t.apply_changes(dict(list(rows.items())[:50]))   # the viewport's rows, drawn
        await pilot.pause()
        gc.collect()
        before = len(gc.get_objects())
        t.apply_changes(rows)                            # 4950 more
        await pilot.pause()
        gc.collect()
        # DataTable itself would keep a RowKey, a Row, a dict and a renderable per cell for each of them
        assert len(gc.get_objects()) - before < 300
        assert t.row_count == 5000 and len(t._data) == 5000
        assert str(t.get_cell("pod-04321", "restarts")) == str(4321 % 7)     # never drawn, still readable
        assert t.get_cell("pod-04321", "status") is t.get_cell("pod-04321", "status")
        assert isinstance(t, DataTable)
