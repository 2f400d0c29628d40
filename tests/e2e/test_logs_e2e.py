"""The log viewer on the testbed, driven through the UI keys: a line the log generator writes appears within
2 s through Loki and through the Kubernetes API; during `incident error-spike` the errors preset shows the
target service's ERROR lines and only error lines."""
from __future__ import annotations

import asyncio
import re
import time

import pytest

from ecotui.config import load_config
from ecotui.keymap import load_keymap
from ecotui.logs.format import Level, detect_level
from ecotui.logs.model import Kind
from ecotui.ui.screens.kind_view import KindScreen
from ecotui.ui.screens.logs import LogScreen
from e2e_app import make_app, wait
from testbed import incidents

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
NS = 1_000_000_000


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def lines(screen: LogScreen, kind: Kind = Kind.LINE) -> list:
    b = screen.buffer
    out = (b.get(g) for g in range(b.first, b.end))
    return [ln for ln in out if ln is not None and ln.kind is kind]


def shown(screen: LogScreen) -> list:
    b = screen.buffer
    return [ln for ln in (b.get(b.view_index(i)) for i in range(b.view_len)) if ln is not None]


async def open_deployment_logs(pilot, app, name: str) -> LogScreen:
    await wait(pilot, lambda: "live" in app.screen.query_one("#header").plain, 30, "live")
    await pilot.press("colon", *"deploy", "enter")
    await wait(pilot, lambda: isinstance(app.screen, KindScreen), 5, "deployments view")
    table = app.screen.table
    await wait(pilot, lambda: f"ecotrack/{name}" in table.keys, 30, f"{name} listed")
    table.move_to_key(f"ecotrack/{name}")
    await pilot.press(key("logs"))
    return await wait(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen, 15, "log viewer")


async def fresh_line_latency(pilot, screen: LogScreen, after_ns: int, timeout: float = 15) -> float:
    """Seconds between a generated line's timestamp and its arrival in the viewer, for the first line
    stamped after `after_ns` (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    seen = screen.buffer.end
    while time.monotonic() < deadline:
        b = screen.buffer
        for g in range(max(seen, b.first), b.end):
            ln = b.get(g)
            if ln is not None and ln.kind is Kind.LINE and ln.ts_ns > after_ns:
                return time.time() - ln.ts_ns / NS
        seen = b.end
        await pilot.pause(0.05)
    raise AssertionError(f"no new line within {timeout}s")


async def test_a_generated_line_appears_within_2s_through_loki_and_kubernetes(testbed):
    app = make_app(testbed, load_config(str(testbed.ecotui_config)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_deployment_logs(pilot, app, "user-service")
        assert screen.source.name == "loki"
        await wait(pilot, lambda: "loki" in screen.title_plain, 5, "source named in the title")
        await wait(pilot, lambda: lines(screen), 15, "backfill")
        latency = await fresh_line_latency(pilot, screen, time.time_ns())
        assert latency < 2.0, f"Loki: {latency:.2f}s"
        # (the generator pushes a line without a pod label while it does not know the service's pods yet)
        assert {ln.pod.rsplit("-", 2)[0] for ln in lines(screen) if ln.pod} == {"user-service"}
        # the same selection through the API server
        await pilot.press(KEYMAP.keys_for("logs_source")[0])
        await wait(pilot, lambda: screen.source.name == "kubernetes", 15, "switched to Kubernetes")
        await wait(pilot, lambda: "kubernetes" in screen.title_plain, 5, "source named in the title")
        latency = await fresh_line_latency(pilot, screen, time.time_ns())
        assert latency < 2.0, f"Kubernetes: {latency:.2f}s"


async def test_error_spike_preset_shows_the_target_errors_and_only_those(testbed):
    target = "payment-service"
    app = make_app(testbed, load_config(str(testbed.ecotui_config)))
    try:
        t0 = time.time_ns()
        await asyncio.to_thread(incidents.run, "error-spike", target)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_deployment_logs(pilot, app, target)
            await pilot.press(KEYMAP.keys_for("logs_errors")[0])
            # the spike: ERROR lines stamped after the incident began keep coming
            await wait(pilot, lambda: sum(1 for ln in shown(screen) if ln.ts_ns > t0) >= 20, 30,
                       "20 error lines of the spike")
            view = [ln for ln in shown(screen) if ln.kind is Kind.LINE]
            assert view and all(re.search("error", ln.text, re.I) for ln in view), \
                [ln.text for ln in view if not re.search("error", ln.text, re.I)][:3]
            assert {ln.pod.rsplit("-", 2)[0] for ln in view if ln.pod} == {target}
            # and none is missed: every ERROR-level line in the buffer is shown
            errors = {id(ln) for ln in lines(screen) if detect_level(ln.text) is Level.ERROR}
            assert errors <= {id(ln) for ln in view}
            assert "error" in screen.title_plain.lower()
    finally:
        await asyncio.to_thread(incidents.run, "clear", None)


async def test_previous_container_logs_of_a_crashlooping_pod_open(testbed):
    target = "notification-service"
    app = make_app(testbed, load_config(str(testbed.ecotui_config)))
    try:
        await asyncio.to_thread(incidents.run, "crashloop", target)

        def crashlooping() -> list[str]:
            import json
            pods = json.loads(testbed.kubectl("get", "pods", "-n", "ecotrack", "-l", f"app={target}",
                                              "-o", "json").stdout)["items"]
            return [p["metadata"]["name"] for p in pods
                    if any(c.get("restartCount", 0) > 0 for c in p.get("status", {}).get("containerStatuses", []))]
        async with app.run_test(size=(120, 40)) as pilot:
            pod = (await wait(pilot, crashlooping, 60, "a restarted pod"))[0]
            await wait(pilot, lambda: f"ecotrack/{pod}" in app.cockpit.tables["pods"].keys, 30, "pod listed")
            await pilot.press(key("focus_pods"))
            assert app.cockpit.tables["pods"].move_to_key(f"ecotrack/{pod}")
            await pilot.press(key("logs_previous"))
            screen = await wait(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen, 15, "log viewer")
            assert screen.source.name == "kubernetes"          # Loki has no previous container
            await wait(pilot, lambda: any("APPLICATION FAILED TO START" in ln.text for ln in lines(screen)), 15,
                       "the crashed container's log")
            assert all(ln.previous for ln in lines(screen))
            await wait(pilot, lambda: screen.status().state.value == "done", 10, "a finite log")
    finally:
        await asyncio.to_thread(incidents.run, "clear", None)


BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


async def test_hostile_lines_render_inert_through_both_sources(testbed):
    """`testbed logs hostile` writes escape sequences, controls, invalid UTF-8, bidi, zero-width and a 2 MiB line
    into a pod's log and Loki: the viewer shows every marker, and nothing it draws carries a control."""
    from testbed import hostile, logcmd
    target = "notification-service"
    app = make_app(testbed, load_config(str(testbed.ecotui_config)))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_deployment_logs(pilot, app, target)
        await wait(pilot, lambda: screen.status().state.value == "live", 20, "live")
        info = await asyncio.to_thread(logcmd.run, "hostile", target=target)
        expected = {hostile.marker_of(v) for v in hostile.LINES.values()} - {"HOSTILE-16"}  # too big for Loki
        for name in ("loki", "kubernetes"):
            if name == "kubernetes":
                await pilot.press(KEYMAP.keys_for("logs_source")[0])
                await wait(pilot, lambda: screen.source.name == "kubernetes", 15, "kubernetes")
                expected |= {"HOSTILE-16"}            # the API server serves the 2 MiB line (cut for display)
            got = await wait(pilot, lambda: expected <= {hostile.marker_of(ln.text) for ln in lines(screen)}
                             and {hostile.marker_of(ln.text) for ln in lines(screen)}, 30, f"{name}: {info}")
            assert expected <= got
            # search for the markers so they are on screen, then check every drawn row
            await pilot.press(KEYMAP.keys_for("logs_search")[0], *"HOSTILE", "enter")
            for _ in range(len(expected)):
                await pilot.pause(0.1)
                strips = app.screen._compositor.render_strips()
                for strip in strips:
                    text = "".join(seg.text for seg in strip)
                    assert not BAD.search(text), repr(text[:200])
                    assert len(text) < 1000
                await pilot.press(KEYMAP.keys_for("logs_search_next")[0])
            huge = [ln for ln in lines(screen) if ln.text.startswith("HOSTILE-16")]
            if name == "kubernetes":
                assert huge and len(huge[0].text.encode()) >= hostile.HUGE_BYTES // 2   # kept whole-ish for save/copy
            await pilot.press(key("back"))    # clears the search
    # and the terminal was not asked to do anything: the app never wrote a title or clipboard sequence
    assert "pwned" not in app.title


def seqs(screen: LogScreen) -> list[int]:
    out = []
    for ln in lines(screen):
        m = re.search(r" seq=(\d+)(?=\"|$)", ln.text)   # plain lines end with it; JSON: end of "message"
        if m:
            out.append(int(m.group(1)))
    return out


@pytest.mark.disruptive
async def test_killing_loki_mid_tail_loses_and_duplicates_nothing(testbed):
    """Every generated line (numbered by the generator) appears exactly once across a SIGKILL + restart of the
    Loki-API server while the viewer tails it."""
    import os
    import signal
    from testbed import cluster, logcmd, procs
    target = "order-service"
    await asyncio.to_thread(logcmd.run, "seq", value="on")
    app = make_app(testbed, load_config(str(testbed.ecotui_config)))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_deployment_logs(pilot, app, target)
            await wait(pilot, lambda: screen.status().state.value == "live", 20, "live")
            await wait(pilot, lambda: len(seqs(screen)) >= 20, 30, "numbered lines")
            lo = min(s for s in seqs(screen) if s >= max(seqs(screen)) - 10)   # a tail-era line
            pid = procs.pid_of("loki")
            assert pid
            os.kill(pid, signal.SIGKILL)
            await wait(pilot, lambda: screen.status().state.value in ("reconnecting", "error"), 20, "drop seen")
            await asyncio.sleep(3)                                          # lines keep coming meanwhile
            await asyncio.to_thread(cluster.start_component, "loki")
            await wait(pilot, lambda: screen.status().state.value == "live", 60, "live again")
            mark = max(seqs(screen))
            await wait(pilot, lambda: max(seqs(screen)) >= mark + 30, 60, "30 more lines after the restart")
            hi = max(seqs(screen)) - 10                                     # leave the last second in flight
            # the generator re-pushes what Loki missed with its own backoff (up to 10 s): give it that long
            try:
                await wait(pilot, lambda: set(range(lo, hi + 1)) <= set(seqs(screen)), 20, "the gap filled")
            except AssertionError:
                pass   # the assertion below names what is missing
            await asyncio.sleep(2)
            got = [s for s in seqs(screen) if lo <= s <= hi]
        dups = sorted({s for s in got if got.count(s) > 1})
        missing = sorted(set(range(lo, hi + 1)) - set(got))
        assert not dups and not missing, f"duplicated {dups[:10]}, missing {missing[:10]} of {lo}..{hi}"
        assert hi - lo >= 40
    finally:
        await asyncio.to_thread(logcmd.run, "seq", value="off")
        await asyncio.to_thread(cluster.ensure_up)
