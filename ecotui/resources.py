"""Locate data files shipped with ecotui (the default keymap and the built-in themes).

From a source checkout they live at the repository root (``ecotui/../keymaps.yaml``,
``ecotui/../themes/``); an installed wheel carries a copy under ``ecotui/_data/``. A repository
root is recognised by its ``pyproject.toml`` (or ``.git``) so that an unrelated ``themes/`` directory next to an
installed package in site-packages is never picked up.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
PACKAGED_DATA = PACKAGE_DIR / "_data"


def _is_checkout() -> bool:
    return (REPO_ROOT / "pyproject.toml").is_file() or (REPO_ROOT / ".git").exists()


def data_path(name: str) -> Path:
    """Path of a data file or directory, e.g. ``data_path("keymaps.yaml")``, ``data_path("themes")``.

    The path may not exist (a broken install); callers report that as a clear problem.
    """
    candidate = REPO_ROOT / name
    if _is_checkout() and candidate.exists():
        return candidate
    return PACKAGED_DATA / name
