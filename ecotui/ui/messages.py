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
