"""From snapshot items to table rows, incrementally (no Textual here; unit-testable).

`PaneRows.diff(items, now, ...)` compares the snapshot mapping with the one it saw last. Snapshot structs
are replaced, never mutated, so `items[k] is last[k]` tells that a row is unchanged: one pass of identity
checks over the mapping, then work only for the changed keys — their cells are rendered again, the `/`
filter (text or label selector, cached per row) and the optional extra predicate (`where`, the node → pods
drill-down) decide whether they are shown. The result (`RowChanges`) is what the table has to add, update
or drop. Changing the filter or the `view` (what `where` depends on) re-evaluates every row once, with
cells reused.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ecotui.kube.render import Cell, counted_on, event_time
from ecotui.kube.selector import Filter, parse_filter

T = TypeVar("T")
Cells = tuple[Cell, ...]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _labels(obj: Any) -> Mapping[str, str]:
    md = getattr(obj, "metadata", None)
    return getattr(md, "labels", None) or {}


@dataclass
class RowChanges:
    """What changed since the previous `diff` call.

    upserts/removed/natural: for the table (rows to add or update, rows to drop, natural sort keys of the
    upserts when the pane has an `order_key`). changed/gone/previous: the snapshot-level change (keys whose
    struct was added or replaced, keys deleted, and the mapping they are relative to), for callers that
    keep their own aggregates (pod counts per node)."""

    upserts: dict[str, Cells] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    natural: dict[str, Any] | None = None
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    previous: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


class PaneRows(Generic[T]):
    """Rows of one pane. `cells(obj, now)` renders one row; `token(key, obj)` is any extra input that
    changes the row besides the struct itself (e.g. a node's pod count: pass such keys as `dirty`);
    `order_key(key, obj)` is the natural sort key of a row (default: the key)."""

    def __init__(
        self,
        cells: Callable[[T, float], Cells],
        *,
        token: Callable[[str, T], Hashable] | None = None,
        labels: Callable[[T], Mapping[str, str]] = _labels,
        order_key: Callable[[str, T], Any] | None = None,
    ) -> None:
        self._cells_fn = cells
        self._token_fn = token
        self._labels_fn = labels
        self._order_fn = order_key
        self._items: Mapping[str, T] = _EMPTY
        self._cells: dict[str, Cells] = {}
        self._tokens: dict[str, Hashable] = {}
        self._match: dict[str, bool] = {}
        self._shown: set[str] = set()
        self._filter: Filter = parse_filter("")
        self._gen = 0
        self._seen_view: tuple[Any, int] | None = None

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
        self._match.clear()
        return f

    def clear_filter(self) -> None:
        self._filter = parse_filter("")
        self._gen += 1
        self._match.clear()

    # ---- rows -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything seen: the next `diff` treats every item as new."""
        self._items = _EMPTY
        self._cells.clear()
        self._tokens.clear()
        self._match.clear()
        self._shown.clear()
        self._seen_view = None

    @property
    def shown(self) -> int:
        """How many rows the last `diff` left shown."""
        return len(self._shown)

    def diff(
        self,
        items: Mapping[str, T],
        now: float,
        *,
        where: Callable[[T], bool] | None = None,
        view: Hashable = None,
        dirty: Iterable[str] = (),
        fresh: Iterable[str] = (),
    ) -> RowChanges:
        """Changes since the last call. `items` must not be mutated afterwards (snapshots never are): the
        next call compares against it. `where` filters rows besides the `/` filter; pass a new `view`
        whenever `where` starts answering differently. `dirty` keys are rendered again if their token
        changed; `fresh` keys are rendered again regardless (AGE text of the visible rows)."""
        prev = self._items
        out = RowChanges(previous=prev)
        if prev is not items:
            if not prev:
                out.changed = list(items)
            elif items:
                pget = prev.get
                out.changed = [k for k, v in items.items() if pget(k) is not v]
                added = sum(1 for k in out.changed if k not in prev)
                if len(prev) + added != len(items):
                    out.gone = [k for k in prev if k not in items]
            else:
                out.gone = list(prev)
            self._items = items
        view_key = (view, self._gen)
        full = view_key != self._seen_view
        self._seen_view = view_key

        cells, tokens, match, shown = self._cells, self._tokens, self._match, self._shown
        for k in out.gone:
            cells.pop(k, None)
            tokens.pop(k, None)
            match.pop(k, None)
            if k in shown:
                shown.discard(k)
                out.removed.append(k)

        cells_fn, token_fn, order_fn = self._cells_fn, self._token_fn, self._order_fn
        natural: dict[str, Any] | None = {} if order_fn is not None else None
        todo = dict.fromkeys(out.changed, True)
        for k in dirty:
            if k in items and k not in todo:
                todo[k] = False
        for k in fresh:
            if k in items and k in cells:
                todo[k] = True
        for k, must in todo.items():
            obj = items[k]
            old = cells.get(k)
            if must:
                match.pop(k, None)   # a new struct (labels may differ) or new cells
            if token_fn is not None:
                tok = token_fn(k, obj)
                if tok != tokens.get(k, _EMPTY):
                    tokens[k] = tok
                    must = True
            same = old is not None
            if must or old is None:
                new = cells_fn(obj, now)
                if old is not None and new == old:
                    new = old
                else:
                    cells[k] = new
                    match.pop(k, None)
                    same = False
            # unchanged cells of a shown row: nothing for the table, unless its natural order may move
            self._place(k, obj, where, out, natural, only_changes=same and natural is None)
        if full:
            for k, obj in items.items():
                if k not in todo:
                    self._place(k, obj, where, out, natural, only_changes=True)
        out.natural = natural
        return out

    def _place(self, key: str, obj: T, where: Callable[[T], bool] | None, out: RowChanges,
               natural: dict[str, Any] | None, only_changes: bool = False) -> None:
        """Show or hide one row according to `where` and the filter."""
        visible = where is None or where(obj)
        f = self._filter
        if visible and f.active:
            m = self._match.get(key)
            if m is None:
                m = self._match[key] = f.matches(self._labels_fn(obj), " ".join(c.text for c in self._cells[key]))
            visible = m
        if visible:
            if only_changes and key in self._shown:
                return
            self._shown.add(key)
            out.upserts[key] = self._cells[key]
            if natural is not None:
                natural[key] = self._order_fn(key, obj)  # type: ignore[misc]
        elif key in self._shown:
            self._shown.discard(key)
            out.removed.append(key)

    def rows(
        self,
        items: Mapping[str, T],
        now: float,
        order: Iterable[str] | None = None,
        where: Callable[[T], bool] | None = None,
        fresh: Iterable[str] = (),
    ) -> dict[str, Cells]:
        """All rows to show, in `order` (default: sorted keys). O(rows): for simple callers and tests;
        the cockpit uses `diff`."""
        self.diff(dict(items), now, where=where, view=object(), fresh=fresh)
        keys = order if order is not None else sorted(items)
        return {k: self._cells[k] for k in keys if k in self._shown}

    def cells_of(self, key: str) -> Cells | None:
        return self._cells.get(key)


# ---- aggregates kept up to date from the diffs -------------------------------------------------

def event_order(key: str, ev: Any) -> tuple[bool, float, str]:
    """Natural order of the events pane: warnings first, then newest first (unknown times last)."""
    t = event_time(ev)
    return (ev.type != "Warning", -t if t is not None else math.inf, key)


def warnings_delta(ch: RowChanges, items: Any) -> int:
    """How one diff of the events snapshot changes the number of Warning events."""
    prev = ch.previous
    n = 0
    for k in ch.changed:
        old = prev.get(k)
        n += (items[k].type == "Warning") - (old is not None and old.type == "Warning")
    for k in ch.gone:
        n -= prev[k].type == "Warning"
    return n


class NodeCounts:
    """Non-terminated pods per node (the PODS column), kept up to date from the pods' changes."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def get(self, node: str) -> int:
        return self.counts.get(node, 0)

    def apply(self, ch: RowChanges, items: Any) -> set[str]:
        """Account for one diff of the pods snapshot; returns the nodes whose count changed."""
        counts, prev = self.counts, ch.previous
        touched: set[str] = set()

        def add(node: str, n: int) -> None:
            if node:
                counts[node] = counts.get(node, 0) + n
                if not counts[node]:
                    del counts[node]
                touched.add(node)

        for k in ch.changed:
            old = prev.get(k)
            a, b = (counted_on(old) if old is not None else ""), counted_on(items[k])
            if a != b:
                add(a, -1)
                add(b, 1)
        for k in ch.gone:
            add(counted_on(prev[k]), -1)
        return touched
