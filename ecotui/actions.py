"""The one registry of key actions.

Each action has a stable id (used as the Textual ``Binding`` id, as the key in ``keymaps.yaml``
and on the help screen), a description and a group. Groups say where a binding lives:

* ``global`` – bound on the App/screen, active everywhere (a key here must not be reused anywhere);
* ``table``  – bound on the resource tables (pods, nodes, events);
* ``describe`` – bound on the describe/detail view.

Two actions clash when they share a key and are in the same group, or one of them is global.
The default keys live in ``keymaps.yaml`` (repo root), not here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    description: str
    group: str          # "global" | "table" | "describe"


GROUPS: tuple[str, ...] = ("global", "table", "describe")

_SPECS: tuple[ActionSpec, ...] = (
    # global
    ActionSpec("quit", "Quit ecotui", "global"),
    ActionSpec("help", "Show keys and help", "global"),
    ActionSpec("command", "Open the command prompt (:pods, :ns NAME, :ctx NAME …)", "global"),
    ActionSpec("filter", "Filter rows: text, or a label selector like app=x,tier!=db", "global"),
    ActionSpec("clear_filter", "Clear the current filter", "global"),
    ActionSpec("switch_context", "Switch cluster context", "global"),
    ActionSpec("switch_namespace", "Switch namespace", "global"),
    ActionSpec("all_namespaces", "Show all namespaces", "global"),
    ActionSpec("focus_nodes", "Go to the nodes pane", "global"),
    ActionSpec("focus_pods", "Go to the pods pane", "global"),
    ActionSpec("focus_events", "Go to the events pane", "global"),
    ActionSpec("next_pane", "Focus the next pane", "global"),
    ActionSpec("prev_pane", "Focus the previous pane", "global"),
    ActionSpec("theme", "Cycle the colour theme", "global"),
    ActionSpec("refresh", "Re-list and re-watch every kind (drops the caches)", "global"),
    ActionSpec("back", "Back: close the dialog or view, or clear the filter", "global"),
    # table
    ActionSpec("open", "Open the selected row: a node's pods, a pod's description", "table"),
    ActionSpec("describe", "Describe the selected object", "table"),
    ActionSpec("sort", "Sort by the next column", "table"),
    ActionSpec("sort_reverse", "Reverse the sort order", "table"),
    ActionSpec("cursor_down", "Move down", "table"),
    ActionSpec("cursor_up", "Move up", "table"),
    ActionSpec("cursor_top", "Go to the first row", "table"),
    ActionSpec("cursor_bottom", "Go to the last row", "table"),
    ActionSpec("page_down", "Page down", "table"),
    ActionSpec("page_up", "Page up", "table"),
    # describe view
    ActionSpec("scroll_down", "Scroll down", "describe"),
    ActionSpec("scroll_up", "Scroll up", "describe"),
    ActionSpec("scroll_top", "Scroll to the top", "describe"),
    ActionSpec("scroll_bottom", "Scroll to the bottom", "describe"),
)

ACTIONS: dict[str, ActionSpec] = {spec.id: spec for spec in _SPECS}


def actions_in(group: str) -> list[ActionSpec]:
    """Actions of one group, in registry order (for building Bindings and the help screen)."""
    return [a for a in _SPECS if a.group == group]
