"""Stand-ins for DataTable's per-row storage, computed from ResourceTable's own state on demand.

DataTable keeps, for every row, a `RowKey`, a `Row`, a dict of cell renderables and a `TwoWayDict` entry,
and walks all rows to find a row's position or screen offset. At 13k pods that is ~100k GC-tracked objects
(full collections of ~0.3 s) and O(rows) work on every cursor move after a change. ResourceTable instead
keeps one dict `key -> cells` and one list of keys in display order; the classes below present that as
the mappings DataTable reads (`_data`, `rows`, `_row_locations`, `ordered_rows`, `_y_offsets`), building
`RowKey`/`Row`/cell objects only for the rows DataTable actually asks for — the visible ones.

They only support what DataTable does with those attributes for a table that is never changed through
`add_row`/`remove_row`/`update_cell` (ResourceTable changes rows with `apply`/`apply_changes` only).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets._data_table import Row, RowKey, StringKey

if TYPE_CHECKING:
    from ecotui.ui.widgets.virtual_table import VirtualTable

VIEW_CACHE_ROWS = 2048   # rows whose cell objects are kept (the visible ones, and get_cell callers')


class CellView:
    """What DataTable renders per cell: the Rich Text is built only when the cell is drawn."""

    __slots__ = ("text", "style")

    def __init__(self, text: str, style: Style | None) -> None:
        self.text = text
        self.style = style

    def __rich__(self) -> Text:
        return Text(self.text, style=self.style or "", no_wrap=True, end="", overflow="ellipsis")

    def __str__(self) -> str:
        return self.text


def _value(key: Any) -> Any:
    return key.value if isinstance(key, StringKey) else key


class _RowKeys:
    """The key-set side shared by the stand-ins: the table's rows, as RowKeys in display order."""

    _t: "VirtualTable"

    def __contains__(self, key: object) -> bool:
        k = _value(key)
        return k is not None and k in self._t._memo

    def __len__(self) -> int:
        return len(self._t._order)

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(k) for k in self._t._order)


class RowData(_RowKeys, Mapping[Any, Mapping[Any, CellView]]):
    """`DataTable._data`: row key -> {column key: CellView}, built on demand and cached per row."""

    def __init__(self, table: "VirtualTable") -> None:
        self._t = table

    def __getitem__(self, key: Any) -> Mapping[Any, CellView]:
        t = self._t
        k = _value(key)
        views = t._views.get(k)
        if views is None:
            cells = t._memo[k]   # KeyError for unknown rows, as a dict would
            views = {ck: t._cell_view(cells[src]) for ck, src in zip(t._column_keys(), t._pick)}
            if len(t._views) >= VIEW_CACHE_ROWS:
                t._views.clear()
            t._views[k] = views
        return views

    def clear(self) -> None:
        self._t._views.clear()


class RowMeta(_RowKeys, Mapping[Any, Row]):
    """`DataTable.rows`: row key -> Row (every row is one line high)."""

    def __init__(self, table: "VirtualTable") -> None:
        self._t = table

    def __getitem__(self, key: Any) -> Row:
        k = _value(key)
        if k is None or k not in self._t._memo:
            raise KeyError(key)
        return Row(key if isinstance(key, RowKey) else RowKey(k), 1)

    def clear(self) -> None:
        pass


class Locations(_RowKeys, TwoWayDict):
    """`DataTable._row_locations`: row key <-> position in the display order."""

    def __init__(self, table: "VirtualTable") -> None:  # noqa: D107 - no dicts of its own
        self._t = table

    def get(self, key: Any) -> int | None:
        return self._t._position(_value(key))

    def get_key(self, value: Any) -> RowKey | None:
        order = self._t._order
        if isinstance(value, int) and 0 <= value < len(order):
            return RowKey(order[value])
        return None

    def contains_value(self, value: Any) -> bool:
        return isinstance(value, int) and 0 <= value < len(self._t._order)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("ResourceTable rows change through apply()/apply_changes() only")

    def __delitem__(self, key: Any) -> None:
        raise TypeError("ResourceTable rows change through apply()/apply_changes() only")


class OrderedRows(Sequence[Row]):
    """`DataTable.ordered_rows`: Rows in display order, made only for the indexes asked for."""

    def __init__(self, order: list[str]) -> None:
        self._order = order

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [Row(RowKey(k), 1) for k in self._order[index]]
        return Row(RowKey(self._order[index]), 1)


class Offsets(Sequence[tuple[RowKey, int]]):
    """`DataTable._y_offsets`: (row key, line within the row) per line; one line per row."""

    def __init__(self, order: list[str]) -> None:
        self._order = order

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [(RowKey(k), 0) for k in self._order[index]]
        return (RowKey(self._order[index]), 0)

    def clear(self) -> None:
        pass
