"""An interactive shell in a container over the exec stream, on the local terminal (like `kubectl exec -it`).

    result = await interactive_shell(api, namespace, pod, container, Terminal.stdio())

- The local terminal goes to raw mode for the session and is restored whatever happens (try/finally), so
  Ctrl-C, Ctrl-D, arrows and tab go to the remote tty; `exit` or Ctrl-D there ends the session.
- Tries `bash`, then `/bin/sh`: a failure status saying the program does not exist, before any output, moves
  on to the next shell (KWOK and the kubelet both answer that way).
- Sends the terminal's size at the start and on every SIGWINCH (channel 4); stdin and stdout are pumped on
  the running event loop (`loop.add_reader`), so the rest of ecotui (port-forwards, informers) keeps running.
- A stream that drops prints one line on the terminal and returns (ShellResult.message says it too).

The Textual side (suspending the app around this) is `ecotui.ui.shell_flow`.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
import termios
import tty
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.kube.channels import StreamClosed
from ecotui.podexec.protocol import (ERROR, RESIZE, STDERR, STDIN, STDOUT, V5, ExecStatus, Stream, parse_status,
                                     resize_frame)
from ecotui.podexec.run import open_exec
from ecotui.textsafe import one_line

SHELLS: tuple[tuple[str, ...], ...] = (("bash",), ("/bin/sh",))
READ_SIZE = 4096


@dataclass(frozen=True)
class ShellResult:
    exit_code: int | None          # the shell's exit code; None when it did not end by itself
    command: tuple[str, ...]       # the shell that ran (the last one tried)
    message: str = ""              # one line when it ended badly ("" after a normal exit)


class Terminal:
    """The local terminal: where keys come from (`in_fd`) and output goes (`out_fd`)."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd

    @classmethod
    def stdio(cls) -> Terminal:
        """stdin, and the first of stdout / stderr that is a terminal (Textual draws on stderr)."""
        outs = [f for f in (sys.__stdout__, sys.__stderr__) if f is not None]
        if sys.__stdin__ is None or not outs:
            raise EcotuiError("shell: no terminal (stdin/stdout are closed)")
        out = next((f for f in outs if f.isatty()), outs[0])
        return cls(sys.__stdin__.fileno(), out.fileno())

    def size(self) -> tuple[int, int]:
        """(columns, rows); 80×24 when the output is not a terminal."""
        for fd in (self.out_fd, self.in_fd):
            try:
                s = os.get_terminal_size(fd)
                if s.columns and s.lines:
                    return s.columns, s.lines
            except OSError:
                continue
        return 80, 24

    @contextlib.contextmanager
    def raw(self) -> Iterator[None]:
        """Raw mode on the input terminal for the block; the saved mode comes back on any exit."""
        try:
            saved = termios.tcgetattr(self.in_fd)
        except (termios.error, OSError):
            yield   # not a terminal (a pipe in tests): nothing to switch
            return
        try:
            tty.setraw(self.in_fd, termios.TCSANOW)
            yield
        finally:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.in_fd, termios.TCSADRAIN, saved)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.out_fd, view)
            except BlockingIOError:   # a non-blocking terminal that is full: wait until it drains a little
                select.select([], [self.out_fd], [], 0.1)
                continue
            except OSError:
                return   # the terminal went away: nothing more to show
            view = view[n:]

    def say(self, line: str) -> None:
        """One line of ecotui's own (at the start of a line, whatever mode the terminal is in)."""
        self.write(f"\r\n{one_line(line, 400)}\r\n".encode("utf-8", "replace"))


class _NotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def interactive_shell(api: Any, namespace: str, pod: str, container: str | None, terminal: Terminal, *,
                            shells: Sequence[Sequence[str]] = SHELLS, watch_resize: bool = True,
                            banner: str = "") -> ShellResult:
    """Run a shell in the container on `terminal` until it exits. EcotuiError (one line) when the exec cannot
    be opened at all (read-only, 403, pod gone, server down); the terminal mode is restored in every case.
    `banner` is one line shown before the shell starts."""
    where = f"{namespace}/{pod}" + (f" [{container}]" if container else "")
    last = ""
    if banner:
        terminal.write(f"{one_line(banner, 400)}\r\n".encode("utf-8", "replace"))
    with terminal.raw():
        for argv in shells:
            try:
                return await _session(api, namespace, pod, container, tuple(argv), terminal, watch_resize, where)
            except _NotFound as nf:
                last = nf.message
                continue
    msg = f"no shell in {where}: tried {', '.join(' '.join(s) for s in shells)} ({last})"
    terminal.say(f"ecotui: {msg}")
    return ShellResult(None, tuple(shells[-1]) if shells else (), msg)


async def _session(api: Any, namespace: str, pod: str, container: str | None, argv: tuple[str, ...],
                   terminal: Terminal, watch_resize: bool, where: str) -> ShellResult:
    loop = asyncio.get_running_loop()
    stream: Stream = await open_exec(api, namespace, pod, container, list(argv), stdin=True, tty=True)
    outgoing: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
    reading = watching = parked = False
    got_output = False
    recv: asyncio.Future[tuple[int, bytes]] | None = None

    def on_key() -> None:
        nonlocal reading
        try:
            data = os.read(terminal.in_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            outgoing.put_nowait((STDIN, data))
            return
        loop.remove_reader(terminal.in_fd)   # local EOF: tell the remote side once (v5), read no more
        reading = False
        outgoing.put_nowait(None)

    def on_winch() -> None:
        outgoing.put_nowait((RESIZE, resize_frame(*terminal.size())))

    async def pump_out() -> None:
        while (item := await outgoing.get()) is not None:
            await stream.send(*item)
        if stream.protocol == V5:
            await stream.close_channel(STDIN)

    async def parked_forever() -> None:
        await asyncio.Event().wait()

    sender: asyncio.Future[None] = asyncio.create_task(pump_out())
    try:
        outgoing.put_nowait((RESIZE, resize_frame(*terminal.size())))
        loop.add_reader(terminal.in_fd, on_key)
        reading = True
        if watch_resize:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(signal.SIGWINCH, on_winch)
                watching = True
        status: ExecStatus | None = None
        dropped = ""
        send_error: BaseException | None = None
        while True:
            if recv is None:
                recv = asyncio.ensure_future(stream.recv())
            pending: list[asyncio.Future[Any]] = [recv, sender]
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if sender.done() and not parked:
                # stdin ended (local EOF) or sending failed: keep reading what the remote side still says
                send_error = None if sender.cancelled() else sender.exception()
                sender, parked = asyncio.ensure_future(parked_forever()), True
            if not recv.done():
                continue
            got, recv = recv, None
            try:
                channel, data = got.result()
            except StreamClosed:
                break
            except (EcotuiError, OSError) as exc:
                dropped = _why(exc)
                break
            if channel in (STDOUT, STDERR):
                got_output = True
                terminal.write(data)
            elif channel == ERROR:
                status = parse_status(data)
                break
        if not dropped and send_error is not None:
            dropped = _why(send_error)
    finally:
        if recv is not None:
            recv.cancel()
            await asyncio.wait({recv})
        if reading:
            loop.remove_reader(terminal.in_fd)
        if watching:
            loop.remove_signal_handler(signal.SIGWINCH)
        sender.cancel()
        await asyncio.wait({sender})
        with contextlib.suppress(Exception):
            await stream.close()
    if status is None:
        msg = f"the connection to the shell in {where} was lost" + (f" ({dropped})" if dropped else "")
        terminal.say(f"ecotui: {msg}")
        return ShellResult(None, argv, msg)
    if status.not_found and not got_output:
        raise _NotFound(status.message)
    if status.exit_code is None:
        msg = f"{' '.join(argv)} in {where}: {status.message}"
        terminal.say(f"ecotui: {msg}")
        return ShellResult(None, argv, msg)
    return ShellResult(status.exit_code, argv)


def _why(exc: BaseException) -> str:
    if isinstance(exc, EcotuiError):
        return one_line(exc.message, 200)
    return one_line(str(exc), 200) or type(exc).__name__
