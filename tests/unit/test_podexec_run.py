"""run_command against a fake exec endpoint on 127.0.0.1 (tests/unit/podexec_fakes.py): output and exit codes,
v5 then v4, stdin with EOF, timeouts, dropped streams, refusals before anything is sent."""
from __future__ import annotations

import time

import pytest

from ecotui.errors import ForbiddenError, ReadOnlyError
from ecotui.kube.client import HttpStatusError
from ecotui.podexec.run import run_command
from podexec_fakes import fake  # noqa: F401 (fixture)


async def test_stdout_and_success(fake):
    client = fake.client()
    r = await run_command(client, "ns", "db-0", "postgres", ["echo", "hello", "world"])
    assert r.stdout == "hello world\n" and r.stderr == "" and r.exit_code == 0 and r.ok
    q = fake.requests[-1]
    assert q["command"] == ["echo", "hello", "world"] and q["container"] == ["postgres"]
    assert q["stdin"] == ["false"] and q["tty"] == ["false"] and q["stderr"] == ["true"]
    await client.aclose()


async def test_non_zero_exit_with_stderr(fake):
    client = fake.client()
    r = await run_command(client, "ns", "db-0", None, ["fail", "3"])
    assert r.exit_code == 3 and r.stderr == "boom\n" and not r.ok and r.error == ""
    r = await run_command(client, "ns", "db-0", None, ["kwokfail", "5"])
    assert r.exit_code == 5 and r.stdout == "partial\n"
    await client.aclose()


async def test_v4_fallback(fake):
    fake.protocols = ("v4.channel.k8s.io",)
    client = fake.client()
    r = await run_command(client, "ns", "db-0", None, ["echo", "v4"])
    assert r.stdout == "v4\n" and r.exit_code == 0
    await client.aclose()


async def test_stdin_then_eof_over_v5(fake):
    client = fake.client()
    data = b"x" * 100_000 + b"end"
    r = await run_command(client, "ns", "db-0", None, ["cat"], stdin=data, timeout=10)
    assert r.exit_code == 0 and r.stdout.encode() == data
    assert fake.stdin_seen[-1] == data and fake.requests[-1]["stdin"] == ["true"]
    await client.aclose()


async def test_command_not_found_is_an_error_line(fake):
    client = fake.client()
    r = await run_command(client, "ns", "db-0", None, ["nosuch"])
    assert r.exit_code is None and "executable file not found" in r.error and "ns/db-0" in r.error
    assert r.error.startswith("nosuch: no such program in ns/db-0")
    await client.aclose()


async def test_timeout_dropped_and_garbage(fake):
    client = fake.client()
    t0 = time.monotonic()
    r = await run_command(client, "ns", "db-0", None, ["hang"], timeout=0.5)
    assert time.monotonic() - t0 < 3 and r.exit_code is None and "timed out" in r.error
    r = await run_command(client, "ns", "db-0", None, ["drop"])
    assert r.stdout == "half" and r.exit_code is None and "without an exit status" in r.error
    r = await run_command(client, "ns", "db-0", None, ["garbage"])
    assert r.exit_code is None and "not json" in r.error
    await client.aclose()


async def test_refusals_raise_one_line_before_anything_is_sent(fake):
    ro = fake.client(readonly=True)
    with pytest.raises(ReadOnlyError) as e:
        await run_command(ro, "ns", "db-0", None, ["echo", "x"])
    assert "read-only" in e.value.message and fake.upgrades == 0
    await ro.aclose()
    fake.forbidden.add("ns/db-0")
    client = fake.client()
    with pytest.raises(ForbiddenError) as f:
        await run_command(client, "ns", "db-0", None, ["echo", "x"])
    assert "pods/exec" in f.value.message and "\n" not in f.value.message
    with pytest.raises(HttpStatusError) as nf:
        await run_command(client, "ns", "gone-1", None, ["echo", "x"])
    assert nf.value.status == 404 and "not found" in nf.value.message
    await client.aclose()


async def test_bare_forbidden_of_the_upgrade_says_what_is_missing(fake):
    fake.forbidden_bare.add("ns/db-0")
    client = fake.client()
    with pytest.raises(ForbiddenError) as f:
        await run_command(client, "ns", "db-0", None, ["echo", "x"])
    assert f.value.message.endswith('pods "db-0" is forbidden: exec needs get and create on pods/exec in namespace ns')
    await client.aclose()
