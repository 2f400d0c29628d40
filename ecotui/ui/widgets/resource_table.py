"""A DataTable that applies keyed diffs: it never clears, and the cursor stays on its row.

`apply({key: cells})` compares each row's cells with the ones it rendered last (identity first, so
unchanged rows cost one `is` test) and touches only what changed: `update_cell` for changed cells,
one bulk removal, appended rows for new keys and, when the order changed, one re-index of row
positions (as `DataTable.sort` does). After a structural change the cursor is put back on the same
row key at the same distance from the top of the viewport, so rows inserted or removed above it
move neither the cursor nor what the user is looking at.

Cost control for 10k+ rows (DataTable's own `remove_row` is O(rows) per call and measuring new
rows with Rich is ~0.1 ms per row): rows are removed and re-indexed in bulk and column widths are
tracked here from the plain cell text, so DataTable never re-measures rows. That uses a few
private DataTable attributes (`_data`, `_row_locations`, `_new_rows`, `_update_count`), all in the
`_internals` section below; Textual is pinned to 8.2.x and the tests in tests/ui check the result.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets._data_table import Row, RowKey

from ecotui.kube.render import Cell

Cells = Sequence[Cell]
DEFAULT_MAX_WIDTH = 48


class _CellView:
    """What the DataTable stores per cell: the Rich Text is built only when the cell is drawn
    (visible rows), not for all 10k rows up front (80k Text objects cost ~0.3 s)."""

    __slots__ = ("text", "style")

    def __init__(self, text: str, style: Style | None) -> None:
        self.text = text
        self.style = style

    def __rich__(self) -> Text:
        return Text(self.text, style=self.style or "", no_wrap=True, end="", overflow="ellipsis")

    def __str__(self) -> str:
        return self.text


class ResourceTable(DataTable):
    """Rows keyed by the snapshot key ("ns/name" or "name"); cells are `render.Cell` tuples."""

    DEFAULT_CSS = """
    ResourceTable { height: 1fr; scrollbar-size-vertical: 1; scrollbar-size-horizontal: 1; }
    """

    class SortChanged(Message):
        def __init__(self, table: "ResourceTable") -> None:
            super().__init__()
            self.table = table

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        pick: Sequence[int] | None = None,
        max_widths: Mapping[str, int] | None = None,
        styles: Mapping[str, Style] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", id=id)
        self._max_widths = dict(max_widths or {})
        self._styles: dict[str, Style] = dict(styles or {})
        self._memo: dict[str, tuple[Cell, ...]] = {}   # key -> cells as given (all columns)
        self._order: list[str] = []                     # keys in display order
        self._natural: list[str] = []                   # keys in the caller's order
        self._rk: dict[str, RowKey] = {}
        self.sort_column: int | None = None             # index into the shown columns
        self.sort_reverse = False
        self._set_columns_spec(columns, pick)

    # ---- columns --------------------------------------------------------------------------

    def _set_columns_spec(self, columns: Sequence[tuple[str, str]], pick: Sequence[int] | None) -> None:
        self._all_columns = list(columns)
        self._pick = list(pick) if pick is not None else list(range(len(columns)))
        self._shown = [self._all_columns[i] for i in self._pick]
        self._widths = [cell_len(h) for _, h in self._shown]

    def on_mount(self) -> None:
        if not self.columns:
            self._add_columns()

    def _add_columns(self) -> None:
        for key, header in self._shown:
            self.add_column(header, key=key)

    def set_columns(self, columns: Sequence[tuple[str, str]], pick: Sequence[int] | None = None) -> None:
        """Change the shown columns (e.g. hide NAMESPACE); keeps the rows (re-adds them)."""
        new_pick = list(pick) if pick is not None else list(range(len(columns)))
        if list(columns) == self._all_columns and new_pick == self._pick:
            return
        rows = {k: self._memo[k] for k in self._natural}
        cursor = self.cursor_key
        self.clear(columns=True)
        self._memo.clear()
        self._order = []
        self._natural = []
        self._rk.clear()
        self.sort_column = None
        self._set_columns_spec(columns, new_pick)
        self._add_columns()
        self.apply(rows)
        if cursor is not None:
            self.move_to_key(cursor)

    @property
    def shown_columns(self) -> list[tuple[str, str]]:
        return list(self._shown)

    # ---- queries --------------------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    @property
    def cursor_key(self) -> str | None:
        if not self._order:
            return None
        row = min(max(self.cursor_row, 0), len(self._order) - 1)
        return self._order[row]

    def cells_of(self, key: str) -> tuple[Cell, ...] | None:
        return self._memo.get(key)

    def visible_keys(self) -> list[str]:
        """Keys of the rows currently in the viewport (for cheap periodic refreshes)."""
        top = int(self.scroll_y)
        height = max(self.size.height, 1)
        return self._order[top: top + height]

    def move_to_key(self, key: str) -> bool:
        try:
            row = self._order.index(key)
        except ValueError:
            return False
        self.move_cursor(row=row)
        return True

    @property
    def sort_label(self) -> str:
        if self.sort_column is None:
            return ""
        arrow = "↓" if self.sort_reverse else "↑"
        return f"{self._shown[self.sort_column][1]}{arrow}"

    # ---- styles ---------------------------------------------------------------------------

    def set_styles(self, styles: Mapping[str, Style]) -> None:
        """New semantic colours (theme change): re-render only the styled cells."""
        self._styles = dict(styles)
        cols = self._column_keys()
        changed = False
        for key, cells in self._memo.items():
            rk = self._rk[key]
            data = self._data.get(rk)
            if data is None:
                continue
            for ci, src in enumerate(self._pick):
                if cells[src].style:
                    data[cols[ci]] = self._render(cells[src])
                    changed = True
        if changed:
            self._bump()

    def _render(self, cell: Cell) -> _CellView:
        return _CellView(cell.text, self._styles.get(cell.style) if cell.style else None)

    # ---- sorting --------------------------------------------------------------------------

    def action_sort(self) -> None:
        """Next column, ascending; after the last column back to the natural order."""
        n = len(self._shown)
        if self.sort_column is None:
            self.sort_column, self.sort_reverse = 0, False
        elif self.sort_column + 1 < n:
            self.sort_column, self.sort_reverse = self.sort_column + 1, False
        else:
            self.sort_column, self.sort_reverse = None, False
        self._resort()

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_column = 0
            self.sort_reverse = False
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def sort_by(self, column_key: str, reverse: bool | None = None) -> None:
        idx = [k for k, _ in self._shown].index(column_key)
        if reverse is None:
            reverse = (not self.sort_reverse) if self.sort_column == idx else False
        self.sort_column, self.sort_reverse = idx, reverse
        self._resort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def action_cursor_top(self) -> None:
        self.action_scroll_top()

    def action_cursor_bottom(self) -> None:
        self.action_scroll_bottom()

    def _resort(self) -> None:
        order = self._sorted(self._natural)
        if order != self._order:
            with self.app.batch_update():
                self._restructure([], [], order)
        self.post_message(self.SortChanged(self))

    def _sorted(self, keys: list[str]) -> list[str]:
        if self.sort_column is None:
            return keys
        src = self._pick[self.sort_column]
        memo = self._memo
        try:
            return sorted(keys, key=lambda k: memo[k][src].sort, reverse=self.sort_reverse)
        except TypeError:   # mixed types in one column: fall back to (type, text)
            return sorted(keys, key=lambda k: (type(memo[k][src].sort).__name__, memo[k][src].text),
                          reverse=self.sort_reverse)

    # ---- the keyed diff -------------------------------------------------------------------

    def apply(self, rows: Mapping[str, Cells]) -> None:
        """Make the table show exactly `rows` (in this order unless a sort column is chosen)."""
        memo = self._memo
        if not self.columns:
            self._add_columns()
        removed = [k for k in memo if k not in rows]
        added: list[str] = []
        updates: list[tuple[str, int, Cell]] = []
        pick = self._pick
        for key, cells in rows.items():
            old = memo.get(key)
            if old is None:
                added.append(key)
            elif old is not cells and old != cells:
                for ci, src in enumerate(pick):
                    c = cells[src]
                    o = old[src]
                    if c.text != o.text or c.style != o.style:
                        updates.append((key, ci, c))
                    elif c.sort != o.sort:
                        updates.append((key, -1, c))   # order may change, nothing to redraw
            else:
                continue
            memo[key] = tuple(cells)
        for key in removed:
            del memo[key]
        natural = list(rows.keys())
        if not (added or removed or updates) and natural == self._natural:
            return
        self._natural = natural

        with self.app.batch_update():
            cols = self._column_keys()
            for key, ci, cell in updates:
                if ci >= 0:
                    self.update_cell(self._rk[key], cols[ci], self._render(cell))
            width_dirty = self._widen([memo[k] for k in added] + [memo[k] for k, ci, _ in updates if ci >= 0])
            if removed and self._removal_may_narrow(removed):
                width_dirty = self._recompute_widths() or width_dirty
            order = self._sorted(natural)
            if removed or added or order != self._order:
                self._restructure(removed, added, order)
            elif width_dirty:
                self._sync_widths()

    # ---- internals (private DataTable state; see module doc) ------------------------------

    def _column_keys(self) -> list[Any]:
        return [self._column_locations.get_key(i) for i in range(len(self.columns))]

    def _bump(self) -> None:
        self._update_count += 1
        self.refresh()

    def _widen(self, rows: list[tuple[Cell, ...]]) -> bool:
        widths = self._widths
        caps = [self._max_widths.get(k, DEFAULT_MAX_WIDTH) for k, _ in self._shown]
        dirty = False
        for cells in rows:
            for ci, src in enumerate(self._pick):
                w = len(cells[src].text)
                if w > widths[ci] and widths[ci] < caps[ci]:
                    w = min(cell_len(cells[src].text), caps[ci])
                    if w > widths[ci]:
                        widths[ci] = w
                        dirty = True
        return dirty

    def _removal_may_narrow(self, removed: list[str]) -> bool:
        # Columns never shrink on a few removals (a column that stays a little roomy is harmless and
        # re-measuring 10k rows for every deleted pod is not); when a large share of the rows went
        # away (a filter, a namespace switch) the widths are recomputed from the remaining rows.
        return len(removed) * 4 >= len(removed) + len(self._memo)

    def _recompute_widths(self) -> bool:
        before = list(self._widths)
        self._widths = [cell_len(h) for _, h in self._shown]
        self._widen(list(self._memo.values()))
        return before != self._widths

    def _sync_widths(self) -> None:
        for col, w in zip(self.ordered_columns, self._widths):
            col.content_width = w
        self._require_update_dimensions = True
        self._update_virtual_size()
        self._bump()

    def _update_virtual_size(self) -> None:
        width = sum(c.get_render_width(self) for c in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, len(self._order) + header)

    def _restructure(self, removed: list[str], added: list[str], order: list[str]) -> None:
        """Bulk remove/add rows and re-index positions once; keep the cursor on its key."""
        old_key = self.cursor_key
        old_row = self.cursor_row
        offset = old_row - int(self.scroll_y)

        cols = self._column_keys()
        for key in removed:
            rk = self._rk.pop(key)
            self.rows.pop(rk, None)
            self._data.pop(rk, None)
            self._new_rows.discard(rk)
        for key in added:
            rk = RowKey(key)
            self._rk[key] = rk
            cells = self._memo[key]
            self._data[rk] = {ck: self._render(cells[src]) for ck, src in zip(cols, self._pick)}
            self.rows[rk] = Row(rk, 1)
        rks = self._rk
        self._row_locations = TwoWayDict({rks[k]: i for i, k in enumerate(order)})
        self._order = order
        for col, w in zip(self.ordered_columns, self._widths):
            col.content_width = w
        self._update_count += 1
        self._update_virtual_size()
        self._require_update_dimensions = True
        self.check_idle()
        self.refresh()

        if not order:
            self.cursor_coordinate = Coordinate(0, self.cursor_column)
            return
        if old_key is not None and old_key in rks:
            new_row = order.index(old_key) if order[min(old_row, len(order) - 1)] != old_key else old_row
        else:
            new_row = min(max(old_row, 0), len(order) - 1)
        target = max(0, new_row - offset)
        if int(self.scroll_y) != target:
            self.scroll_to(y=target, animate=False, immediate=True, force=True)
        self.cursor_coordinate = Coordinate(new_row, self.cursor_column)
