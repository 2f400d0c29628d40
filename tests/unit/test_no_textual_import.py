"""The data side (everything outside ecotui.ui, ecotui.cli, ecotui.__main__) never imports textual or rich.

Imported in a fresh interpreter in which `textual` and `rich` cannot be imported at all: a data-side module
that imports them fails loudly. (httpx tries to import rich for its optional CLI and falls back quietly when
it cannot, so plain `'rich' not in sys.modules` would blame httpx rather than us.)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import importlib, importlib.abc, json, os, pkgutil, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("textual", "rich"):
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
import ecotui

EXCLUDED = ("ecotui.ui", "ecotui.cli", "ecotui.__main__")

def walk(path, prefix):
    for info in pkgutil.iter_modules(path, prefix):
        if info.name in EXCLUDED:
            continue
        yield info.name
        if info.ispkg:
            yield from walk([os.path.join(path[0], info.name.rsplit(".", 1)[1])], info.name + ".")

names, failed = [], {}
for name in walk(ecotui.__path__, "ecotui."):
    names.append(name)
    try:
        importlib.import_module(name)
    except Exception as e:
        failed[name] = f"{type(e).__name__}: {e}"
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(json.dumps({"names": names, "failed": failed, "leaked": leaked}))
"""


def test_data_side_does_not_import_textual_or_rich():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert "ecotui.kube.session" in res["names"] and "ecotui.errors" in res["names"]
    assert not any(n.startswith(("ecotui.ui", "ecotui.cli")) for n in res["names"])
    assert res["failed"] == {}
    assert res["leaked"] == []
