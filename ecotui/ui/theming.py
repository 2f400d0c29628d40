"""ThemeSpec (from themes/*.yaml) -> textual.theme.Theme, and the semantic cell styles.

Textual's own variables come from the spec's base colours ($primary, $background, ... and
$success/$warning/$error from ok/warning/critical). Our semantic colours are exported as extra CSS
variables ``$ecotui-ok``, ``$ecotui-warning``, ``$ecotui-critical``, ``$ecotui-muted`` and
``$ecotui-p0`` … ``$ecotui-p3``. A theme whose colours are all ANSI names becomes an ``ansi=True``
Textual theme, so a 16-colour terminal gets real ANSI codes.
"""
from __future__ import annotations

from rich.style import Style
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from ecotui.themes import ThemeSpec

SEMANTIC = ("ok", "warning", "critical", "muted", "p0", "p1", "p2", "p3")

DEFAULT_VARIABLES = {
    "ecotui-ok": "green",
    "ecotui-warning": "yellow",
    "ecotui-critical": "red",
    "ecotui-muted": "grey",
    "ecotui-p0": "red",
    "ecotui-p1": "darkorange",
    "ecotui-p2": "yellow",
    "ecotui-p3": "dodgerblue",
}


def to_textual_theme(spec: ThemeSpec) -> Theme:
    c = spec.colors
    variables: dict[str, str] = {}
    if spec.ansi:
        base = BUILTIN_THEMES.get("ansi-dark" if spec.dark else "ansi-light")
        if base is not None:
            variables.update(base.variables)
    variables.update({f"ecotui-{k}": c[k] for k in SEMANTIC})
    variables["footer-key-foreground"] = c["accent"]
    return Theme(
        name=spec.name,
        primary=c["primary"],
        secondary=c["secondary"],
        accent=c["accent"],
        background=c["background"],
        surface=c["surface"],
        panel=c["panel"],
        foreground=c["foreground"],
        success=c["ok"],
        warning=c["warning"],
        error=c["critical"],
        dark=spec.dark,
        ansi=spec.ansi,
        variables=variables,
    )


def semantic_styles(spec: ThemeSpec) -> dict[str, Style]:
    """Rich styles for Cell.style names ("ok", "warning", "critical", "muted") and p0–p3."""
    out: dict[str, Style] = {}
    for name in SEMANTIC:
        color = Color.parse(spec.colors[name]).rich_color
        out[name] = Style(color=color, bold=name in ("critical", "p0"))
    return out
