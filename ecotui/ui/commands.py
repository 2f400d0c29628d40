"""The `:` prompt: parse one command line into (verb, argument). Pure; no Textual."""
from __future__ import annotations

from typing import NamedTuple

HELP = "commands: ns NAME|all, ctx NAME, theme NAME, nodes, pods, events, help, q"

_VERBS = {
    "ns": "ns", "namespace": "ns",
    "ctx": "ctx", "context": "ctx",
    "theme": "theme",
    "q": "quit", "quit": "quit", "q!": "quit",
    "nodes": "focus", "no": "focus", "node": "focus",
    "pods": "focus", "po": "focus", "pod": "focus",
    "events": "focus", "ev": "focus", "event": "focus",
    "help": "help", "?": "help",
}
_PANES = {"nodes": "nodes", "no": "nodes", "node": "nodes", "pods": "pods", "po": "pods", "pod": "pods",
          "events": "events", "ev": "events", "event": "events"}
_NEEDS_ARG = {"ns", "ctx"}


class Command(NamedTuple):
    verb: str      # "ns" | "ctx" | "theme" | "quit" | "focus" | "help"
    arg: str = ""  # ns: a name or "all"; ctx: a context; theme: a name or "" (cycle); focus: pane


def parse_command(line: str) -> Command:
    """Raise ValueError with one clear line for an unknown or incomplete command."""
    text = line.strip()
    if text.startswith(":"):
        text = text[1:].strip()
    if not text:
        raise ValueError(f"empty command; {HELP}")
    word, _, rest = text.partition(" ")
    verb = _VERBS.get(word.lower())
    if verb is None:
        raise ValueError(f"unknown command {word!r}; {HELP}")
    arg = rest.strip()
    if verb == "focus":
        if arg:
            raise ValueError(f"{word} takes no argument")
        return Command("focus", _PANES[word.lower()])
    if verb in ("quit", "help"):
        if arg:
            raise ValueError(f"{word} takes no argument")
        return Command(verb)
    if verb in _NEEDS_ARG and not arg:
        raise ValueError(f"{word} needs a name (e.g. {word} {'all' if verb == 'ns' else 'my-context'})")
    if " " in arg:
        raise ValueError(f"{word} takes one name, got {arg!r}")
    return Command(verb, arg)
