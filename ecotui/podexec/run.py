"""One command in a container, to the end: `run_command(...) -> ExecResult` (stdout, stderr, exit code).

No tty (stdout and stderr stay apart). `stdin` bytes are sent on channel 0 and, over v5, closed with the
[255][0] frame so the program sees EOF (v4 has no way to say EOF: a program that reads stdin to its end then
runs until the timeout). The whole exec is bounded by `timeout`; output is kept up to MAX_OUTPUT bytes per
stream (the rest is counted and said).

Raises `EcotuiError` when the exec cannot start (read-only, 403, pod not found, server unreachable: one line
each, from `ecotui.kube.channels`); everything after the stream opened (a failure status, a dropped stream,
the timeout, frames that make no sense) ends up in `ExecResult.error` with whatever output arrived.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError, ForbiddenError
from ecotui.kube.channels import StreamClosed, open_stream
from ecotui.ops.access import Verb
from ecotui.podexec.protocol import (ERROR, PROTOCOLS, STDERR, STDIN, STDOUT, V5, ExecStatus, Stream, exec_params,
                                     exec_path, parse_status)
from ecotui.textsafe import one_line

MAX_OUTPUT = 1 << 20   # bytes kept per stream
STDIN_CHUNK = 32 << 10


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int | None     # None: the command did not run to an exit (see `error`)
    error: str = ""           # one line; "" when the command ran (whatever its exit code)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error


class _Capped:
    def __init__(self, limit: int = MAX_OUTPUT) -> None:
        self.buf = bytearray()
        self.limit = limit
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.limit - len(self.buf)
        if room > 0:
            self.buf += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def text(self) -> str:
        s = self.buf.decode("utf-8", "replace")
        return s + (f"\n… {self.dropped} more bytes not kept" if self.dropped else "")


def exec_verbs(namespace: str) -> list[Verb]:
    """The access reviews to make before an exec: the API server authorizes the WebSocket upgrade as `get`
    and (since AuthorizePodWebsocketUpgradeCreatePermission) `create` on pods/exec."""
    return [Verb("create", "pods", subresource="exec", namespace=namespace),
            Verb("get", "pods", subresource="exec", namespace=namespace)]


async def open_exec(api: Any, namespace: str, pod: str, container: str | None, argv: list[str], *,
                    stdin: bool, tty: bool) -> Stream:
    """Open the exec WebSocket (v5, else v4). EcotuiError (one line) when it cannot be opened."""
    path, params = exec_path(namespace, pod), exec_params(argv, container, stdin=stdin, tty=tty)
    opener = getattr(api, "open_stream", None)
    try:
        if opener is not None:
            stream: Stream = await opener(path, params, PROTOCOLS)
            return stream
        if hasattr(api, "gate") and hasattr(api, "auth"):   # a KubeClient without the delegating method
            return await open_stream(api, path, params, PROTOCOLS)
    except ForbiddenError as exc:
        if "pods/exec" in exc.message:
            raise
        # the WebSocket upgrade's `create` check (AuthorizePodWebsocketUpgradeCreatePermission) answers with a
        # bare 'pods "X" is forbidden: ': say what is missing
        raise ForbiddenError(f"{exc.message.rstrip(': ')}: exec needs get and create on pods/exec in namespace "
                             f"{namespace}", exc.hint) from None
    raise EcotuiError("exec: this session cannot open streams to the API server")


async def _send_stdin(stream: Stream, data: bytes) -> None:
    for i in range(0, len(data), STDIN_CHUNK):
        await stream.send(STDIN, data[i:i + STDIN_CHUNK])
    if stream.protocol == V5:
        await stream.close_channel(STDIN)


async def _collect(stream: Stream, out: _Capped, err: _Capped) -> ExecStatus | None:
    """Frames until the status (channel 3) or the end of the stream (None: no status came)."""
    while True:
        try:
            channel, data = await stream.recv()
        except StreamClosed:
            return None
        if channel == STDOUT:
            out.add(data)
        elif channel == STDERR:
            err.add(data)
        elif channel == ERROR:
            return parse_status(data)
        # anything else (a server's close frame, unknown channels) is ignored


async def run_command(api: Any, namespace: str, pod: str, container: str | None, argv: list[str], *,
                      stdin: bytes | None = None, timeout: float = 30.0) -> ExecResult:
    """Run `argv` in NAMESPACE/POD (container or the pod's default) and wait for its exit (v5, else v4)."""
    where = f"{namespace}/{pod}" + (f" [{container}]" if container else "")
    out, err = _Capped(), _Capped()
    status: ExecStatus | None = None
    problem = ""
    opened = False
    try:
        async with asyncio.timeout(timeout):
            stream = await open_exec(api, namespace, pod, container, argv, stdin=stdin is not None, tty=False)
            opened = True
            sender: asyncio.Task[None] | None = None
            try:
                if stdin is not None:
                    sender = asyncio.create_task(_send_stdin(stream, stdin))
                status = await _collect(stream, out, err)
            finally:
                if sender is not None:
                    sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError, EcotuiError, StreamClosed, OSError):
                        await sender
                with contextlib.suppress(Exception):
                    await stream.close()
    except TimeoutError:
        problem = f"{argv[0]} in {where}: no exit after {timeout:g}s (timed out)"
    except EcotuiError as exc:
        if not opened:
            raise   # could not start: the caller says the line
        problem = f"{argv[0]} in {where}: {exc.message}"
    except (OSError, ValueError) as exc:
        problem = f"{argv[0]} in {where}: the stream failed ({one_line(str(exc), 200) or type(exc).__name__})"
    if problem:
        return ExecResult(out.text(), err.text(), None, problem)
    if status is None:
        return ExecResult(out.text(), err.text(), None,
                          f"{argv[0]} in {where}: the stream ended without an exit status")
    if status.exit_code is None:
        if status.not_found:
            return ExecResult(out.text(), err.text(), None,
                              f"{argv[0]}: no such program in {where} ({status.message})")
        return ExecResult(out.text(), err.text(), None, f"{argv[0]} in {where}: {status.message}")
    return ExecResult(out.text(), err.text(), status.exit_code)
