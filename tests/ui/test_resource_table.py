"""The keyed-diff table: rows follow the given mapping exactly, the cursor follows its row key."""
from __future__ import annotations

import random

from textual.app import App, ComposeResult

from ecotui.kube.render import Cell
from ecotui.ui.widgets.resource_table import ResourceTable

COLS = [("name", "NAME"), ("status", "STATUS"), ("restarts", "RESTARTS")]


def cells(name: str, status: str = "Running", restarts: int = 0) -> tuple[Cell, ...]:
    return (Cell(name, name), Cell(status, status, "ok" if status == "Running" else "critical"),
            Cell(str(restarts), restarts))


def rows_of(names, **kw):
    return {n: cells(n, **kw) for n in names}


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(COLS, id="t")


def shown(table: ResourceTable) -> list[str]:
    """Row keys in the order the DataTable itself would draw them."""
    return [str(r.key.value) for r in table.ordered_rows]


def text_at(table: ResourceTable, key: str, col: str) -> str:
    return str(table.get_cell(key, col))


async def test_rows_appear_in_given_order():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply(rows_of(["b", "a", "c"]))
        await pilot.pause()
        assert shown(t) == ["b", "a", "c"]
        assert t.row_count == 3
        assert text_at(t, "a", "status") == "Running"


async def test_cursor_stays_on_key_when_rows_are_inserted_above():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        names = [f"pod-{i:03d}" for i in range(100)]
        t.apply(rows_of(names))
        await pilot.pause()
        t.move_cursor(row=60)
        await pilot.pause()
        t.scroll_to(y=55, animate=False, immediate=True)    # cursor row in the middle of the view
        await pilot.pause()
        assert t.cursor_key == "pod-060"
        offset = t.cursor_row - t.scroll_y
        assert offset == 5
        # 10 rows sort before the cursor row, 5 after; 3 rows above it go away
        new = [f"pod-00{i}a" for i in range(10)] + names + [f"pod-999-{i}" for i in range(5)]
        new = sorted(n for n in new if n not in ("pod-001", "pod-002", "pod-003"))
        t.apply(rows_of(new))
        await pilot.pause()
        assert t.cursor_key == "pod-060"
        assert t.cursor_row == new.index("pod-060")
        assert t.cursor_row - t.scroll_y == offset      # the view did not jump
        assert shown(t) == new


async def test_cursor_stays_when_its_cells_change():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply(rows_of(["a", "b", "c"]))
        await pilot.pause()
        t.move_cursor(row=1)
        rows = rows_of(["a", "b", "c"])
        rows["b"] = cells("b", "CrashLoopBackOff", 4)
        t.apply(rows)
        await pilot.pause()
        assert t.cursor_key == "b"
        assert text_at(t, "b", "status") == "CrashLoopBackOff"
        assert text_at(t, "b", "restarts") == "4"


async def test_unchanged_rows_are_not_rewritten():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        rows = rows_of(["a", "b"])
        t.apply(rows)
        await pilot.pause()
        before = t.get_cell("a", "status")
        rows = dict(rows)
        rows["b"] = cells("b", "Error")
        t.apply(rows)
        assert t.get_cell("a", "status") is before      # same cell object: untouched
        assert str(t.get_cell("b", "status")) == "Error"


async def test_no_row_lost_or_duplicated_after_many_updates():
    app = TableApp()
    rnd = random.Random(7)
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        live: dict[str, tuple] = {}
        serial = 0
        for step in range(60):
            for _ in range(rnd.randint(0, 8)):
                serial += 1
                live[f"p{rnd.randint(0, 400):03d}-{serial}"] = cells(f"n{serial}")
            for k in rnd.sample(sorted(live), min(len(live), rnd.randint(0, 5))):
                del live[k]
            for k in rnd.sample(sorted(live), min(len(live), rnd.randint(0, 5))):
                live[k] = cells(k, rnd.choice(["Running", "Error", "Pending"]), rnd.randint(0, 9))
            if step == 30 and live:
                t.move_cursor(row=len(live) // 2)
            expected = dict(sorted(live.items()))
            t.apply(expected)
            if step % 10 == 0:
                await pilot.pause()
        await pilot.pause()
        assert shown(t) == list(expected)
        assert t.keys == list(expected)
        assert len(set(shown(t))) == len(shown(t)) == t.row_count
        for k, c in expected.items():
            assert [str(v) for v in t.get_row(k)] == [x.text for x in c]


async def test_sort_by_column_and_reverse_and_stable_under_updates():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        rows = {"a": cells("a", restarts=3), "b": cells("b", restarts=1), "c": cells("c", restarts=3),
                "d": cells("d", restarts=0)}
        t.apply(rows)
        t.move_cursor(row=2)   # "c"
        t.sort_by("restarts")
        await pilot.pause()
        assert shown(t) == ["d", "b", "a", "c"]          # ties keep the natural order (a before c)
        assert t.cursor_key == "c"
        assert t.sort_label == "RESTARTS↑"
        t.action_sort_reverse()
        assert shown(t) == ["a", "c", "b", "d"]          # reversed, ties still a before c
        rows = dict(rows)
        rows["d"] = cells("d", restarts=9)
        rows["e"] = cells("e", restarts=2)
        t.apply(rows)
        assert shown(t) == ["d", "a", "c", "e", "b"]
        assert t.cursor_key == "c"
        # cycling: restarts is the last column -> back to the natural order
        t.action_sort()
        assert t.sort_column is None
        assert shown(t) == ["a", "b", "c", "d", "e"]
        t.action_sort()
        assert t.sort_label == "NAME↑"


async def test_header_click_sorts_and_toggles():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply({"x": cells("x", "Running"), "y": cells("y", "Error"), "z": cells("z", "Pending")})
        await pilot.pause()
        region = t._get_column_region(1)       # STATUS header cell
        await pilot.click(ResourceTable, offset=(region.x + 1, 0))
        await pilot.pause()
        assert t.sort_label == "STATUS↑"
        assert shown(t) == ["y", "z", "x"]
        await pilot.click(ResourceTable, offset=(region.x + 1, 0))
        await pilot.pause()
        assert t.sort_label == "STATUS↓"
        assert shown(t) == ["x", "z", "y"]


async def test_styles_follow_theme_change():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        from rich.style import Style

        t = app.query_one(ResourceTable)
        t.set_styles({"ok": Style(color="green"), "critical": Style(color="red")})
        t.apply({"a": cells("a", "Running"), "b": cells("b", "Error")})
        assert t.get_cell("a", "status").__rich__().style == Style(color="green")
        t.set_styles({"ok": Style(color="blue"), "critical": Style(color="magenta")})
        await pilot.pause()
        assert t.get_cell("a", "status").__rich__().style == Style(color="blue")
        assert t.get_cell("b", "status").__rich__().style == Style(color="magenta")
        assert t.get_cell("a", "name").__rich__().style == ""


async def test_hostile_text_is_not_markup():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply({"a": (Cell("[bold red]x[/]", "x"), Cell("ok", "ok"), Cell("0", 0))})
        await pilot.pause()
        assert t.get_cell("a", "name").__rich__().plain == "[bold red]x[/]"


async def test_hidden_column_and_widths():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(ResourceTable)
        t.apply({"a": cells("a-very-long-name-indeed")})
        await pilot.pause()
        assert t.columns[t._column_keys()[0]].content_width == len("a-very-long-name-indeed")
        t.move_cursor(row=0)
        t.set_columns(COLS, pick=[1, 2])
        await pilot.pause()
        assert [str(c.label) for c in t.ordered_columns] == ["STATUS", "RESTARTS"]
        assert t.keys == ["a"]
        assert str(t.get_cell("a", "status")) == "Running"
