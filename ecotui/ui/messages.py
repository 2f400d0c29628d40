"""Messages screens send to the App (the only way they ask for something outside themselves)."""
from __future__ import annotations

from textual.message import Message


class DescribeRequested(Message):
    """Describe the object `key` ("ns/name" or "name") of the registry kind `kind` ("pods", "deployments")."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__()
        self.kind, self.key = kind, key


class InternalProblem(Message):
    """A bug while turning snapshots into rows: the App logs it once and shows it in the header."""

    def __init__(self, error: Exception | None) -> None:
        super().__init__()
        self.error = error  # None: the problem is gone


class ActionRequested(Message):
    """Run the action `action` (an action id: "cordon", "drain", "rollout_undo" …) on the objects `keys` of the
    registry kind `kind` (the marked rows, else the row under the cursor)."""

    def __init__(self, action: str, kind: str, keys: list[str]) -> None:
        super().__init__()
        self.action, self.kind, self.keys = action, kind, keys


class LogsRequested(Message):
    """Open logs of the objects `keys` of the registry kind `kind` (previous: the previous containers)."""

    def __init__(self, kind: str, keys: list[str], previous: bool = False) -> None:
        super().__init__()
        self.kind, self.keys, self.previous = kind, keys, previous


class StreamRequested(Message):
    """[port_forward] / [shell] on the objects `keys` of the registry kind `kind` (the marked rows, else the cursor
    row): the App hands it to `ecotui.ui.forward_flow.request_forward` or `ecotui.ui.shell_flow.request_shell`."""

    def __init__(self, action: str, kind: str, keys: list[str]) -> None:
        super().__init__()
        self.action, self.kind, self.keys = action, kind, keys
