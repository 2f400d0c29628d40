"""The harmless programs KWOK runs for `kubectl exec` (testbed/fakesh.py through the testbed/fakebin.py stubs)."""
import io
import os
import pty
import select
import subprocess
import time

import pytest

from testbed import fakebin, fakesh


def run(argv, stdin="", tty=False):
    out, err = io.StringIO(), io.StringIO()
    code = {"psql": fakesh.psql, "redis-cli": fakesh.redis_cli}.get(argv[0])
    sio = fakesh.Io(io.StringIO(stdin), out, err, tty)
    rc = code(argv[1:], sio) if code else fakesh.main_shell(argv[1:], sio, argv[0])
    return rc, out.getvalue(), err.getvalue()


def test_psql_select_1_prints_psqls_table():
    assert run(["psql", "-U", "ecotrack", "-d", "ecotrack", "-c", "SELECT 1;"]) == (
        0, " ?column? \n----------\n        1\n(1 row)\n", "")
    assert run(["psql", "-tAc", "select 1"]) == (0, "1\n", "")
    rc, out, _ = run(["psql", "-c", "select version()"])
    assert rc == 0 and "PostgreSQL 15.8" in out and out.endswith("(1 row)\n")


def test_psql_other_statements_fail_like_psql():
    rc, out, err = run(["psql", "-c", "DROP TABLE users;"])
    assert rc == 1 and out == "" and err.startswith("ERROR:  ")


def test_psql_reads_statements_from_stdin():
    rc, out, _ = run(["psql", "-U", "ecotrack"], stdin="SELECT 1;\n\\q\nSELECT 1;\n")
    assert rc == 0 and out == fakesh.SELECT_1


def test_redis_cli():
    assert run(["redis-cli", "ping"]) == (0, "PONG\n", "")
    assert run(["redis-cli", "-h", "redis-0", "-p", "6379", "PING"]) == (0, "PONG\n", "")
    assert run(["redis-cli", "ping", "hello"])[1] == '"hello"\n'
    rc, out, _ = run(["redis-cli", "flushall"])
    assert rc == 1 and out.startswith("(error) ERR unknown command 'flushall'")
    assert run(["redis-cli"], stdin="ping\nquit\nping\n") == (0, "PONG\n", "")


def test_shell_builtins_and_sequences():
    assert run(["sh", "-c", "echo hello world"]) == (0, "hello world\n", "")
    assert run(["bash", "-c", "hostname; pwd"]) == (0, "ecotrack-testbed\n/\n", "")
    assert run(["sh", "-c", "false && echo no || echo yes"]) == (0, "yes\n", "")
    assert run(["sh", "-c", "exit 3"])[0] == 3
    assert run(["sh", "-c", "psql -c 'SELECT 1;'"]) == (0, fakesh.SELECT_1, "")
    assert run(["sh", "-c", "redis-cli ping"]) == (0, "PONG\n", "")
    assert run(["sh", "-c", "sh -c 'echo nested'"]) == (0, "nested\n", "")


def test_shell_unknown_command_is_127_and_nothing_else_runs():
    assert run(["sh", "-c", "rm -rf /"]) == (127, "", "sh: rm: not found\n")
    assert run(["bash", "-c", "ls"]) == (127, "", "sh: ls: not found\n")
    rc, _, err = run(["sh", "-c", "echo a | cat"])
    assert rc == 2 and "not supported" in err
    rc, _, err = run(["sh", "-c", "echo 'unterminated"])
    assert rc == 2 and "unterminated" in err


def test_shell_reads_lines_prompt_only_on_a_terminal():
    script = "echo one\nnosuch\nexit 4\necho never\n"
    assert run(["sh"], stdin=script) == (4, "one\n", "sh: nosuch: not found\n")
    rc, out, _ = run(["bash"], stdin="echo one\n", tty=True)
    assert rc == 0 and out == "$ one\n$ \n"
    assert run(["sh"], stdin="")[0] == 0  # EOF at once (kubectl exec without -i): exits 0


@pytest.fixture(scope="module")
def bindir(tmp_path_factory):
    return fakebin.install(tmp_path_factory.mktemp("exec") / "bin")


def _env(bindir):
    return {"PATH": str(bindir), "HOME": str(bindir.parent / "sandbox")}


def test_stubs_run_by_name_with_pipes(bindir):
    assert sorted(os.listdir(bindir)) == sorted(fakebin.PROGRAMS)
    env = _env(bindir)
    p = subprocess.run(["psql", "-U", "ecotrack", "-d", "ecotrack", "-c", "SELECT 1;"], env=env,
                       capture_output=True, text=True, timeout=20, cwd=bindir.parent / "sandbox")
    assert (p.returncode, p.stdout, p.stderr) == (0, fakesh.SELECT_1, "")
    p = subprocess.run([str(bindir / "redis-cli"), "ping"], env=env, capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout) == (0, "PONG\n")
    p = subprocess.run([str(bindir / "sh")], input="echo piped\nnosuch\n", env=env, capture_output=True, text=True,
                       timeout=20)
    assert (p.returncode, p.stdout, p.stderr) == (127, "piped\n", "sh: nosuch: not found\n")
    # installing again keeps identical stubs untouched
    before = (bindir / "sh").stat().st_mtime_ns
    fakebin.install(bindir)
    assert (bindir / "sh").stat().st_mtime_ns == before


def _read_until(fd, needle: bytes, timeout: float = 10.0) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_stub_shell_over_a_pty(bindir):
    """As KWOK runs it for `kubectl exec -it`: stdin/stdout/stderr on a pty (not a controlling terminal)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(bindir / "bash")], stdin=slave, stdout=slave, stderr=slave, env=_env(bindir),
                         close_fds=True)
    os.close(slave)
    try:
        assert b"$ " in _read_until(master, b"$ ")
        os.write(master, b"echo hi-there\n")
        out = _read_until(master, b"hi-there\r\n$ ")
        assert b"hi-there\r\n$ " in out, out
        os.write(master, b"redis-cli ping\n")
        assert b"PONG\r\n" in _read_until(master, b"PONG\r\n$ ")
        os.write(master, b"exit 7\n")
        assert p.wait(timeout=10) == 7
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_piped_stdin_that_never_closes_ends_after_idle(bindir):
    """KWOK never closes the exec'd program's stdin pipe: the shell takes PIPE_IDLE s of silence as the end."""
    p = subprocess.Popen([str(bindir / "sh")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=_env(bindir))
    try:
        t0 = time.monotonic()
        p.stdin.write(b"echo one\nhostname\n")
        p.stdin.flush()
        assert p.wait(timeout=fakesh.PIPE_IDLE + 8) == 0
        assert fakesh.PIPE_IDLE <= time.monotonic() - t0 < fakesh.PIPE_IDLE + 8
        assert p.stdout.read() == b"one\necotrack-testbed\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdin.close()
