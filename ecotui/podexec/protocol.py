"""The exec stream of the API server, framed like kubectl's `remotecommand` WebSocket client.

`GET /api/v1/namespaces/NS/pods/POD/exec?command=a&command=b&container=C&stdin=..&stdout=..&stderr=..&tty=..`
upgraded to a WebSocket with the subprotocols `v5.channel.k8s.io` then `v4.channel.k8s.io`. Every binary frame
is `[channel][payload]`:

    0 stdin (client → server)      1 stdout            2 stderr (absent with tty=true: merged into stdout)
    3 error/status: one metav1.Status JSON at the end (Success, or Failure: NonZeroExitCode + ExitCode cause)
    4 resize (client → server): {"Width": W, "Height": H}
    v5 only: [255][channel] closes that channel (stdin EOF)

KWOK v0.8.0 (the testbed's kubelet) reports a non-zero exit as an InternalError whose message ends with
"exit status N", and a missing program as a Failure "... executable file not found ..." before any output:
`parse_status` reads all of these into one `ExecStatus`.

The stream itself is `ecotui.kube.channels.ChannelStream` (opened with `api.open_stream(path, params,
protocols)`); everything here is pure.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from ecotui.textsafe import one_line

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS: tuple[str, ...] = (V5, V4)

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4

_EXIT_STATUS = re.compile(r"exit (?:status|code) (-?\d+)")
_REPEATED = re.compile(r"([^:]{1,80}: )\1+")   # "Internal error occurred: Internal error occurred: …" (apiserver + KWOK)
_NOT_FOUND = ("executable file not found", "no such file or directory", "not found in $path")


class Stream(Protocol):
    """What the exec code needs of `ecotui.kube.channels.ChannelStream` (tests pass fakes)."""

    protocol: str

    async def send(self, channel: int, data: bytes) -> None: ...

    async def recv(self) -> tuple[int, bytes]: ...

    async def close_channel(self, channel: int) -> None: ...

    async def close(self) -> None: ...


def exec_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec"


def exec_params(argv: list[str], container: str | None, *, stdin: bool, tty: bool) -> list[tuple[str, str]]:
    """Query parameters like kubectl's: every argv item a `command`; with a tty no stderr (it is merged)."""
    if not argv:
        raise ValueError("exec: no command given")
    params = [("command", a) for a in argv]
    if container:
        params.append(("container", container))
    params += [("stdin", "true" if stdin else "false"), ("stdout", "true"),
               ("stderr", "false" if tty else "true"), ("tty", "true" if tty else "false")]
    return params


def resize_frame(width: int, height: int) -> bytes:
    """The payload of a channel-4 frame."""
    return json.dumps({"Width": max(0, int(width)), "Height": max(0, int(height))}).encode()


@dataclass(frozen=True)
class ExecStatus:
    """The end of an exec: `exit_code` 0 on Success, N for a non-zero exit, None when the command did not run
    (then `message` says why); `not_found` when the program does not exist in the container."""

    exit_code: int | None
    message: str = ""
    not_found: bool = False

    @property
    def success(self) -> bool:
        return self.exit_code == 0


def parse_status(data: bytes) -> ExecStatus:
    """Channel 3's payload: a metav1.Status (v4/v5), or plain error text (older servers, KWOK errors)."""
    text = data.decode("utf-8", "replace").strip()
    try:
        doc: Any = json.loads(text) if text.startswith("{") else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        if not text:
            return ExecStatus(0)
        return _from_message(text, None)
    if doc.get("status") == "Success":
        return ExecStatus(0)
    message = str(doc.get("message") or doc.get("reason") or "the command failed")
    code: int | None = None
    if doc.get("reason") == "NonZeroExitCode":
        details: dict[str, Any] = doc["details"] if isinstance(doc.get("details"), dict) else {}
        for cause in details.get("causes") or ():
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    code = int(str(cause.get("message", "")).strip())
                except ValueError:
                    pass
    return _from_message(message, code)


def _from_message(message: str, code: int | None) -> ExecStatus:
    message = _REPEATED.sub(r"\1", message[:4000])
    line = one_line(message, 300)
    if code is None:
        m = _EXIT_STATUS.search(message)
        if m:
            code = int(m.group(1))
    if code is not None:
        return ExecStatus(code, line)
    low = message.lower()
    return ExecStatus(None, line, not_found=any(n in low for n in _NOT_FOUND))
