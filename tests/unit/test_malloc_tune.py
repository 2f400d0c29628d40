"""ecotui fixes glibc's mmap threshold: a large block freed no longer moves the next large blocks onto the heap
(where, between long-lived small objects, they left holes that kept RSS growing under a log stream)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ecotui import malloc_tune

PROBE = r"""
import ctypes, sys
from ecotui import malloc_tune

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    assert malloc_tune.tune()
big = ctypes.create_string_buffer(4 << 20)    # from mmap (above every threshold)
del big                                        # untuned: glibc now raises its threshold to 4 MiB
before = libc.mallinfo2().hblks
blocks = [ctypes.create_string_buffer(1 << 20) for _ in range(4)]   # 1 MiB each
print(libc.mallinfo2().hblks - before)
"""


def _mmapped_blocks(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.mark.skipif(malloc_tune._libc() is None, reason="glibc only")
def test_large_blocks_stay_on_mmap_after_a_large_free():
    assert _mmapped_blocks("untuned") == 0      # glibc's dynamic threshold: the 1 MiB blocks went to the heap
    assert _mmapped_blocks("tuned") == 4        # fixed at 128 KiB: each one is mmapped (and unmapped when freed)


def test_tune_is_idempotent():
    first = malloc_tune.tune()
    assert malloc_tune.tune() is first
