"""The fake-bin directory KWOK's exec runs from: `sh`, `bash`, `psql`, `redis-cli` stubs for testbed/fakesh.py.

KWOK (ClusterExec, `local`) runs the argv of `kubectl exec` with Go's exec.Command: argv[0] is looked up in the
*kwok process's* PATH. The testbed starts kwok with PATH = this directory only (components.py), so a command name
finds one of these stubs or nothing ("executable file not found in $PATH"), never a host program. An absolute
path (`/bin/sh`) is not looked up: KWOK would run that host file — nothing in the testbed or ecotui asks for one
while `bash`/`sh` are found here.

Each stub is a Python script with an absolute `#!{sys.executable} -I` shebang that runs fakesh.py from this
checkout (so a code change takes effect at the next exec, no restart needed).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from . import paths

PROGRAMS = ("sh", "bash", "psql", "redis-cli")
FAKESH = Path(__file__).resolve().parent / "fakesh.py"


def exec_dir() -> Path:
    return paths.state_dir() / "exec"


def bin_dir() -> Path:
    """On kwok's PATH (alone) and in the exec'd programs' PATH."""
    return exec_dir() / "bin"


def sandbox_dir() -> Path:
    """The working directory of exec'd programs (they never touch it)."""
    return exec_dir() / "sandbox"


def stub(name: str, python: str = sys.executable, fakesh: Path = FAKESH) -> str:
    return (f"#!{python} -I\n"
            f"# testbed fake {name}: see testbed/fakebin.py (written by `python3 -m testbed up`)\n"
            "import runpy, sys\n"
            f"sys.argv[:1] = [{str(fakesh)!r}, {name!r}]  # run_path sets argv[0]; fakesh.py reads the name next\n"
            f"runpy.run_path({str(fakesh)!r}, run_name='__main__')\n")


def install(directory: Path | None = None) -> Path:
    """Write the stubs (only those whose text changed; a running exec keeps reading its file) and the sandbox."""
    d = directory or bin_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d.parent / "sandbox").mkdir(parents=True, exist_ok=True)
    for name in PROGRAMS:
        f = d / name
        text = stub(name)
        if not f.exists() or f.read_text() != text:
            tmp = f.with_name(f".{name}.tmp")
            tmp.write_text(text)
            tmp.chmod(0o755)
            tmp.replace(f)
    return d


def fingerprint() -> str:
    """Of the stubs' text (the interpreter and the fakesh path): part of kwok's fingerprint."""
    return hashlib.sha256("".join(stub(n) for n in PROGRAMS).encode()).hexdigest()[:16]
