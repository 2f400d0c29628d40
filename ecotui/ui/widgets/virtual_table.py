"""A DataTable whose rows live in one dict and one list, with the all-rows work made O(1) or O(visible).

DataTable keeps, for every row, a `RowKey`, a `Row`, a dict of cell renderables and a `TwoWayDict` entry,
walks all rows to find a row's position or screen offset, and re-renders the whole viewport after any
change (`_update_count` is part of every render-cache key). `VirtualTable` keeps `key -> cells` (`_memo`)
and the keys in display order (`_order`); virtual_rows.py presents those as the per-row attributes
DataTable reads, so row objects exist only for the rows being drawn. On top of that:

* positions come from bisection in the display order (`_display_key`), not from a rebuilt index;
* `_get_offsets`, `_get_row_region`, `_get_cell_region` and page up/down are O(1) (one-line rows);
* `_redraw(keys)` re-renders only those rows: their entries are dropped from DataTable's four render
  caches and their regions refreshed, instead of bumping `_update_count`;
* `_restructure(order)` keeps the cursor on its key at the same distance from the top of the view, and
  re-renders nothing if no row on screen moved (rows added or removed further down);
* the render caches are sized for a viewport, and emptied without leaving cyclic garbage.

Private DataTable state used: `_data`, `rows`, `_row_locations`, `_y_offsets`, `_get_offsets`,
`_update_count`, `_require_update_dimensions`, `_cell_render_cache`, `_row_render_cache`,
`_row_renderable_cache`, `_line_cache` (and textual.cache.LRUCache's `_cache`). Textual is pinned to 8.2.x;
tests/ui/test_resource_table.py and test_virtual_table.py check the behaviour.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

from ecotui.kube.render import Cell
from ecotui.ui.widgets.virtual_rows import CellView, Locations, Offsets, OrderedRows, RowData, RowMeta

CELL_CACHE = 1500       # rendered cells kept (a 100-line viewport x 9 columns needs ~900)
LINE_CACHE = 300        # rendered rows / lines kept
_REDRAW_ROWS_MAX = 40   # more changed rows than this at once: re-render the viewport instead


class VirtualTable(DataTable):
    """Subclasses fill `_memo` / `_order` and call `_restructure`, `_redraw`; they provide `_cell_view`
    (cell -> CellView), `_pick` (source index of each shown column) and `_column_keys()`."""

    def __init__(self, **kwargs: Any) -> None:
        # our row state exists before DataTable.__init__ (its cursor watchers already read rows)
        self._memo: dict[str, tuple[Cell, ...]] = {}   # key -> cells (all columns)
        self._order: list[str] = []                     # keys in display order
        self._pos: dict[str, int] | None = None         # key -> position, only if bisection cannot work
        self._views: dict[str, dict[Any, CellView]] = {}
        self._pick: list[int] = []
        super().__init__(**kwargs)
        # DataTable sizes its render caches for any table (10k cells, 1k rows/lines); these only ever
        # need the viewport's rows. Their entries are many small GC-tracked objects, so keep them few.
        self._cell_render_cache = LRUCache(CELL_CACHE)
        self._row_render_cache = LRUCache(LINE_CACHE)
        self._row_renderable_cache = LRUCache(LINE_CACHE)
        self._line_cache = LRUCache(LINE_CACHE)
        self._virtualize()

    def _virtualize(self) -> None:
        # DataTable declares these as dicts; the stand-ins are read-only Mappings over our own state
        self._data = RowData(self)  # type: ignore[assignment]
        self.rows = RowMeta(self)  # type: ignore[assignment]
        self._row_locations = Locations(self)

    def clear(self, columns: bool = False) -> "VirtualTable":
        self._memo.clear()
        self._order = []
        self._pos = None
        self._views.clear()
        super().clear(columns)
        self._virtualize()
        return self

    # ---- hooks for subclasses ---------------------------------------------------------------

    def _cell_view(self, cell: Cell) -> CellView:
        return CellView(cell.text, None)

    def _column_keys(self) -> list[Any]:
        return [self._column_locations.get_key(i) for i in range(len(self.columns))]

    def _display_key(self) -> Callable[[str], Any] | None:
        """A key function `_order` is sorted by (for bisection), or None."""
        return None

    def _apply_widths(self) -> None:
        """Called when the rows changed structurally: set the columns' content widths."""

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

    def _position(self, key: Any) -> int | None:
        """Display position of a row: by bisection in the display order (O(log n), no index to rebuild
        after each change), or from a key -> position map if the sort values do not compare."""
        if self._pos is None and key in self._memo:
            order, by = self._order, self._display_key()
            try:
                i = bisect_left(order, by(key), key=by) if by is not None else -1
            except TypeError:
                i = -1
            if 0 <= i < len(order) and order[i] == key:
                return i
            self._pos = {k: i for i, k in enumerate(order)}
        return self._pos.get(key) if self._pos is not None else None

    def move_to_key(self, key: str) -> bool:
        row = self._position(key)
        if row is None:
            return False
        self.move_cursor(row=row)
        return True

    # ---- rendering ------------------------------------------------------------------------

    def _bump(self) -> None:
        self._update_count += 1
        self._drop_render_caches()
        self.refresh()

    def _render_caches(self) -> tuple[LRUCache, ...]:
        return self._cell_render_cache, self._row_render_cache, self._row_renderable_cache, self._line_cache

    def _drop_render_caches(self) -> None:
        """After `_update_count` moved every cached render is unreachable (it is part of their keys):
        free them now rather than when the LRU evicts them. LRUCache keeps its entries in a circular
        linked list, and `clear()` alone would leave that ring as cyclic garbage (tens of thousands of
        Segments for a full collection to find), so the links are cut first."""
        for cache in self._render_caches():
            for link in cache._cache.values():
                link.clear()
            cache.clear()

    def _keep_visible_renders(self, top: int, bottom: int) -> None:
        """Rows moved, but none on screen: keep the cached renders of the visible rows, drop the rest
        (cached renders carry their row's position, which may have changed)."""
        header = self.header_height if self.show_header else 0
        names = set(self._order[top:bottom])
        caches: tuple[tuple[LRUCache[Any, Any], Callable[[Any], bool]], ...] = (
            (self._cell_render_cache, lambda ck: getattr(ck[0], "value", None) in names),
            (self._row_render_cache, lambda ck: getattr(ck[0], "value", None) in names),
            (self._row_renderable_cache, lambda ck: top <= ck[1] < bottom),
            (self._line_cache, lambda ck: top + header <= ck[0] < bottom + header))
        for cache, keep in caches:
            for ck in [ck for ck in cache.keys() if not keep(ck)]:
                cache.discard(ck)

    def _redraw(self, keys: list[str]) -> None:
        """Re-render only these rows: drop their entries from DataTable's render caches (keyed by row
        key or by position) and repaint the visible ones."""
        if len(keys) > _REDRAW_ROWS_MAX:
            self._bump()
            return
        header = self.header_height if self.show_header else 0
        names = set(keys)
        rows = {p for p in (self._position(k) for k in keys) if p is not None}
        lines = {r + header for r in rows}
        caches: tuple[tuple[LRUCache[Any, Any], int, set[Any]], ...] = (
            (self._cell_render_cache, 0, names), (self._row_render_cache, 0, names),
            (self._row_renderable_cache, 1, rows), (self._line_cache, 0, lines))
        for cache, pick, wanted in caches:
            if not cache:
                continue
            if pick == 0 and wanted is names:
                stale = [ck for ck in cache.keys() if getattr(ck[0], "value", None) in names]
            else:
                stale = [ck for ck in cache.keys() if ck[pick] in wanted]
            for ck in stale:
                cache.discard(ck)
        top = int(self.scroll_y)
        bottom = top + max(self.size.height, 1)
        for r in rows:
            if top <= r < bottom:
                self.refresh_row(r)

    def _update_virtual_size(self) -> None:
        width = sum(c.get_render_width(self) for c in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, len(self._order) + header)

    def _restructure(self, order: list[str], redraw_all: bool = False) -> None:
        """Show `order`; keep the cursor on its key at the same distance from the top of the view.
        `redraw_all`: something else changed every row's look (column widths)."""
        old = self._order
        old_key = self.cursor_key
        old_row = self.cursor_row
        top = int(self.scroll_y)
        bottom = top + max(self.size.height, 1)
        offset = old_row - top
        self._order = order
        self._pos = None
        self._apply_widths()
        if not order:
            new_row = target = 0
        elif old_key is not None and old_key in self._memo:
            new_row = old_row if old_row < len(order) and order[old_row] == old_key else order.index(old_key)
            target = max(0, new_row - offset)
        else:
            new_row = min(max(old_row, 0), len(order) - 1)
            target = max(0, new_row - offset)
        if not redraw_all and new_row == old_row and target == top and old[:bottom] == order[:bottom]:
            self._keep_visible_renders(top, bottom)    # nothing on screen moved: no re-render
        else:
            self._update_count += 1
            self._drop_render_caches()
        self._update_virtual_size()
        self._require_update_dimensions = True
        self.check_idle()
        self.refresh()
        if target != top:
            self.scroll_to(y=target, animate=False, immediate=True, force=True)
        if self.cursor_coordinate.row != new_row:
            self.cursor_coordinate = Coordinate(new_row, self.cursor_column)

    # ---- DataTable's all-rows walks, O(1) with one-line rows --------------------------------

    @property
    def ordered_rows(self) -> OrderedRows:  # type: ignore[override]
        return OrderedRows(self._order)

    @property
    def _y_offsets(self) -> Offsets:  # type: ignore[override]
        return Offsets(self._order)

    @property
    def _total_row_height(self) -> int:
        return len(self._order)

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if self.show_header:
            if y < self.header_height:
                return self._header_row_key, y
            y -= self.header_height
        if not 0 <= y < len(self._order):
            raise LookupError(f"Y coord {y!r} is greater than total height")
        return RowKey(self._order[y]), 0

    def _row_y(self, row_index: int) -> int:
        return row_index + (self.header_height if self.show_header else 0)

    def _get_row_region(self, row_index: int) -> Region:
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        return Region(0, self._row_y(row_index), max(self.size.width, width), 1)

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        row_index, column_index = coordinate
        cols = self.ordered_columns
        x = sum(c.get_render_width(self) for c in cols[:column_index]) + self._row_label_column_width
        return Region(x, self._row_y(row_index), cols[column_index].get_render_width(self), 1)

    def _page_height(self) -> int:
        return self.scrollable_content_region.height - (self.header_height if self.show_header else 0)

    def action_page_down(self) -> None:
        self._set_hover_cursor(False)
        if self.show_cursor and self.cursor_type in ("cell", "row"):
            height = self._page_height()
            row = self.cursor_coordinate.row
            target = row + min(height + 1, max(len(self._order) - row, 1)) - 1
            self.scroll_relative(y=height, animate=False, force=True)
            self.move_cursor(row=target, scroll=False)
        else:
            super().action_page_down()

    def action_page_up(self) -> None:
        self._set_hover_cursor(False)
        if self.show_cursor and self.cursor_type in ("cell", "row"):
            height = self._page_height()
            row = self.cursor_coordinate.row
            target = row - min(height + 1, row + 1) + 1
            self.scroll_relative(y=-height, animate=False)
            self.move_cursor(row=target, scroll=False)
        else:
            super().action_page_up()
