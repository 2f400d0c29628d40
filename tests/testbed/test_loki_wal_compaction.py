"""The testbed Loki's WAL is rewritten in a forked child process (a synchronous rewrite of 1.5 M lines stalled the
server for seconds and overflowed every open tail; a thread took the GIL from it): nothing acknowledged is lost,
what was pushed during the rewrite is kept, and the server's push path never waits for the rewrite."""
from __future__ import annotations

import time

from testbed.loki import store as store_mod
from testbed.loki.store import Store

LABELS = {"app": "c", "pod": "c-0"}


def _entries(store: Store) -> list[tuple[int, str]]:
    return [(t, ln) for s in store.streams.values() for t, ln in zip(s.ts, s.lines)]


def test_background_compaction_keeps_everything_pushed_meanwhile(tmp_path, monkeypatch):
    # the rewrite (a child process) waits until the pushes below have happened: a 1000-line rewrite takes
    # milliseconds and used to finish (and be swapped in) before them on a fast moment, leaving nothing "meanwhile"
    release = tmp_path / "release"
    real_write = store_mod._write_snapshot

    def held_write(path, snap):
        for _ in range(6000):   # at most 30 s
            if release.exists():
                break
            time.sleep(0.005)
        real_write(path, snap)

    wal = tmp_path / "fake.wal"
    store = Store(max_lines=1000, path=wal)   # rewrite threshold: 2 * 1000 + 50,000 entries written
    monkeypatch.setattr(store_mod, "_write_snapshot", held_write)  # after the opening (synchronous) rewrite
    base = time.time_ns()
    seq = 0
    started = False
    for _ in range(200):  # bounded: 200 pushes of 500
        store.push([(LABELS, [(base + seq + i, f"l{seq + i}", ()) for i in range(500)])])
        seq += 500
        if store._compactor is not None:
            started = True
            break
    assert started, "the rewrite should have started past the threshold"
    # pushes while the thread writes: recorded in the old file and carried over into the new one
    for _ in range(5):
        store.push([(LABELS, [(base + seq + i, f"l{seq + i}", ()) for i in range(100)])])
        seq += 100
    compactor = store._compactor
    assert compactor is not None and compactor.is_alive()
    release.touch()
    compactor.join(30)
    assert not compactor.is_alive()
    store.push([(LABELS, [(base + seq, f"l{seq}", ())])])  # the next push swaps the files in
    seq += 1
    assert store._compactor is None
    assert store._wal_entries < 52_000  # the file was rewritten
    held = _entries(store)
    store.close()
    reloaded = Store(max_lines=1000, path=wal)
    try:
        assert _entries(reloaded) == held
        assert held[-1] == (base + seq - 1, f"l{seq - 1}") and len(held) == 1000
    finally:
        reloaded.close()


def test_close_during_compaction_finishes_it(tmp_path):
    wal = tmp_path / "fake.wal"
    store = Store(max_lines=1000, path=wal)
    base = time.time_ns()
    for k in range(120):
        store.push([(LABELS, [(base + k * 500 + i, f"m{k * 500 + i}", ()) for i in range(500)])])
        if store._compactor is not None:
            break
    held = _entries(store)
    store.close()
    assert not wal.with_suffix(".tmp").exists()
    reloaded = Store(max_lines=1000, path=wal)
    try:
        assert _entries(reloaded) == held
    finally:
        reloaded.close()
