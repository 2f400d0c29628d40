"""A table of Kubernetes rows that applies keyed diffs: it never clears, and the cursor stays on its row.

Two ways in:

* `apply_changes(upserts, removed, natural)` — the incremental path the cockpit uses: only the rows that
  changed. Rows are kept in their natural order (the `natural` key of each row, default the row key) and,
  when the user sorts by a column, in that order too, both by bisection; a change that only rewrites cells
  redraws just those rows. Work is O(changes), apart from list inserts (memmove) and one filtering pass
  over the key list when rows go away.
* `apply({key: cells})` — show exactly these rows in this order (O(rows); simple callers and tests).

After a structural change the cursor stays on the same row key at the same distance from the top of the
viewport (see `VirtualTable`, which also keeps DataTable's per-row storage virtual). Column widths are
tracked here from the plain cell text, so DataTable never measures rows.
"""
from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self

from rich.cells import cell_len
from rich.style import Style
from textual.message import Message
from textual.widgets import DataTable

from ecotui.kube.render import Cell
from ecotui.ui.widgets.virtual_rows import CellView
from ecotui.ui.widgets.virtual_table import VirtualTable

Cells = Sequence[Cell]
DEFAULT_MAX_WIDTH = 48


class _Desc:
    """Reverses the order of a sort value (bisect needs one ascending key)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v

    def __lt__(self, other: "_Desc") -> bool:
        return other.v < self.v


def _resorted(keys: list[str], drop: set[str], add: list[str], key: Callable[[str], Any]) -> list[str]:
    """A new list: `keys` (sorted by `key`) without `drop`, with `add` inserted in order."""
    out = [k for k in keys if k not in drop] if drop else list(keys)
    if len(add) > 32 and len(add) * 16 > len(out):
        out.extend(add)
        out.sort(key=key)
        return out
    for k in add:
        insort(out, k, key=key)
    return out


class ResourceTable(VirtualTable):
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
        self._max_widths = dict(max_widths or {})
        self._styles: dict[str, Style] = dict(styles or {})
        self._nat: dict[str, Any] = {}                  # key -> natural sort key
        self._natural: list[str] = []                   # keys in natural order
        self._colkeys: list[Any] = []
        self.sort_column: int | None = None             # index into the shown columns
        self.sort_reverse = False
        self.marked: set[str] = set()                   # keys of marked rows (selection for actions)
        super().__init__(cursor_type="row", id=id)
        self._set_columns_spec(columns, pick)

    def clear(self, columns: bool = False) -> "ResourceTable":
        self.marked = set()
        self._nat.clear()
        self._natural = []
        super().clear(columns)
        if columns:
            self._colkeys = []
        return self

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
        self._colkeys = [self._column_locations.get_key(i) for i in range(len(self.columns))]

    def set_columns(self, columns: Sequence[tuple[str, str]], pick: Sequence[int] | None = None) -> None:
        """Change the shown columns (e.g. hide NAMESPACE); keeps the rows (re-adds them)."""
        new_pick = list(pick) if pick is not None else list(range(len(columns)))
        if list(columns) == self._all_columns and new_pick == self._pick:
            return
        rows = {k: self._memo[k] for k in self._natural}
        nat = dict(self._nat)
        cursor = self.cursor_key
        self.clear(columns=True)
        self.sort_column = None
        self._set_columns_spec(columns, new_pick)
        self._add_columns()
        self._apply(rows, (), nat)
        if cursor is not None:
            self.move_to_key(cursor)

    @property
    def columns_spec(self) -> list[tuple[str, str]]:
        """Every column the rows carry (some may be hidden: see `shown_columns`)."""
        return list(self._all_columns)

    @property
    def shown_columns(self) -> list[tuple[str, str]]:
        return list(self._shown)

    # ---- queries --------------------------------------------------------------------------

    @property
    def sort_label(self) -> str:
        if self.sort_column is None:
            return ""
        arrow = "↓" if self.sort_reverse else "↑"
        return f"{self._shown[self.sort_column][1]}{arrow}"

    # ---- styles ---------------------------------------------------------------------------

    def set_cell_styles(self, styles: Mapping[str, Style]) -> None:
        """New semantic colours (theme change): cells are re-made from the new styles when drawn."""
        self._styles = dict(styles)
        self._views.clear()
        self._bump()

    def set_styles(self, css: str | Mapping[str, Style] | None = None, **update_styles: Any) -> Self:
        """Textual's `DOMNode.set_styles` (CSS, e.g. from `DOMQuery.set_styles`); given a mapping of
        semantic styles, `set_cell_styles` (the older name of this table's own method)."""
        if isinstance(css, Mapping):
            self.set_cell_styles(css)
            return self
        return super().set_styles(css, **update_styles)

    def _cell_view(self, cell: Cell) -> CellView:
        return CellView(cell.text, self._styles.get(cell.style) if cell.style else None)

    def _column_keys(self) -> list[Any]:
        return self._colkeys

    def _display_key(self) -> Callable[[str], Any]:
        return self._nat.__getitem__ if self.sort_column is None else self._sort_key()

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
                self._restructure(order)
        self.post_message(self.SortChanged(self))

    def _sorted(self, keys: list[str]) -> list[str]:
        """`keys` (in natural order) in display order: a stable sort on the sort column."""
        if self.sort_column is None:
            return keys
        src = self._pick[self.sort_column]
        memo = self._memo
        try:
            return sorted(keys, key=lambda k: memo[k][src].sort, reverse=self.sort_reverse)
        except TypeError:   # mixed types in one column: fall back to (type, text)
            return sorted(keys, key=lambda k: (type(memo[k][src].sort).__name__, memo[k][src].text),
                          reverse=self.sort_reverse)

    def _sort_key(self) -> Callable[[str], Any]:
        """The display order as one ascending key (sort value, then natural order)."""
        src = self._pick[self.sort_column]  # type: ignore[index]
        memo, nat = self._memo, self._nat
        if self.sort_reverse:
            return lambda k: (_Desc(memo[k][src].sort), nat[k])
        return lambda k: (memo[k][src].sort, nat[k])

    # ---- the keyed diff -------------------------------------------------------------------

    def apply(self, rows: Mapping[str, Cells]) -> None:
        """Make the table show exactly `rows` (in this order unless a sort column is chosen)."""
        removed = [k for k in self._memo if k not in rows]
        given = list(rows)
        natural = {k: i for i, k in enumerate(given)}
        self._apply(rows, removed, natural, given if given != self._natural else None)

    def apply_changes(self, upserts: Mapping[str, Cells], removed: Iterable[str] = (),
                      natural: Mapping[str, Any] | None = None) -> None:
        """Add or update `upserts` and drop `removed`. `natural` gives the natural sort key of upserted
        rows (default: the row key); keys must be unique and mutually comparable."""
        self._apply(upserts, removed, natural)

    def _apply(self, upserts: Mapping[str, Cells], removed: Iterable[str], natural: Mapping[str, Any] | None,
               given: list[str] | None = None) -> None:
        memo, nat, views = self._memo, self._nat, self._views
        if not self.columns:
            self._add_columns()
        gone = [k for k in removed if k in memo]
        for k in gone:
            del memo[k]
            nat.pop(k, None)
            views.pop(k, None)
            self.marked.discard(k)
        sort_src = self._pick[self.sort_column] if self.sort_column is not None else -1
        pick = self._pick
        added: list[str] = []
        moved: list[str] = []      # natural key changed
        resort: list[str] = []     # sort-column value changed
        redraw: list[str] = []     # shown text or style changed
        for key, cells in upserts.items():
            old = memo.get(key)
            nk = natural.get(key, key) if natural is not None else key
            if old is None:
                memo[key] = tuple(cells)
                nat[key] = nk
                added.append(key)
                continue
            if nat[key] != nk:
                nat[key] = nk
                moved.append(key)
            if old is cells or old == cells:
                continue
            memo[key] = tuple(cells)
            for src in pick:
                c, o = cells[src], old[src]
                if c.text != o.text or c.style != o.style:
                    redraw.append(key)
                    views.pop(key, None)
                    break
            if sort_src >= 0 and cells[sort_src].sort != old[sort_src].sort:
                resort.append(key)

        order = self._order
        if given is not None:
            self._natural = given
            order = self._sorted(given)
        else:
            if gone or added or moved:
                self._natural = self._reordered(self._natural, gone, added, moved, nat.__getitem__)
                if self.sort_column is None:
                    order = self._natural
            if self.sort_column is not None and (gone or added or moved or resort):
                order = self._reordered(order, gone, added, moved + resort, self._sort_key())
        changed_order = order is not self._order and order != self._order
        if not (gone or added or redraw or changed_order):
            return

        with self.app.batch_update():
            width_dirty = self._widen([memo[k] for k in added] + [memo[k] for k in redraw])
            if gone and self._removal_may_narrow(gone):
                width_dirty = self._recompute_widths() or width_dirty
            if changed_order:
                self._restructure(order, redraw_all=width_dirty)
                if redraw and not width_dirty:
                    self._redraw(redraw)       # the restructure kept the visible rows' renders
            elif width_dirty:
                self._sync_widths()
            elif redraw:
                self._redraw(redraw)

    # ---- marks (the selection actions apply to) ---------------------------------------------

    MARK_STYLE = Style(reverse=True, bold=True)

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style = super()._get_row_style(row_index, base_style)
        if self.marked and 0 <= row_index < len(self._order) and self._order[row_index] in self.marked:
            return style + self.MARK_STYLE
        return style

    def toggle_mark(self, key: str | None = None) -> bool:
        """Mark or unmark a row (default: the cursor's); True if it is now marked."""
        key = key if key is not None else self.cursor_key
        if key is None or key not in self._memo:
            return False
        now = key not in self.marked
        (self.marked.add if now else self.marked.discard)(key)
        self._redraw([key])
        return now

    def mark_all(self) -> None:
        """Mark every row shown (the filter decides what is shown)."""
        self.marked = set(self._order)
        self._bump()

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = set()
            self._bump()

    def selection(self) -> list[str]:
        """The keys an action applies to: the marked rows in display order, else the row under the cursor."""
        if self.marked:
            return [k for k in self._order if k in self.marked]
        key = self.cursor_key
        return [key] if key is not None else []

    def _reordered(self, keys: list[str], gone: list[str], added: list[str], changed: list[str],
                   key: Callable[[str], Any]) -> list[str]:
        """`keys` without `gone`, with `added` and `changed` (re)inserted at their place; a full sort if
        the sort values cannot be compared (mixed types)."""
        try:
            return _resorted(keys, set(gone) | set(changed), list(dict.fromkeys(added + changed)), key)
        except TypeError:
            if keys is self._natural or self.sort_column is None:
                return sorted(self._memo, key=lambda k: (type(self._nat[k]).__name__, repr(self._nat[k])))
            return self._sorted(self._natural)

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

    def _apply_widths(self) -> None:
        for col, w in zip(self.ordered_columns, self._widths):
            col.content_width = w

    def _sync_widths(self) -> None:
        self._apply_widths()
        self._require_update_dimensions = True
        self._update_virtual_size()
        self._bump()

