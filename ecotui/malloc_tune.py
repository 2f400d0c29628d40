"""Fixed glibc malloc thresholds, so a long log stream leaves the process's memory flat.

glibc raises its mmap threshold each time a large block that came from mmap is freed (up to 32 MiB) and then
serves later large blocks (a Loki tail frame: ~0.5–2 MB of JSON, the decoded lists, a Kubernetes stream chunk)
from the heap instead. Interleaved with small, long-lived objects (the ring's lines) those heap blocks leave
holes that are never returned: measured at 60k lines/s into a 100k-line ring (Loki tail on a thread of its
own), RSS rose 25 % between 100k and 1 M lines, in steps. With the threshold fixed at 128 KiB (which turns the
dynamic adjustment off) and trim at 256 KiB it rose 6 % (`bench.logs` measures it in the app).

Setting the threshold is what `MALLOC_MMAP_THRESHOLD_=131072` does; doing it here means users need no
environment variable. Not glibc (musl, macOS): nothing to do, `tune()` returns False.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1   # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 256 * 1024

_done: bool | None = None


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only (musl has mallopt as a stub that does nothing)
        libc.mallopt
    except (OSError, AttributeError):
        return None
    return libc


def tune() -> bool:
    """Fix the thresholds once per process. True when glibc accepted both."""
    global _done
    if _done is None:
        libc = _libc()
        ok = False
        if libc is not None:
            libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.mallopt.restype = ctypes.c_int
            ok = (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                  and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
        _done = ok
    return _done
