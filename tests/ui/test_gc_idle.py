"""Full GC passes run when the keyboard is idle (or at the latest every max_s), never from CPython's automatic
generation-2 trigger while the app runs; the thresholds come back when the app ends."""
from __future__ import annotations

import gc

from ecotui.ui.app import EcotuiApp
from ecotui.ui.gc_idle import GEN1_EVERY, GEN2_OFF, IdleCollector
from ui_fakes import T0, FakeSession, workspace


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_full_collection_waits_for_an_idle_keyboard_and_is_bounded():
    clock, runs = Clock(), []
    c = IdleCollector(idle_s=1.0, every_s=10.0, max_s=60.0, clock=clock, collect=runs.append)
    clock.t += 5
    assert not c.tick()                      # too soon after the last one
    clock.t += 6
    c.key()
    assert not c.tick()                      # due, but a key was just pressed
    clock.t += 1.5
    assert c.tick() and runs == [2]          # idle for 1.5 s: now
    for _ in range(59):                      # keys every second for a minute: only the max_s bound runs it
        clock.t += 1
        c.key()
        c.tick()
    assert runs == [2]
    clock.t += 1
    c.key()
    assert c.tick() and runs == [2, 2]


def test_install_turns_off_the_automatic_full_collection_and_uninstall_restores():
    before = gc.get_threshold()
    c = IdleCollector()
    c.install()
    try:
        assert gc.get_threshold() == (before[0], before[1], GEN2_OFF)
        c.tick()                              # a log stream runs (the default `streaming`): generation 1 slower
        assert gc.get_threshold() == (before[0], GEN1_EVERY, GEN2_OFF)
        c.streaming = lambda: False
        c.tick()
        assert gc.get_threshold() == (before[0], before[1], GEN2_OFF)
    finally:
        c.uninstall()
    assert gc.get_threshold() == before


async def test_the_app_installs_it_and_counts_keys():
    before = gc.get_threshold()
    app = EcotuiApp(workspace(FakeSession()), clock=lambda: T0, poll_interval=0.05)
    async with app.run_test() as pilot:
        assert gc.get_threshold()[2] == GEN2_OFF
        t0 = app.gc_idle.last_key
        await pilot.press("j")
        assert app.gc_idle.last_key > t0
    assert gc.get_threshold() == before


def test_memory_growth_starts_a_collection_while_keys_keep_coming():
    clock, runs = Clock(), []
    mib = 1 << 20
    rss = [100 * mib]
    c = IdleCollector(idle_s=1.0, every_s=10.0, max_s=60.0, clock=clock, collect=runs.append,
                      rss=lambda: rss[0], grow_frac=0.05, grow_min=4 * mib, grow_gap_s=2.0, grace_s=30.0)
    for _ in range(29):                      # loading: growth for 30 s is not garbage (and keys keep coming)
        clock.t += 1
        rss[0] += 10 * mib
        c.key()
        assert not c.tick()
    assert runs == []
    clock.t += 1
    rss[0] = 100 * mib
    c.last_full = clock.t                    # (as if the max_s pass had just run)
    c.key()
    assert not c.tick()                      # first tick after the grace: the baseline (100 MiB)
    clock.t += 1
    rss[0] = 104 * mib
    c.key()
    assert not c.tick()                      # +4 MiB: under 5 % of 100 MiB
    rss[0] = 106 * mib
    assert not c.tick()                      # +6 %, but only 1 s after the last collection (grow_gap_s)
    clock.t += 1.5
    c.key()
    assert c.tick() and runs == [2] and c.memory_runs == 1   # keys still coming: memory decided
    # memory that stays (not garbage) is the new baseline: no collection per tick from now on
    for _ in range(5):
        clock.t += 1
        c.key()
        assert not c.tick()
    assert runs == [2]
    rss[0] = 112 * mib                       # +6 MiB over 106: > 5 % of 106 → again
    clock.t += 1
    c.key()
    assert c.tick() and runs == [2, 2] and c.memory_runs == 2


def test_without_rss_only_the_keyboard_rules_apply():
    clock, runs = Clock(), []
    c = IdleCollector(clock=clock, collect=runs.append, rss=lambda: None)
    for _ in range(30):
        clock.t += 1
        c.key()
        assert not c.tick()
    assert runs == []


def test_no_memory_rule_without_a_log_stream():
    clock, runs = Clock(), []
    rss = [100 << 20]
    c = IdleCollector(clock=clock, collect=runs.append, rss=lambda: rss[0], grace_s=0.0, streaming=lambda: False)
    for _ in range(30):
        clock.t += 1
        rss[0] += 20 << 20
        c.key()
        assert not c.tick()
    assert runs == [] and c.memory_runs == 0


def test_a_stream_freezes_what_is_alive_and_its_end_undoes_it():
    clock, calls, count, streaming = Clock(), [], [0], [False]

    def freeze() -> None:
        calls.append("freeze")
        count[0] += 100

    def unfreeze() -> None:
        calls.append("unfreeze")
        count[0] = 0

    c = IdleCollector(clock=clock, collect=lambda g: calls.append(("collect", g)), rss=lambda: None,
                      streaming=lambda: streaming[0], freeze=freeze, unfreeze=unfreeze, freeze_count=lambda: count[0])
    c.install()
    try:
        c.key()
        assert not c.tick() and calls == []
        streaming[0] = True                   # a stream starts: one full pass, then what is alive is frozen
        assert c.tick() and calls == [("collect", 2), "freeze"]
        calls.clear()
        clock.t += 1
        c.key()
        assert not c.tick() and calls == []
        streaming[0] = False                  # it ends: unfrozen and collected; nothing else had frozen
        assert c.tick() and calls == ["unfreeze", ("collect", 2)] and count[0] == 0
        count[0] = 50                         # the session had frozen its caches before the stream
        streaming[0] = True
        c.tick()
        streaming[0] = False
        calls.clear()
        assert c.tick() and calls == ["unfreeze", ("collect", 2), "freeze"] and count[0] > 0
        streaming[0] = True                   # the app ends while a stream runs: uninstall undoes the freeze
        c.tick()
        calls.clear()
    finally:
        c.uninstall()
    assert calls[:2] == ["unfreeze", ("collect", 2)]


def test_with_the_real_collector_the_freeze_holds_while_streaming():
    before = gc.get_freeze_count()
    streaming = [True]
    c = IdleCollector(rss=lambda: None, streaming=lambda: streaming[0])
    c.install()
    try:
        junk = [[i] for i in range(1000)]     # alive when the stream starts
        c.tick()
        assert gc.get_freeze_count() >= before + len(junk)
        streaming[0] = False
        c.tick()
        assert (gc.get_freeze_count() == 0) if before == 0 else (gc.get_freeze_count() > 0)
    finally:
        c.uninstall()
