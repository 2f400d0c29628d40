"""10,000 pods: the initial fill and a 50-change keyed diff stay fast and exact.

Budgets are generous (a 2-core CI box); the measured numbers are printed (`pytest -s`).
On the development VM: initial fill ~80 ms, 50-change diff ~5 ms plus ~70 ms to draw; a tick with 50
patched pods (new resourceVersion, same columns) ~1.5 ms and no redraw.
"""
from __future__ import annotations

import time

from ecotui.ui.app import EcotuiApp
from ui_fakes import T0, FakeSession, node, pod, workspace

N = 10_000


async def test_ten_thousand_pods_fill_and_diff():
    s = FakeSession()
    nodes = [node(f"ip-10-0-{i}-1.eu-west-1.compute.internal") for i in range(50)]
    s.set_nodes(nodes)
    s.set_pods(pod(f"svc-{i % 40}-{i:05d}", ns=f"ns-{i % 20}", node=nodes[i % 50].metadata.name,
                   ip=f"10.1.{i // 250}.{i % 250}") for i in range(N))
    app = EcotuiApp(workspace(s), clock=lambda: T0, poll_interval=3600, age_interval=3600)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        cockpit = app.cockpit
        pods = cockpit.tables["pods"]
        # a clean initial fill of an empty table
        pods.apply({})
        cockpit.models["pods"] = type(cockpit.models["pods"])(cockpit.models["pods"]._cells_fn)
        cockpit._seen.clear()
        t0 = time.perf_counter()
        cockpit.refresh_data(force=True)
        fill = time.perf_counter() - t0
        await pilot.pause()
        assert pods.row_count == N
        pods.move_cursor(row=5000)
        await pilot.pause()
        cursor = pods.cursor_key
        offset = pods.cursor_row - pods.scroll_y

        items = dict(s.snapshot("pods").items)
        keys = sorted(items)
        for i in range(20):                                    # 20 deletions, spread out
            del items[keys[i * 400]]
        for i in range(10):                                    # 10 additions, sorting first
            items[f"ns-0/aaa-new-{i}"] = pod(f"aaa-new-{i}", ns="ns-0", node=nodes[0].metadata.name)
        for i in range(20):                                    # 20 changed pods
            k = keys[i * 400 + 7]
            o = items[k]
            items[k] = pod(o.metadata.name, ns=o.metadata.namespace, node=o.spec.nodeName,
                           waiting="CrashLoopBackOff", restarts=3)
        s.set_items("pods", items)
        t0 = time.perf_counter()
        cockpit.refresh_data()
        diff = time.perf_counter() - t0
        t1 = time.perf_counter()
        await pilot.pause()
        draw = time.perf_counter() - t1
        print(f"\n10k pods: initial fill {fill * 1000:.0f} ms; 50-change diff {diff * 1000:.1f} ms "
              f"+ draw {draw * 1000:.0f} ms")
        assert pods.keys == sorted(items)
        assert pods.cursor_key == cursor
        assert pods.cursor_row - pods.scroll_y == offset
        assert str(pods.get_cell(keys[7], "status")) == "CrashLoopBackOff"
        # timings are printed, not asserted: performance is judged by bench/, not by timed tests


async def test_ten_thousand_pods_churn_costs_only_the_changes():
    """The bench's load: pods patched (new resourceVersion, same columns) while the user reads the table."""
    import msgspec

    from ecotui.kube import render

    s = FakeSession()
    nodes = [node(f"node-{i}") for i in range(20)]
    s.set_nodes(nodes)
    s.set_pods(pod(f"svc-{i:05d}", ns=f"ns-{i % 20}", node=nodes[i % 20].metadata.name) for i in range(N))
    app = EcotuiApp(workspace(s), clock=lambda: T0, poll_interval=3600, age_interval=3600)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        cockpit, pods = app.cockpit, app.cockpit.tables["pods"]
        assert pods.row_count == N
        rendered: list[str] = []
        real = render.pod_cells
        cockpit.models["pods"]._cells_fn = lambda p, now: (rendered.append(p.metadata.name), real(p, now))[1]
        updates = pods._update_count
        items = dict(s.snapshot("pods").items)
        for k in sorted(items)[::200]:                                     # 50 patched pods
            p = items[k]
            items[k] = msgspec.structs.replace(p, metadata=msgspec.structs.replace(p.metadata, resourceVersion="x"))
        s.set_items("pods", items)
        t0 = time.perf_counter()
        cockpit.refresh_data()
        tick = time.perf_counter() - t0
        await pilot.pause()
        print(f"\n10k pods: tick with 50 patched pods {tick * 1000:.1f} ms")
        assert len(rendered) == 50                      # only the replaced structs were looked at
        assert pods._update_count == updates            # and the table had nothing to redraw
