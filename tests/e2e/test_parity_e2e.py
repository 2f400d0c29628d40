"""Parity by content: the real app on the real testbed shows, cell for cell, what kubectl prints.

For every pod row of the cockpit: NAMESPACE, NAME, READY, STATUS, RESTARTS and NODE equal the columns of
`kubectl get pods -A -o wide` (parsed as printed, by the header's column offsets); the pods pane title
says `Pods · N` with N = the number of pods kubectl lists. For every node: NAME, STATUS, VERSION equal
`kubectl get nodes`. For every Deployment of the `:deploy` view: NAMESPACE, NAME, READY, UP-TO-DATE,
AVAILABLE equal `kubectl get deploy -A`. The row sets are equal, without duplicates.

Checked at rest, during `incident crashloop` (pods restart every few seconds, a rollout is stuck with its
Deployment short of ready replicas) and during `incident node-notready` (one node NotReady; the testbed
sets its Ready condition to Unknown directly, so the node lifecycle controller does not mark its pods not
ready and they stay 1/1 — the rows must still match kubectl's). Both incidents are cleared in a `finally`
and the test waits until the cluster has settled again.

The cluster keeps changing while this runs, so a comparison is "retried until both agree": read kubectl,
then give the table up to SETTLE seconds to show that same state (it lags by a watch event and a 4 Hz
poll); if it does not, read kubectl again; fail after CONVERGE seconds with the first differing rows.
The RESTARTS "(… ago)" part is compared as a duration: the table computes it when the row last changed,
kubectl when it runs, so the table's may be older by at most the time the app has been running.
"""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from e2e_app import make_app, wait
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.kind_view import KindScreen
from testbed import incidents

pytestmark = pytest.mark.e2e

SIZE = (120, 40)
CONVERGE = 60.0      # seconds for table and kubectl to agree
SETTLE = 2.0         # seconds the table gets to catch up with one kubectl read
CRASH_TARGET = "product-service"   # 4 replicas, maxUnavailable 25%: the stuck rollout leaves READY 3/4
NS = "ecotrack"


# ---- kubectl output, parsed as printed -----------------------------------------------------------

_HEADER_CELL = re.compile(r"\S+(?: \S+)*")   # header names may hold one space ("NOMINATED NODE")


def parse_table(text: str) -> list[dict[str, str]]:
    """kubectl's tabwriter output -> one dict per row, sliced at the header's column offsets (cells may
    hold single spaces, e.g. RESTARTS "3 (12s ago)"; columns are separated by at least three)."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = lines[0]
    cols = [(m.group(), m.start()) for m in _HEADER_CELL.finditer(header)]
    assert cols and cols[0][1] == 0, f"unexpected kubectl header {header!r}"
    rows = []
    for line in lines[1:]:
        row = {}
        for i, (name, start) in enumerate(cols):
            end = cols[i + 1][1] if i + 1 < len(cols) else len(line)
            assert start == 0 or line[start - 1:start] in ("", " "), f"misaligned kubectl line {line!r}"
            row[name] = line[start:end].strip()
        assert row[cols[0][0]], f"empty first column in {line!r}"
        rows.append(row)
    return rows


def kubectl_rows(tb, *args: str) -> list[dict[str, str]]:
    return parse_table(tb.kubectl("get", *args).stdout)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(?:\d+[smhdy])+")
_RESTARTS = re.compile(r"(\d+)(?: \((\S+) ago\))?")


def duration(text: str) -> tuple[int, int] | None:
    """kubectl's HumanDuration ("45s", "2m5s", "3h", "2y3d") -> (seconds, size of its last unit)."""
    if not _DURATION.fullmatch(text):
        return None
    parts = re.findall(r"(\d+)([smhdy])", text)
    return sum(int(n) * _UNITS[u] for n, u in parts), _UNITS[parts[-1][1]]


def restarts_problem(want: str, have: str, max_lag: float) -> str | None:
    """None when the RESTARTS cells agree: same count, both with or both without "(… ago)", and the table's
    age is kubectl's minus at most `max_lag` seconds (give or take one unit of the printed duration)."""
    mw, mh = _RESTARTS.fullmatch(want), _RESTARTS.fullmatch(have)
    if mw is None or mh is None:
        return None if want == have else f"{have!r} != kubectl {want!r}"
    if mw.group(1) != mh.group(1) or (mw.group(2) is None) != (mh.group(2) is None):
        return f"{have!r} != kubectl {want!r}"
    if mw.group(2) is None:
        return None
    dw, dh = duration(mw.group(2)), duration(mh.group(2))
    if dw is None or dh is None:
        return None if mw.group(2) == mh.group(2) else f"{have!r} != kubectl {want!r}"
    slack = max(dw[1], dh[1]) + 1
    if not -slack <= dw[0] - dh[0] <= max_lag + slack:
        return f"{have!r} != kubectl {want!r} (ages differ by more than the app's {max_lag:.0f} s of run time)"
    return None


# ---- the comparison ---------------------------------------------------------------------------

Compare = Callable[[str, str], "str | None"]


def exact(want: str, have: str) -> str | None:
    return None if want == have else f"{have!r} != kubectl {want!r}"


def table_problems(table: Any, want_rows: list[dict[str, str]], key_cols: Sequence[str],
                   columns: Sequence[tuple[str, str, Compare]]) -> list[str]:
    """Every difference between a ResourceTable and kubectl's rows: duplicated, extra or missing rows,
    and for each row each (table column id, kubectl header, compare) whose cell text disagrees."""
    want = {"/".join(r[c] for c in key_cols): r for r in want_rows}
    problems: list[str] = []
    if len(want) != len(want_rows):
        problems.append(f"kubectl printed a row twice: {len(want_rows)} rows, {len(want)} keys")
    keys = table.keys
    if len(keys) != len(set(keys)):
        problems.append(f"duplicated rows in the table: {sorted(k for k in set(keys) if keys.count(k) > 1)[:5]}")
    have = set(keys)
    problems += [f"{k}: only in the table" for k in sorted(have - set(want))]
    problems += [f"{k}: only in kubectl" for k in sorted(set(want) - have)]
    idx = {cid: i for i, (cid, _) in enumerate(table.columns_spec)}
    for key in sorted(have & set(want)):
        cells = table.cells_of(key)
        for cid, header, compare in columns:
            why = compare(want[key][header], cells[idx[cid]].text)
            if why:
                problems.append(f"{key} {header}: {why}")
    return problems


async def converge(pilot, what: str, read: Callable[[], list[dict[str, str]]],
                   problems: Callable[[list[dict[str, str]]], list[str]]) -> list[dict[str, str]]:
    """Read kubectl, give the table SETTLE s to agree with that read; repeat until it does (returns the
    agreed kubectl rows) or CONVERGE s passed (fails with the first differences)."""
    deadline = time.monotonic() + CONVERGE
    reads = 0
    while True:
        rows = await asyncio.to_thread(read)
        reads += 1
        until = min(deadline, time.monotonic() + SETTLE)
        while True:
            last = problems(rows)
            if not last:
                return rows
            if time.monotonic() >= until:
                break
            await pilot.pause(0.1)
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: the table never agreed with kubectl in {CONVERGE:.0f} s ({reads} kubectl "
                                 f"reads); {len(last)} differences, first:\n  " + "\n  ".join(last[:8]))


# ---- the app ----------------------------------------------------------------------------------

def header(app) -> str:
    return app.cockpit.query_one("#header").plain


async def wait_kubectl(pilot, pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """`pred` runs kubectl (in a thread); polled every second until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await asyncio.to_thread(pred)
        if got:
            return got
        await pilot.pause(1.0)
    # the testbed is shared: another test's `incident clear` also clears ours
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; incidents applied now: "
                         f"{incidents._load_applied()}")


class Parity:
    """The three checks against one running app; `started` (epoch, before the app ran) bounds how stale
    the age in a cell can be."""

    def __init__(self, app: EcotuiApp, pilot, tb, started: float) -> None:
        self.app, self.pilot, self.tb = app, pilot, tb
        self.started = started

    def restarts(self, want: str, have: str) -> str | None:
        return restarts_problem(want, have, time.time() - self.started + 1)

    async def pods(self) -> list[dict[str, str]]:
        table = self.app.cockpit.tables["pods"]
        cols = [("namespace", "NAMESPACE", exact), ("name", "NAME", exact), ("ready", "READY", exact),
                ("status", "STATUS", exact), ("restarts", "RESTARTS", self.restarts), ("node", "NODE", exact)]

        def problems(rows: list[dict[str, str]]) -> list[str]:
            out = table_problems(table, rows, ("NAMESPACE", "NAME"), cols)
            title = self.app.cockpit.panes["pods"].title_text
            m = re.match(r"Pods · (\d+)(?: · |$)", title)
            if m is None or int(m.group(1)) != len(rows):
                out.append(f"pods pane title {title!r}: kubectl lists {len(rows)} pods")
            return out
        return await converge(self.pilot, "pods", lambda: kubectl_rows(self.tb, "pods", "-A", "-o", "wide"),
                              problems)

    async def nodes(self) -> list[dict[str, str]]:
        table = self.app.cockpit.tables["nodes"]
        cols = [("name", "NAME", exact), ("status", "STATUS", exact), ("version", "VERSION", exact)]
        return await converge(self.pilot, "nodes", lambda: kubectl_rows(self.tb, "nodes"),
                              lambda rows: table_problems(table, rows, ("NAME",), cols))

    async def deployments(self) -> list[dict[str, str]]:
        """Opens the `:deploy` view (leave the cockpit checks before this) and compares its table."""
        await self.pilot.press("colon", *"deploy", "enter")
        screen = await wait(self.pilot, lambda: isinstance(self.app.screen, KindScreen) and self.app.screen,
                            5, ":deploy opens the Deployments view")
        assert screen.kind == "deployments"
        cols = [("namespace", "NAMESPACE", exact), ("name", "NAME", exact), ("ready", "READY", exact),
                ("up_to_date", "UP-TO-DATE", exact), ("available", "AVAILABLE", exact)]
        return await converge(self.pilot, "deployments", lambda: kubectl_rows(self.tb, "deploy", "-A"),
                              lambda rows: table_problems(screen.table, rows, ("NAMESPACE", "NAME"), cols))


async def started_app(app: EcotuiApp, pilot, tb, started: float) -> Parity:
    await wait(pilot, lambda: "live" in header(app), 20, "header says live")
    return Parity(app, pilot, tb, started)


def by_key(rows: list[dict[str, str]], *cols: str) -> dict[str, dict[str, str]]:
    return {"/".join(r[c] for c in cols): r for r in rows}


def ratio(text: str) -> tuple[int, int]:
    a, b = text.split("/")
    return int(a), int(b)


# ---- the tests --------------------------------------------------------------------------------

def test_parsing_and_restarts_comparison():
    """The helpers themselves (no cluster): column slicing keeps single-space cells, and the loose RESTARTS
    comparison still rejects a wrong count, a missing "(… ago)" and an age off by more than the lag."""
    text = ("NAMESPACE   NAME   READY   STATUS             RESTARTS        NODE   NOMINATED NODE   READINESS GATES\n"
            "ecotrack    a-1    0/1     CrashLoopBackOff   12 (3m5s ago)   n-1    <none>           <none>\n"
            "ecotrack    b-22   1/1     Running            0               n-2    <none>           <none>\n")
    rows = parse_table(text)
    assert rows[0] == {"NAMESPACE": "ecotrack", "NAME": "a-1", "READY": "0/1", "STATUS": "CrashLoopBackOff",
                       "RESTARTS": "12 (3m5s ago)", "NODE": "n-1", "NOMINATED NODE": "<none>",
                       "READINESS GATES": "<none>"}
    assert rows[1]["RESTARTS"] == "0" and rows[1]["NAME"] == "b-22"
    assert duration("3m5s") == (185, 1) and duration("2y3d") == (2 * 365 * 86400 + 3 * 86400, 86400)
    assert restarts_problem("3 (12s ago)", "3 (10s ago)", 5) is None      # the table's text is older
    assert restarts_problem("3 (15m ago)", "3 (14m ago)", 5) is None      # one unit of a coarse duration
    assert restarts_problem("0", "0", 5) is None
    assert restarts_problem("3 (12s ago)", "4 (12s ago)", 5)
    assert restarts_problem("3 (12s ago)", "3", 5)
    assert restarts_problem("3 (12s ago)", "3 (30s ago)", 5)             # the table cannot be newer
    assert restarts_problem("3 (60s ago)", "3 (10s ago)", 5)             # nor older than the app runs


async def test_parity_at_rest(testbed):
    app = make_app(testbed)
    t0 = time.time()
    async with app.run_test(size=SIZE) as pilot:
        check = await started_app(app, pilot, testbed, t0)
        pods = await check.pods()
        assert len(pods) > 50 and any(r["STATUS"] == "Completed" for r in pods)  # the db-migrate Job's pod
        await check.nodes()
        await check.deployments()


@pytest.mark.disruptive
async def test_parity_during_crashloop(testbed):
    await asyncio.to_thread(testbed.wait_settled)
    app = make_app(testbed)
    try:
        t0 = time.time()
        async with app.run_test(size=SIZE) as pilot:
            check = await started_app(app, pilot, testbed, t0)   # up before the incident: rows change by watch
            await asyncio.to_thread(incidents.start, "crashloop", CRASH_TARGET)

            def crashing():
                rows = kubectl_rows(testbed, "pods", "-n", NS, "-l", f"app={CRASH_TARGET}")
                return [r for r in rows if r["STATUS"] == "CrashLoopBackOff" and r["RESTARTS"] != "0"]
            await wait_kubectl(pilot, crashing, 60, f"{CRASH_TARGET} pods in CrashLoopBackOff")

            pods = await check.pods()
            looping = [r for r in pods if r["NAMESPACE"] == NS and r["NAME"].startswith(CRASH_TARGET)
                       and r["STATUS"] == "CrashLoopBackOff"]
            assert looping and all(r["READY"] == "0/1" and " ago)" in r["RESTARTS"] for r in looping), looping
            await check.nodes()
            deps = by_key(await check.deployments(), "NAMESPACE", "NAME")
            d = deps[f"{NS}/{CRASH_TARGET}"]
            ready, desired = ratio(d["READY"])
            assert ready < desired and int(d["AVAILABLE"]) < desired, d   # the table showed this too
    finally:
        await asyncio.to_thread(incidents.clear)
    await asyncio.to_thread(testbed.kubectl, "rollout", "status", f"deployment/{CRASH_TARGET}", "-n", NS,
                            "--timeout=90s", timeout=120)
    await asyncio.to_thread(testbed.wait_settled)


@pytest.mark.disruptive
async def test_parity_during_node_notready(testbed):
    await asyncio.to_thread(testbed.wait_settled)
    app = make_app(testbed)
    node = None
    try:
        t0 = time.time()
        async with app.run_test(size=SIZE) as pilot:
            check = await started_app(app, pilot, testbed, t0)
            msg = await asyncio.to_thread(incidents.start, "node-notready", None)
            node = msg.rsplit(" ", 1)[-1]

            def not_ready():
                return by_key(kubectl_rows(testbed, "nodes"), "NAME")[node]["STATUS"].startswith("NotReady")
            await wait_kubectl(pilot, not_ready, 30, f"{node} NotReady")

            # The node's pods keep READY 1/1 here: the incident sets Ready=Unknown itself, so the node
            # lifecycle controller never observes the True -> not-True transition after which it marks
            # pods not ready. Their rows must still match, and stay on that node.
            pods = await check.pods()
            assert any(r["NODE"] == node for r in pods)
            nodes = by_key(await check.nodes(), "NAME")
            assert nodes[node]["STATUS"].startswith("NotReady"), nodes[node]
            await check.deployments()
    finally:
        await asyncio.to_thread(incidents.clear)
    if node is not None:
        def ready_again():
            return by_key(kubectl_rows(testbed, "nodes"), "NAME")[node]["STATUS"] == "Ready"
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(ready_again):
            assert time.monotonic() < deadline, f"{node} not Ready 60 s after the incident was cleared"
            await asyncio.sleep(1)
    await asyncio.to_thread(testbed.wait_settled)
