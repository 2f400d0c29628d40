"""The `:` prompt: parse one command line into (verb, argument). Pure; no Textual.

Every kind of the registry is a command by each of its names (`:deploy`, `:deployments`, `:sts`, `:secret`):
the cockpit's own kinds (nodes, pods, events) focus their pane, every other kind opens its list view.
"""
from __future__ import annotations

from typing import NamedTuple

from ecotui.kinds.registry import all_specs, lookup

_VIEWS = ", ".join(s.names[-1] for s in all_specs() if s.id not in ("nodes", "pods", "events"))
HELP = f"commands: ns NAME|all, ctx NAME, theme NAME, nodes, pods, events, {_VIEWS}, clusters, help, q"

_VERBS = {
    "ns": "ns", "namespace": "ns",
    "ctx": "ctx", "context": "ctx",
    "theme": "theme",
    "q": "quit", "quit": "quit", "q!": "quit",
    "nodes": "focus", "no": "focus", "node": "focus",
    "pods": "focus", "po": "focus", "pod": "focus",
    "events": "focus", "ev": "focus", "event": "focus",
    "help": "help", "?": "help",
    "clusters": "clusters", "eks": "clusters",
}
_PANES = {"nodes": "nodes", "no": "nodes", "node": "nodes", "pods": "pods", "po": "pods", "pod": "pods",
          "events": "events", "ev": "events", "event": "events"}
_NEEDS_ARG = {"ns", "ctx"}


class Command(NamedTuple):
    verb: str      # "ns" | "ctx" | "theme" | "quit" | "focus" | "view" | "help" | "clusters"
    arg: str = ""  # ns: a name or "all"; ctx: a context; theme: a name or "" (cycle); focus: pane; view: kind id


def parse_command(line: str) -> Command:
    """Raise ValueError with one clear line for an unknown or incomplete command."""
    text = line.strip()
    if text.startswith(":"):
        text = text[1:].strip()
    if not text:
        raise ValueError(f"empty command; {HELP}")
    word, _, rest = text.partition(" ")
    verb = _VERBS.get(word.lower())
    spec = lookup(word) if verb is None else None
    if spec is not None:
        if rest.strip():
            raise ValueError(f"{word} takes no argument")
        return Command("view", spec.id)
    if verb is None:
        raise ValueError(f"unknown command {word!r}; {HELP}")
    arg = rest.strip()
    if verb == "focus":
        if arg:
            raise ValueError(f"{word} takes no argument")
        return Command("focus", _PANES[word.lower()])
    if verb in ("quit", "help", "clusters"):
        if arg:
            raise ValueError(f"{word} takes no argument")
        return Command(verb)
    if verb == "ns" and not arg:  # k9s: `:ns` alone is the Namespaces view; `:ns NAME` switches to NAME
        return Command("view", "namespaces")
    if verb in _NEEDS_ARG and not arg:
        raise ValueError(f"{word} needs a name (e.g. {word} {'all' if verb == 'ns' else 'my-context'})")
    if " " in arg:
        raise ValueError(f"{word} takes one name, got {arg!r}")
    return Command(verb, arg)
