"""The interactive shell bridged to a real pty (os.openpty) against the fake exec endpoint: bash missing → /bin/sh,
keys in and output out, raw mode on and restored, SIGWINCH → a resize frame, exit codes, Ctrl-D, a dropped
stream said in one line."""
from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import termios
import time

import pytest_asyncio

from ecotui.podexec.shell import Terminal, interactive_shell
from podexec_fakes import fake  # noqa: F401 (fixture)


@pytest_asyncio.fixture
async def pty_pair():
    master, slave = os.openpty()
    set_size(slave, 100, 30)
    try:
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Reader:
    """Everything the 'terminal' shows (the pty master), read on the loop with a bounded wait."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buf = fd, bytearray()

    async def until(self, needle: bytes, timeout: float = 5.0) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while needle not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {needle!r}; got {bytes(self.buf)!r}"
            ready = loop.create_future()
            loop.add_reader(self.fd, lambda: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, left)
            except TimeoutError:
                pass
            finally:
                loop.remove_reader(self.fd)
            try:
                self.buf += os.read(self.fd, 65536)
            except (BlockingIOError, OSError):
                pass
        return bytes(self.buf)


async def test_bash_missing_falls_back_to_sh_and_runs_commands(fake, pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    client = fake.client()
    task = asyncio.create_task(interactive_shell(client, "ns", "db-0", "db", Terminal(slave, slave)))
    term = Reader(master)
    await term.until(b"$ ")
    assert termios.tcgetattr(slave) != before          # raw mode while the shell runs
    assert not termios.tcgetattr(slave)[3] & termios.ECHO
    os.write(master, b"echo hello-2\r")
    await term.until(b"hello-2\r\n$ ")
    set_size(slave, 120, 40)
    os.kill(os.getpid(), signal.SIGWINCH)
    await asyncio.sleep(0.2)
    os.write(master, b"size\r")
    await term.until(b"120x40")
    os.write(master, b"exit 3\r")
    result = await asyncio.wait_for(task, 5)
    assert result.exit_code == 3 and result.command == ("/bin/sh",) and result.message == ""
    assert [q["command"] for q in fake.requests] == [["bash"], ["/bin/sh"]]
    q = fake.requests[-1]
    assert q["tty"] == ["true"] and q["stdin"] == ["true"] and q["container"] == ["db"]
    assert fake.resizes[0] == {"Width": 100, "Height": 30}      # the size at the start
    assert termios.tcgetattr(slave) == before          # restored
    await client.aclose()


async def test_ctrl_d_ends_the_shell(fake, pty_pair):
    master, slave = pty_pair
    client = fake.client()
    task = asyncio.create_task(interactive_shell(client, "ns", "db-0", None, Terminal(slave, slave),
                                                 shells=(("sh",),)))
    await Reader(master).until(b"$ ")
    os.write(master, b"\x04")
    result = await asyncio.wait_for(task, 5)
    assert result.exit_code == 0
    await client.aclose()


async def test_dropped_stream_says_one_line(fake, pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    client = fake.client()
    result = await asyncio.wait_for(interactive_shell(client, "ns", "db-0", None, Terminal(slave, slave),
                                                      shells=(("drop",),)), 5)
    assert result.exit_code is None and "connection to the shell in ns/db-0 was lost" in result.message
    shown = await Reader(master).until(b"was lost")
    assert b"half" in shown and shown.count(b"ecotui:") == 1
    assert termios.tcgetattr(slave) == before
    await client.aclose()


async def test_no_shell_at_all(fake, pty_pair):
    master, slave = pty_pair
    client = fake.client()
    result = await asyncio.wait_for(interactive_shell(client, "ns", "db-0", None, Terminal(slave, slave),
                                                      shells=(("nosuch",), ("nope",))), 5)
    assert result.exit_code is None and result.message.startswith("no shell in ns/db-0: tried nosuch, nope")
    await client.aclose()


async def test_open_failure_raises_and_restores(fake, pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    fake.forbidden.add("ns/db-0")
    client = fake.client()
    try:
        await interactive_shell(client, "ns", "db-0", None, Terminal(slave, slave))
    except Exception as exc:  # noqa: BLE001
        assert "pods/exec" in getattr(exc, "message", "")
    else:
        raise AssertionError("a 403 must raise")
    assert termios.tcgetattr(slave) == before
    await client.aclose()
