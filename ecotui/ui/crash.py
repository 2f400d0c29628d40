"""Write an unexpected exception to a crash log file (no Textual import: the CLI uses it too).

The terminal gets one line naming the file; the file has the traceback (without local variables,
which could hold credentials).
"""
from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path


def crash_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "ecotui"


def write_crash_log(exc: BaseException) -> str:
    """Write the traceback of `exc`; return the file's path ('' if nothing could be written)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for directory in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"ecotui-crash-{stamp}-{os.getpid()}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return str(path)
        except OSError:
            continue
    return ""


def crash_message(exc: BaseException, path: str) -> str:
    where = f" (details in {path})" if path else ""
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:200] if str(exc) else type(exc).__name__
    return f"ecotui: unexpected error: {summary}{where}"
