"""From snapshot items to table rows, incrementally (no Textual here; unit-testable).

`PaneRows` keeps, per snapshot key, the struct it last rendered and the cells it produced. Because
snapshot structs are replaced and never mutated, `obj is cached_obj` tells that a row is unchanged,
so a diff over 10k pods costs one dict walk plus work for the changed rows only. It also applies the
pane's `/` filter (text or label selector, cached per row) and an optional extra predicate
(the node → pods drill-down).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from ecotui.kube.render import Cell
from ecotui.kube.selector import Filter, parse_filter

T = TypeVar("T")
Cells = tuple[Cell, ...]


def _labels(obj: Any) -> Mapping[str, str]:
    md = getattr(obj, "metadata", None)
    return getattr(md, "labels", None) or {}


class _Entry:
    __slots__ = ("obj", "token", "cells", "match_gen", "match")

    def __init__(self, obj: Any, token: Hashable, cells: Cells) -> None:
        self.obj = obj
        self.token = token
        self.cells = cells
        self.match_gen = -1
        self.match = True


class PaneRows(Generic[T]):
    """Rows of one pane. `cells(obj, now)` renders one row; `token(key, obj)` is any extra input
    that changes the row besides the struct itself (e.g. a node's pod count)."""

    def __init__(
        self,
        cells: Callable[[T, float], Cells],
        *,
        token: Callable[[str, T], Hashable] | None = None,
        labels: Callable[[T], Mapping[str, str]] = _labels,
    ) -> None:
        self._cells_fn = cells
        self._token_fn = token
        self._labels_fn = labels
        self._cache: dict[str, _Entry] = {}
        self._filter: Filter = parse_filter("")
        self._gen = 0

    # ---- filter ---------------------------------------------------------------------------

    @property
    def filter(self) -> Filter:
        return self._filter

    @property
    def generation(self) -> int:
        """Changes whenever the filter changes."""
        return self._gen

    def set_filter(self, text: str) -> Filter:
        """Parse and set the filter; raises ValueError (one line) for a bad selector."""
        f = parse_filter(text)
        self._filter = f
        self._gen += 1
        return f

    def clear_filter(self) -> None:
        self._filter = parse_filter("")
        self._gen += 1

    # ---- rows -----------------------------------------------------------------------------

    def rows(
        self,
        items: Mapping[str, T],
        now: float,
        order: Iterable[str] | None = None,
        where: Callable[[T], bool] | None = None,
        fresh: Iterable[str] = (),
    ) -> dict[str, Cells]:
        """Rows to show, in `order` (default: sorted keys). `fresh` keys are re-rendered even when
        unchanged (AGE text of the visible rows)."""
        cache = self._cache
        token_fn = self._token_fn
        cells_fn = self._cells_fn
        for key in fresh:
            e = cache.get(key)
            obj = items.get(key)
            if e is not None and obj is not None:
                new = cells_fn(obj, now)
                if new != e.cells:
                    e.cells = new
                    e.match_gen = -1
        out: dict[str, Cells] = {}
        f = self._filter
        active = f.active
        gen = self._gen
        keys = order if order is not None else sorted(items)
        seen = 0
        for key in keys:
            obj = items.get(key)
            if obj is None:
                continue
            seen += 1
            tok = token_fn(key, obj) if token_fn is not None else None
            e = cache.get(key)
            if e is None or e.obj is not obj or e.token != tok:
                cells = cells_fn(obj, now)
                if e is None:
                    e = cache[key] = _Entry(obj, tok, cells)
                else:
                    if cells != e.cells:
                        e.cells = cells
                        e.match_gen = -1
                    e.obj, e.token = obj, tok
            if where is not None and not where(obj):
                continue
            if active:
                if e.match_gen != gen:
                    e.match = f.matches(self._labels_fn(obj), " ".join(c.text for c in e.cells))
                    e.match_gen = gen
                if not e.match:
                    continue
            out[key] = e.cells
        if len(cache) > seen:
            for key in [k for k in cache if k not in items]:
                del cache[key]
        return out

    def cells_of(self, key: str) -> Cells | None:
        e = self._cache.get(key)
        return e.cells if e is not None else None
