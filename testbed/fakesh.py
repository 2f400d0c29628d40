"""The harmless programs KWOK runs for `kubectl exec` on the testbed: a tiny shell, psql and redis-cli look-alikes.

KWOK's ClusterExec runs the requested argv as a local process (Go's exec.Command, argv[0] looked up in the kwok
process's PATH). The testbed starts kwok with PATH = a fake-bin directory (testbed/fakebin.py) holding `sh`, `bash`,
`psql` and `redis-cli` stubs that run this file; the program is chosen by the name it was called as. Nothing here
ever starts another process, touches files or the network: every command is answered in Python.

    sh / bash            prompt `$ ` when stdin is a terminal (none on pipes); builtins echo [-n], hostname
                         (ecotrack-testbed), pwd, cd, whoami, true, false, exit [N], psql, redis-cli, sh/bash;
                         `;` `&&` `||` between commands; no variables, globs, pipes or redirections;
                         anything else: "sh: NAME: not found" on stderr, status 127. `sh -c "LINE"` runs one line.
                         Piped stdin ends at EOF or after PIPE_IDLE s without input (KWOK never closes it).
    psql [-U u] [-d db] [-h h] [-p p] [-t] [-A] -c "SELECT 1;"   prints psql's table (see SELECT_1);
                         no -c: reads statements from stdin (prompt `ecotrack=# ` on a terminal, \\q quits)
    redis-cli [-h h] [-p p] [-a pw] [-n db] ping            PONG (also ECHO, INFO server, DBSIZE);
                         no command: reads commands from stdin (prompt `127.0.0.1:6379> ` on a terminal)

Stdlib only, and importable from anywhere (the stubs run it with `python -I`).
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Callable, TextIO

HOSTNAME = "ecotrack-testbed"
SELECT_1 = " ?column? \n----------\n        1\n(1 row)\n"
VERSION = "PostgreSQL 15.8 on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
SEPARATORS = (";", "&&", "||")
PIPE_IDLE = 2.0  # seconds without input on a stdin pipe that count as its end (see Io)


class Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Io:
    """stdin/stdout/stderr. `idle`: when stdin is a pipe, that many seconds without input count as EOF — KWOK
    v0.8.0 copies the exec stream into the program's stdin pipe and never closes it (execInContainer), so a
    program reading piped input (`kubectl exec -i POD -- sh < script`) would otherwise wait forever."""

    def __init__(self, stdin: TextIO, stdout: TextIO, stderr: TextIO, tty: bool, idle: float | None = None) -> None:
        self.stdin, self.stdout, self.stderr, self.tty, self.idle = stdin, stdout, stderr, tty, idle
        self._buf = b""
        self._eof = False

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    def lines(self, prompt: str):
        """stdin line by line, with `prompt` before each when it is a terminal; stops at EOF."""
        while True:
            if self.tty:
                self.out(prompt)
            line = self.stdin.readline() if self.idle is None or self.tty else self._pipe_line()
            if not line:
                if self.tty:
                    self.out("\n")
                return
            yield line.rstrip("\r\n")

    def _pipe_line(self) -> str:
        """The next line of a pipe read with os.read ('' at EOF or after `idle` seconds without input)."""
        import select
        fd = self.stdin.fileno()
        while b"\n" not in self._buf and not self._eof:
            ready, _, _ = select.select([fd], [], [], self.idle)
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                self._eof = True
            self._buf += chunk
        line, nl, self._buf = self._buf.partition(b"\n")
        return (line + nl).decode("utf-8", "replace")


# --- psql ------------------------------------------------------------------------------------------------------

def _sql(stmt: str, tuples_only: bool, unaligned: bool) -> tuple[str, str, int]:
    """(stdout, stderr, status) of one statement."""
    norm = " ".join(stmt.strip().rstrip(";").split()).lower()
    if norm in ("select 1", "select 1 as ?column?"):
        header, rows = "?column?", ["1"]
    elif norm == "select version()":
        header, rows = "version", [VERSION]
    elif norm in ("select now()", "select current_timestamp"):
        header, rows = "now", [time.strftime("%Y-%m-%d %H:%M:%S.000000+00", time.gmtime())]
    elif not norm:
        return "", "", 0
    else:
        word = stmt.strip().split()[0]
        return "", (f'ERROR:  the testbed\'s psql answers only SELECT 1, SELECT version() and SELECT now() '
                    f'(got "{word}")\n'), 1
    if norm == "select 1" and not tuples_only and not unaligned:
        return SELECT_1, "", 0
    if unaligned:
        body = "".join(r + "\n" for r in rows)
        return (body if tuples_only else f"{header}\n{body}(1 row)\n"), "", 0
    width = max(len(header), *(len(r) for r in rows))
    body = "".join(f" {r.rjust(width)}\n" for r in rows)
    if tuples_only:
        return body + "\n", "", 0
    return f" {header.center(width)} \n{'-' * (width + 2)}\n{body}(1 row)\n", "", 0


def psql(args: list[str], io: Io) -> int:
    commands: list[str] = []
    tuples_only = unaligned = False
    db = "ecotrack"
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--command") and i + 1 < len(args):
            commands.append(args[i + 1])
            i += 2
            continue
        if a in ("-U", "-d", "-h", "-p", "--username", "--dbname", "--host", "--port") and i + 1 < len(args):
            if a in ("-d", "--dbname"):
                db = args[i + 1]
            i += 2
            continue
        if a.startswith("-") and not a.startswith("--") and len(a) > 1:
            flags = a[1:]
            if "c" in flags and flags.endswith("c") and i + 1 < len(args):  # -tAc "SELECT 1"
                tuples_only |= "t" in flags
                unaligned |= "A" in flags
                commands.append(args[i + 1])
                i += 2
                continue
            tuples_only |= "t" in flags
            unaligned |= "A" in flags
        i += 1
    status = 0
    if commands:
        for c in commands:
            for stmt in [s for s in c.split(";") if s.strip()] or [c]:
                out, err, st = _sql(stmt, tuples_only, unaligned)
                io.out(out)
                io.err(err)
                if st:
                    return st
        return status
    if io.tty:
        io.out('psql (15.8)\nType "help" for help.\n\n')
    for line in io.lines(f"{db}=# "):
        if line.strip() in ("\\q", "quit", "exit"):
            break
        out, err, st = _sql(line, tuples_only, unaligned)
        io.out(out + ("\n" if out and io.tty else ""))
        io.err(err)
        status = st or status
    return 0 if io.tty else status


# --- redis-cli -------------------------------------------------------------------------------------------------

def _redis(words: list[str]) -> tuple[str, int]:
    if not words:
        return "", 0
    cmd = words[0].lower()
    if cmd == "ping":
        return ("PONG\n" if len(words) == 1 else f'"{" ".join(words[1:])}"\n'), 0
    if cmd == "echo" and len(words) == 2:
        return f'"{words[1]}"\n', 0
    if cmd == "dbsize":
        return "(integer) 0\n", 0
    if cmd == "info":
        return ("# Server\nredis_version:7.2.4\nredis_mode:standalone\nos:Linux (ecotui testbed)\n"
                "tcp_port:6379\nuptime_in_seconds:86400\n"), 0
    args = " ".join(f"'{w}'" for w in words[1:])
    return f"(error) ERR unknown command '{words[0]}', with args beginning with: {args}\n", 1


def redis_cli(args: list[str], io: Io) -> int:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-h", "-p", "-a", "-n", "--user", "--pass") else 1
    words = args[i:]
    if words:
        out, st = _redis(words)
        io.out(out)
        return st
    for line in io.lines("127.0.0.1:6379> "):
        if line.strip().lower() in ("quit", "exit"):
            break
        try:
            out, _ = _redis(shlex.split(line))
        except ValueError:
            out = "Invalid argument(s)\n"
        io.out(out)
    return 0


# --- the shell -------------------------------------------------------------------------------------------------

class Shell:
    def __init__(self, io: Io, name: str = "sh") -> None:
        self.io = io
        self.name = name
        self.cwd = "/"
        self.status = 0

    def builtins(self) -> dict[str, Callable[[list[str]], int]]:
        return {"echo": self.echo, "hostname": lambda a: self._say(HOSTNAME), "pwd": lambda a: self._say(self.cwd),
                "cd": self.cd, "whoami": lambda a: self._say("app"), "true": lambda a: 0, "false": lambda a: 1,
                "exit": self.exit, "psql": lambda a: psql(a, self.io), "redis-cli": lambda a: redis_cli(a, self.io),
                "sh": self.sub, "bash": self.sub}

    def _say(self, text: str) -> int:
        self.io.out(text + "\n")
        return 0

    def echo(self, args: list[str]) -> int:
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        self.io.out(" ".join(args) + ("\n" if newline else ""))
        return 0

    def cd(self, args: list[str]) -> int:
        target = args[0] if args else "/"
        self.cwd = os.path.normpath(target if target.startswith("/") else os.path.join(self.cwd, target))
        return 0

    def exit(self, args: list[str]) -> int:
        if args and not args[0].lstrip("-").isdigit():
            self.io.err(f"{self.name}: exit: {args[0]}: numeric argument required\n")
            raise Exit(2)
        raise Exit(int(args[0]) % 256 if args else self.status)

    def sub(self, args: list[str]) -> int:
        return main_shell(args, self.io, "sh")

    def run_line(self, line: str) -> int:
        """Run one command line; returns its status (raises Exit for `exit`)."""
        try:
            lex = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
            lex.whitespace_split = True
            lex.commenters = "#"
            tokens = list(lex)
        except ValueError:
            self.io.err(f"{self.name}: syntax error: unterminated quoted string\n")
            self.status = 2
            return 2
        bad = [t for t in tokens if t and set(t) <= set(";&|<>()") and t not in SEPARATORS]
        if bad:
            self.io.err(f"{self.name}: {bad[0]!r}: pipes, redirections and subshells are not supported "
                        "in the testbed shell\n")
            self.status = 2
            return 2
        cmd: list[str] = []
        op = ";"
        for tok in tokens + [";"]:
            if tok not in SEPARATORS:
                cmd.append(tok)
                continue
            if cmd and (op == ";" or (op == "&&" and self.status == 0) or (op == "||" and self.status != 0)):
                self.status = self.run(cmd)
            cmd, op = [], tok
        return self.status

    def run(self, argv: list[str]) -> int:
        fn = self.builtins().get(argv[0])
        if fn is None:
            self.io.err(f"sh: {argv[0]}: not found\n")
            return 127
        return fn(argv[1:])


def main_shell(args: list[str], io: Io, name: str) -> int:
    sh = Shell(io, name)
    while args and args[0] in ("-i", "-l", "--login", "-e", "-x", "-s", "--norc", "--noprofile"):
        args = args[1:]
    try:
        if args and args[0] == "-c":
            if len(args) < 2:
                io.err(f"{name}: -c: option requires an argument\n")
                return 2
            return sh.run_line(args[1])
        if args:
            io.err(f"{name}: {args[0]}: cannot open (the testbed shell runs no scripts)\n")
            return 127
        for line in io.lines("$ "):
            sh.run_line(line)
        return sh.status
    except Exit as e:
        return e.code


def _is_pipe(f: TextIO) -> bool:
    import stat
    try:
        return stat.S_ISFIFO(os.fstat(f.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    prog = os.path.basename(argv[0]) if argv else "sh"
    if prog in ("fakesh.py", "fakesh"):  # `python testbed/fakesh.py PROG ARGS...`
        argv = argv[1:] or ["sh"]
        prog = os.path.basename(argv[0])
    tty = sys.stdin.isatty()
    io = Io(sys.stdin, sys.stdout, sys.stderr, tty, idle=None if tty or not _is_pipe(sys.stdin) else PIPE_IDLE)
    try:
        if prog == "psql":
            code = psql(argv[1:], io)
        elif prog == "redis-cli":
            code = redis_cli(argv[1:], io)
        else:
            code = main_shell(argv[1:], io, "bash" if prog == "bash" else "sh")
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 141
    if sys.stdout.isatty():
        # KWOK copies the pty's output in another goroutine and closes the pty as soon as we exit: give the last
        # bytes time to be read
        time.sleep(0.15)
    return code


if __name__ == "__main__":
    sys.exit(main())
