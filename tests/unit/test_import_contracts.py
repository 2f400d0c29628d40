"""Layering the code keeps: screens and widgets never import the App; the data side never imports the UI."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "ecotui"


def imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_screens_and_widgets_do_not_import_the_app():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.startswith("ecotui.ui.app"))
                 for folder in ("ui/screens", "ui/widgets") for p in (ROOT / folder).glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_data_side_does_not_import_the_ui():
    data = [p for p in ROOT.rglob("*.py") if "ui" not in p.relative_to(ROOT).parts[:1]
            and p.name not in ("cli.py", "__main__.py")]
    assert len(data) > 20
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.startswith("ecotui.ui"))
                 for p in data}
    assert {k: v for k, v in offenders.items() if v} == {}
