"""Colour themes from YAML files (built-ins in ``themes/``, user ones in an extra directory).

A theme file is flat YAML::

    name: dark            # optional, defaults to the file name without .yaml
    dark: true
    primary: "#4EA1FF"    # ...and every key of COLOR_KEYS

Colour values are what Textual's ``Color.parse`` accepts: ``#rgb``, ``#rrggbb`` (optionally with
alpha), ``rgb(r,g,b)``, ``hsl(h,s%,l%)``, CSS colour names, and the 16 ANSI names ``ansi_red``,
``ansi_bright_green``… plus ``ansi_default`` (the terminal's own colour). A theme with a missing,
unknown or malformed key is rejected and each problem is reported as one line.

The semantic keys ``ok``/``warning``/``critical``/``muted`` colour table cells (see
``ecotui.kube.render.Cell.style``) and ``p0``–``p3`` colour incident severities.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ecotui.resources import data_path

COLOR_KEYS: tuple[str, ...] = (
    "primary", "secondary", "accent", "background", "surface", "panel", "foreground",
    "ok", "warning", "critical", "muted", "p0", "p1", "p2", "p3",
)
DEFAULT_THEME = "dark"

ANSI_NAMES: frozenset[str] = frozenset(
    f"ansi_{bright}{c}" for c in ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
    for bright in ("", "bright_")
) | {"ansi_default"}

_CSS_NAMES = frozenset("""
transparent black silver gray white maroon red purple fuchsia green lime olive yellow navy blue teal aqua
orange aliceblue antiquewhite aquamarine azure beige bisque blanchedalmond blueviolet brown burlywood
cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod
darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon
darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue
dimgray dimgrey dodgerblue firebrick floralwhite forestgreen gainsboro ghostwhite gold goldenrod
greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen
lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink
lightsalmon lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow limegreen
linen magenta mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue
mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite
oldlace olivedrab orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip
peachpuff peru pink plum powderblue rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell
sienna skyblue slateblue slategray slategrey snow springgreen steelblue tan thistle tomato turquoise
violet wheat whitesmoke yellowgreen rebeccapurple
""".split())

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_NUM = r"\s*-?\d+(?:\.\d+)?%?\s*"
_FUNC = re.compile(rf"(?:rgba?|hsla?)\({_NUM},{_NUM},{_NUM}(?:,{_NUM})?\)")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")


def valid_color(value: str) -> bool:
    """True when ``value`` is a colour string Textual can parse (see module docstring)."""
    v = value.strip()
    return bool(_HEX.fullmatch(v) or _FUNC.fullmatch(v) or v in ANSI_NAMES or v.lower() in _CSS_NAMES)


@dataclass(frozen=True)
class ThemeSpec:
    name: str
    dark: bool
    colors: Mapping[str, str]

    @property
    def ansi(self) -> bool:
        """True when the theme uses only ANSI colour names (safe on 16-colour terminals)."""
        return all(c in ANSI_NAMES for c in self.colors.values())


def parse_theme(data: Any, source: str) -> tuple[ThemeSpec | None, list[str]]:
    """Validate one theme document; ``source`` names it in messages (usually the file path)."""
    if not isinstance(data, dict):
        return None, [f"{source}: a theme must be a YAML mapping of name, dark and colour keys"]
    problems: list[str] = []
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(f"{source}: name must be letters, digits, '-' or '_' (got {name!r})")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        problems.append(f"{source}: dark must be true or false (got {dark!r})")
    colors: dict[str, str] = {}
    for key in COLOR_KEYS:
        if key not in data:
            problems.append(f"{source}: missing colour key {key!r}")
            continue
        value = data[key]
        if not isinstance(value, str) or not valid_color(value):
            problems.append(f"{source}: {key}: {value!r} is not a colour (use #rrggbb, a CSS name or ansi_*)")
            continue
        colors[key] = value.strip()
    unknown = sorted(str(k) for k in data if k not in COLOR_KEYS and k not in ("name", "dark"))
    for key in unknown:
        problems.append(f"{source}: unknown key {key!r} (expected name, dark, {', '.join(COLOR_KEYS)})")
    if problems:
        return None, problems
    return ThemeSpec(name=name, dark=dark, colors=colors), []


def _load_dir(directory: Path, themes: dict[str, ThemeSpec], problems: list[str]) -> None:
    if not directory.is_dir():
        problems.append(f"{directory}: theme directory not found")
        return
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc.__class__.__name__}")
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append(f"{path}: not valid YAML{where}")
            continue
        spec, errs = parse_theme(data, str(path))
        problems.extend(errs)
        if spec is not None:
            themes[spec.name] = spec


def load_themes_with_problems(extra_dir: str | None = None) -> tuple[dict[str, ThemeSpec], list[str]]:
    """Built-in themes, then ``extra_dir``'s (a user theme replaces a built-in of the same name).

    Returns (themes by name, one line per problem). Never raises for bad files.
    """
    themes: dict[str, ThemeSpec] = {}
    problems: list[str] = []
    _load_dir(data_path("themes"), themes, problems)
    if extra_dir:
        _load_dir(Path(extra_dir).expanduser(), themes, problems)
    return themes, problems


def load_themes(extra_dir: str | None = None) -> dict[str, ThemeSpec]:
    """Themes by name (problems dropped; use ``load_themes_with_problems`` to report them)."""
    return load_themes_with_problems(extra_dir)[0]
