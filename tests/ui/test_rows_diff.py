"""PaneRows.diff and the aggregates kept from it agree with computing everything from scratch."""
from __future__ import annotations

import random

from ecotui.kube.render import Cell, event_cells, pod_cells, pods_per_node
from ecotui.ui.rows import NodeCounts, PaneRows, event_order, warnings_delta
from ui_fakes import T0, event, keyed, pod

NODES = ["node-a", "node-b", "node-c"]


def random_pod(rnd: random.Random, name: str):
    return pod(name, ns=rnd.choice(["ecotrack", "observability"]), node=rnd.choice(NODES + [""]),
               labels={"app": rnd.choice(["web", "api", "db"])}, phase=rnd.choice(["Running", "Running", "Succeeded"]),
               waiting=rnd.choice(["", "", "CrashLoopBackOff"]))


def test_diffs_applied_in_turn_equal_a_full_recompute():
    rnd = random.Random(5)
    model = PaneRows(pod_cells)
    counts = NodeCounts()
    items = keyed([random_pod(rnd, f"p{i:03d}") for i in range(150)], True)
    table: dict[str, tuple] = {}
    scope: str | None = None
    for step in range(120):
        items = dict(items)
        for k in rnd.sample(sorted(items), 4):
            del items[k]
        for _ in range(5):
            p = random_pod(rnd, f"n{step:03d}-{rnd.randint(0, 99)}")
            items[f"{p.metadata.namespace}/{p.metadata.name}"] = p
        for k in rnd.sample(sorted(items), 6):
            items[k] = random_pod(rnd, items[k].metadata.name)
        if step % 9 == 0:
            model.set_filter(rnd.choice(["", "app=web", "crash", "app!=db,app"]))
        if step % 13 == 0:
            scope = rnd.choice([None, "node-a", "node-b"])
        where = (lambda p, n=scope: p.spec.nodeName == n) if scope else None
        ch = model.diff(items, T0, where=where, view=scope)
        counts.apply(ch, items)
        for k in ch.removed:
            del table[k]
        table.update(ch.upserts)

        fresh = PaneRows(pod_cells)
        fresh.set_filter(model.filter.source)
        assert table == fresh.rows(items, T0, where=where)
        assert model.shown == len(table)
        assert counts.counts == pods_per_node(items.values())


def test_untouched_rows_cost_nothing_and_dirty_keys_follow_their_token():
    calls: list[str] = []
    tokens = {"node-a": 1}

    def cells(p, now):
        calls.append(p.metadata.name)
        return (Cell(p.metadata.name, p.metadata.name), Cell(str(tokens.get(p.spec.nodeName, 0)), 0))

    model = PaneRows(cells, token=lambda k, p: tokens.get(p.spec.nodeName, 0))
    items = keyed([pod("a", node="node-a"), pod("b", node="node-b")], True)
    assert set(model.diff(items, T0).upserts) == {"ecotrack/a", "ecotrack/b"}
    calls.clear()
    assert not model.diff(items, T0).upserts and calls == []          # same snapshot: no work at all
    ch = model.diff(items, T0, dirty=["ecotrack/a", "ecotrack/b"])      # tokens unchanged: nothing
    assert calls == [] and ch.upserts == {}
    tokens["node-a"] = 2
    ch = model.diff(items, T0, dirty=["ecotrack/a", "ecotrack/b"])
    assert calls == ["a"] and set(ch.upserts) == {"ecotrack/a"} and ch.upserts["ecotrack/a"][1].text == "2"
    calls.clear()
    items = dict(items)
    items["ecotrack/b"] = pod("b", node="node-b", rv="999")          # a new struct, same cells
    ch = model.diff(items, T0)
    assert calls == ["b"] and ch.changed == ["ecotrack/b"] and ch.upserts == {}


def test_events_order_and_warning_count_follow_the_diffs():
    model = PaneRows(event_cells, order_key=event_order)
    warnings = 0
    evs = {}
    rnd = random.Random(3)
    for step in range(40):
        evs = dict(evs)
        for _ in range(3):
            name = f"e{rnd.randint(0, 30)}"
            evs[f"ecotrack/{name}"] = event(name, type_=rnd.choice(["Warning", "Normal"]),
                                            last=f"2023-11-14T2{rnd.randint(0, 3)}:{rnd.randint(10, 59)}:00Z")
        for k in rnd.sample(sorted(evs), min(len(evs), 2)):
            del evs[k]
        ch = model.diff(evs, T0)
        warnings += warnings_delta(ch, evs)
        assert warnings == sum(1 for e in evs.values() if e.type == "Warning")
        assert set(ch.natural or {}) == set(ch.upserts)
        for k, nk in (ch.natural or {}).items():
            assert nk == event_order(k, evs[k])
    ordered = sorted(evs, key=lambda k: event_order(k, evs[k]))
    first_normal = next((i for i, k in enumerate(ordered) if evs[k].type != "Warning"), len(ordered))
    assert all(evs[k].type == "Warning" for k in ordered[:first_normal])
