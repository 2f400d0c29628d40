"""Exec against the testbed (kube-apiserver → KWOK's exec, which runs the testbed's harmless fake programs):
run_command gives psql's and redis-cli's real answers and exit codes; the checks screen in the real app shows
both runbook checks passing; read-only refuses with one line and the API server's audit log shows no exec; and
the shell: the real `python3 -m ecotui` in a pty — [shell] on the redis-0 row, a command and its output in the
container's shell, `exit`, and the cockpit is drawn again."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from ecotui.config import Config
from ecotui.errors import ForbiddenError, ReadOnlyError
from ecotui.keymap import load_keymap
from ecotui.kube.auth import Authenticator
from ecotui.kube.client import KubeClient
from ecotui.kube.kubeconfig import load_kubeconfig
from ecotui.kube.writegate import WriteGate
from ecotui.podexec.run import run_command
from ecotui.ui.app import EcotuiApp
from ecotui.ui.screens.checks import ChecksScreen
from ecotui.workspace import WorkspaceFactory
from e2e_app import make_app, wait
from e2e_objects import ViewerAccount
from pty_term import PtyApp
from testbed import paths

pytestmark = pytest.mark.e2e
KEYMAP, _ = load_keymap()
NS = "ecotrack"


def key(action: str) -> str:
    return KEYMAP.keys_for(action)[0]


def client_for(tb, readonly: bool = False) -> KubeClient:
    r = load_kubeconfig(str(tb.kubeconfig)).resolve(tb.context)
    return KubeClient(r.cluster, Authenticator(r.user, r.cluster), gate=WriteGate(tb.context, readonly))


def ecotui_execs(t0: float) -> list[dict]:
    """The exec requests ecotui made since t0, from the API server's audit log."""
    out, seen = [], set()
    for line in paths.audit_log().read_text(errors="replace").splitlines():
        if '"exec"' not in line or "ecotui/" not in line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        ref = ev.get("objectRef") or {}
        if ref.get("subresource") != "exec" or not ev.get("userAgent", "").startswith("ecotui/"):
            continue
        ts = dt.datetime.fromisoformat(ev["requestReceivedTimestamp"].replace("Z", "+00:00")).timestamp()
        if ts >= t0 and ev["auditID"] not in seen:
            seen.add(ev["auditID"])
            out.append(ev)
    return out


async def test_run_command_psql_redis_and_failures(testbed):
    t0 = time.time() - 1
    client = client_for(testbed)
    try:
        r = await run_command(client, NS, "postgres-primary-0", None,
                              ["psql", "-U", "ecotrack", "-d", "ecotrack", "-c", "SELECT 1;"], timeout=20)
        assert r.exit_code == 0 and r.error == "", r
        assert r.stdout == " ?column? \n----------\n        1\n(1 row)\n", r.stdout
        r = await run_command(client, NS, "redis-0", None, ["redis-cli", "ping"], timeout=20)
        assert (r.stdout.strip(), r.exit_code) == ("PONG", 0), r
        r = await run_command(client, NS, "redis-0", None, ["sh", "-c", "exit 3"], timeout=20)
        assert r.exit_code == 3 and r.error == "" and not r.ok, r
        r = await run_command(client, NS, "redis-0", None, ["no-such-program"], timeout=20)
        assert r.exit_code is None and "executable file not found" in r.error and "\n" not in r.error, r
    finally:
        await client.aclose()
    assert len(ecotui_execs(t0)) >= 4          # they went through the real API server


async def test_checks_screen_shows_both_runbook_checks_passing(testbed, tmp_path):
    app = make_app(testbed)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: app.cockpit.tables["pods"].keys, 30, "pods shown")
        await pilot.press(key("run_check"))
        await wait(pilot, lambda: isinstance(app.screen, ChecksScreen) and app.screen.runs >= 1, 30, "checks ran")
        screen = app.screen
        results = list(screen.results.values())
        assert [r.spec.name for r in results] == ["postgres", "redis"]
        assert all(r.ok for r in results), [(r.spec.name, r.error, r.result) for r in results]
        assert results[0].pod.startswith("postgres-primary-") and results[1].pod.startswith("redis-")
        assert "(1 row)" in screen.detail and "exit 0" in screen.detail
        await pilot.press(key("cursor_down"))
        await wait(pilot, lambda: "PONG" in screen.detail, 5, "redis output shown")


async def test_read_only_refuses_exec_with_one_line_and_sends_nothing(testbed, tmp_path):
    t0 = time.time()    # (same host clock as the API server; the previous test's execs are before it)
    client = client_for(testbed, readonly=True)
    with pytest.raises(ReadOnlyError) as e:
        await run_command(client, NS, "redis-0", None, ["redis-cli", "ping"])
    assert "read-only" in e.value.message and "\n" not in e.value.message
    await client.aclose()
    factory = WorkspaceFactory(load_kubeconfig(str(testbed.kubeconfig)), Config(), first_context=testbed.context,
                               all_namespaces=True, readonly=True)
    app = EcotuiApp(factory.build(testbed.context), keymap=KEYMAP)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait(pilot, lambda: "redis-0" in " ".join(app.cockpit.tables["pods"].keys), 30, "pods shown")
        await pilot.press(key("run_check"))
        await wait(pilot, lambda: any("read-only: checks refused" in n for n in app.notices), 5, "checks refused")
        assert not isinstance(app.screen, ChecksScreen)
        await pilot.press(key("focus_pods"))
        await pilot.press(key("shell"))
        await wait(pilot, lambda: any("read-only: shell into" in n for n in app.notices), 5, "shell refused")
    time.sleep(1.0)   # the audit log is written asynchronously
    assert ecotui_execs(t0) == []


async def test_forbidden_user_gets_one_line_for_shell_checks_and_exec(testbed, tmp_path):
    """A ServiceAccount that may read everything but not `create pods/exec`: the access review refuses [shell]
    and each check in one line, and an exec tried anyway is the API server's 403 in one line."""
    with ViewerAccount(testbed, "exec-e2e", tmp_path) as viewer:
        user = viewer.user
        kubeconfig = load_kubeconfig(viewer.kubeconfig)
        r = kubeconfig.resolve(testbed.context)
        client = KubeClient(r.cluster, Authenticator(r.user, r.cluster))
        try:
            with pytest.raises(ForbiddenError) as e:
                await run_command(client, NS, "redis-0", None, ["redis-cli", "ping"])
            assert "pods/exec" in e.value.message and "\n" not in e.value.message, e.value.message
        finally:
            await client.aclose()
        factory = WorkspaceFactory(kubeconfig, Config(), first_context=testbed.context, all_namespaces=True)
        app = EcotuiApp(factory.build(testbed.context), keymap=KEYMAP)
        line = f"not allowed for {user}: create pods/exec in {NS}"
        async with app.run_test(size=(80, 24)) as pilot:
            await wait(pilot, lambda: "redis-0" in " ".join(app.cockpit.tables["pods"].keys), 30, "pods shown")
            from ecotui.ui.messages import StreamRequested
            app.post_message(StreamRequested("shell", "pods", [f"{NS}/redis-0"]))
            await wait(pilot, lambda: any(line in n for n in app.notices), 10, f"{line} in {app.notices}")
            await pilot.press(key("run_check"))
            await wait(pilot, lambda: isinstance(app.screen, ChecksScreen) and app.screen.runs >= 1, 15, "checks")
            assert [r.error for r in app.screen.results.values()] == [line, line]
        await app.workspace.stop()


# ---- the shell through the real app in a pty ---------------------------------------------------------------

def Pty(tb, *args: str) -> PtyApp:
    return PtyApp(tb, *args, cols=100, rows=30)


def test_shell_from_the_cockpit_runs_a_command_and_returns(testbed):
    tty = Pty(testbed, "-n", NS)
    try:
        tty.until(b"Running", 60)                       # the cockpit with the pods
        tty.drain(1.0)
        tty.type(key("focus_pods"))
        mark = len(tty.buf)
        tty.type("/")
        tty.type("redis-0\r")
        tty.until(b"redis-0", 10, mark)                # the filtered pods pane: the cursor on redis-0
        tty.drain(0.5)
        mark = len(tty.buf)
        tty.type("x")
        left = tty.until(b"\x1b[?1049l", 15, mark).start()     # the app left the alternate screen (suspended)
        tty.until(b"ecotui: shell in ecotrack/redis-0", 15, left)
        tty.until(b"$ ", 15, left)                     # the container's shell prompt
        tty.type("echo marker-e2e-$HOSTNAME-42\r", 0.01)
        tty.until(b"marker-e2e-", 10, left)
        out = tty.until(b"\r\nmarker-e2e-", 10, left).start()  # the output line (not the echo of what was typed)
        assert b"-42" in tty.buf[out:out + 80]
        after = len(tty.buf)
        tty.type("exit\r", 0.01)
        back = tty.until(b"\x1b[?1049h", 15, after).start()    # the app took the alternate screen back
        tty.until(b"ecotui", 15, back)                 # and drew the cockpit again: the header …
        tty.until(b"redis-0", 15, back)                # … and the pods pane (still filtered)
        tty.until(b"ended", 10, back)                  # the one-line outcome: "shell (bash) in … ended"
        tty.drain(0.5)
        assert b"Traceback" not in tty.buf
        tty.type(key("quit"))
        assert tty.proc.wait(15) == 0
    finally:
        tty.close()
