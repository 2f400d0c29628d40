"""Credentials: exec plugins run non-interactively by us, caching, 401 reloads, tokenFile, basic auth."""
from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from conftest import make_client, write_kubeconfig
from ecotui.errors import AuthError, KubeconfigError
from ecotui.kube.auth import Authenticator
from ecotui.kube.kubeconfig import load_kubeconfig

V1 = "client.authentication.k8s.io/v1"

PLUGIN = f"""#!{sys.executable}
import datetime, json, os, sys
state = os.environ["PLUGIN_STATE"]
counter = os.path.join(state, "count")
n = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
open(counter, "w").write(str(n))
log = {{"stdin": sys.stdin.read(), "info": json.loads(os.environ.get("KUBERNETES_EXEC_INFO", "null")),
       "args": sys.argv[1:], "sid": os.getsid(0), "extra": os.environ.get("EXTRA")}}
open(os.path.join(state, "run%d.json" % n), "w").write(json.dumps(log))
sys.stderr.write("PLUGIN-STDERR-MARKER run %d\\n" % n)
mode = os.environ.get("PLUGIN_MODE", "ok")
if mode == "fail":
    sys.stderr.write("error: \\x1b[31mSSO session expired\\x1b[0m\\n")
    sys.exit(3)
if mode == "badjson":
    print("this is not json")
    sys.exit(0)
api = "client.authentication.k8s.io/v1beta1" if mode == "wrongversion" else "{V1}"
status = {{"token": "tok-%d" % n}}
if os.environ.get("PLUGIN_TTL"):
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(os.environ["PLUGIN_TTL"]))
    status["expirationTimestamp"] = exp.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": api, "kind": "ExecCredential", "status": status}}))
"""


def plugin_kubeconfig(tmp_path: Path, server: str = "https://127.0.0.1:1", **env: str) -> tuple[str, Path]:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    exec_env = [{"name": "PLUGIN_STATE", "value": str(state)}] + [{"name": k, "value": v} for k, v in env.items()]
    user = {"exec": {"apiVersion": V1, "command": str(script), "args": ["--flag"], "env": exec_env,
                     "interactiveMode": "IfAvailable", "provideClusterInfo": True,
                     "installHint": "install the plugin\nfrom the wiki"}}
    return write_kubeconfig(tmp_path / "config", server, user=user), state


def authenticator(kubeconfig: str, clock=time.time) -> Authenticator:
    r = load_kubeconfig(kubeconfig).resolve()
    return Authenticator(r.user, r.cluster, clock=clock)


def runs(state: Path) -> list[dict]:
    found = [state / f"run{i}.json" for i in range(1, 100)]
    return [json.loads(p.read_text()) for p in found if p.exists()]


async def test_exec_plugin_gets_no_stdin_no_terminal_and_non_interactive_info(tmp_path, capfd):
    kc, state = plugin_kubeconfig(tmp_path)
    auth = authenticator(kc)
    saved = os.dup(0)
    r, w = os.pipe()
    os.write(w, b"SECRET-TERMINAL-INPUT")
    os.close(w)
    os.dup2(r, 0)  # if the plugin inherited our stdin, it would read this
    try:
        creds = await auth.credentials()
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(r)
    assert creds.authorization == "Bearer tok-1"
    (run,) = runs(state)
    assert run["stdin"] == ""
    assert run["sid"] != os.getsid(0)  # own session: no controlling terminal
    assert run["args"] == ["--flag"]
    assert run["info"]["apiVersion"] == V1 and run["info"]["kind"] == "ExecCredential"
    assert run["info"]["spec"]["interactive"] is False
    assert run["info"]["spec"]["cluster"]["server"] == "https://127.0.0.1:1"
    assert "PLUGIN-STDERR-MARKER" not in capfd.readouterr().err


async def test_exec_token_cached_until_expiry_then_rerun(tmp_path):
    kc, state = plugin_kubeconfig(tmp_path, PLUGIN_TTL="600")
    now = [time.time()]
    auth = authenticator(kc, clock=lambda: now[0])
    assert (await auth.credentials()).authorization == "Bearer tok-1"
    now[0] += 500  # still well before expiry minus skew
    assert (await auth.credentials()).authorization == "Bearer tok-1"
    assert auth.exec_runs == 1
    now[0] += 90  # 590 s: inside the skew before the 600 s expiry
    assert (await auth.credentials()).authorization == "Bearer tok-2"
    assert auth.exec_runs == 2 and len(runs(state)) == 2


async def test_exec_without_expiry_is_cached_until_reload(tmp_path):
    kc, _ = plugin_kubeconfig(tmp_path)
    now = [time.time()]
    auth = authenticator(kc, clock=lambda: now[0])
    first = await auth.credentials()
    now[0] += 86400
    assert await auth.credentials() is first
    second = await auth.reload(first)
    assert second.authorization == "Bearer tok-2"
    assert await auth.reload(first) is second  # a second caller with the same stale creds does not re-run
    assert auth.exec_runs == 2


async def test_exec_failure_reports_stderr_in_one_line_not_on_terminal(tmp_path, capfd):
    kc, _ = plugin_kubeconfig(tmp_path, PLUGIN_MODE="fail")
    with pytest.raises(AuthError) as ei:
        await authenticator(kc).credentials()
    msg = ei.value.message
    assert msg.startswith(f"exec plugin '{tmp_path}/plugin.py' (user 'tester') failed (exit 3): ")
    assert "PLUGIN-STDERR-MARKER run 1" in msg and "SSO session expired" in msg
    assert "\n" not in msg and "\x1b" not in msg  # escape sequences made inert
    assert ei.value.hint == "install the plugin from the wiki"
    assert "PLUGIN-STDERR-MARKER" not in capfd.readouterr().err


@pytest.mark.parametrize("mode, expected", [
    ("badjson", "printed invalid ExecCredential JSON"),
    ("wrongversion", f"returned apiVersion 'client.authentication.k8s.io/v1beta1', but the kubeconfig asks for '{V1}'"),
])
async def test_exec_bad_output(tmp_path, mode, expected):
    kc, _ = plugin_kubeconfig(tmp_path, PLUGIN_MODE=mode)
    with pytest.raises(AuthError) as ei:
        await authenticator(kc).credentials()
    assert expected in ei.value.message and "\n" not in ei.value.message


async def test_exec_plugin_not_found(tmp_path):
    user = {"exec": {"apiVersion": V1, "command": "ecotui-no-such-plugin", "interactiveMode": "Never",
                     "installHint": "brew install it"}}
    kc = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1", user=user)
    with pytest.raises(KubeconfigError) as ei:
        await authenticator(kc).credentials()
    assert ei.value.message == "exec plugin 'ecotui-no-such-plugin' (user 'tester') not found"
    assert ei.value.hint == "brew install it"


async def test_exec_interactive_always_is_refused_without_running(tmp_path):
    kc, state = plugin_kubeconfig(tmp_path)
    r = load_kubeconfig(kc).resolve()
    from dataclasses import replace
    user = replace(r.user, exec=replace(r.user.exec, interactive_mode="Always"))
    with pytest.raises(AuthError) as ei:
        await Authenticator(user, r.cluster).credentials()
    assert "needs an interactive terminal" in ei.value.message
    assert runs(state) == []


async def test_401_reruns_plugin_and_retries(tmp_path, api):
    kc, state = plugin_kubeconfig(tmp_path, server=api.url)
    api.tokens = {"tok-2"}
    client = make_client(kc)
    try:
        info = await client.get("/version")
    finally:
        await client.aclose()
    assert info["gitVersion"] == "v1.36.3-fake"
    assert [r.auth for r in api.requests] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(runs(state)) == 2


async def test_second_401_is_auth_error(tmp_path, api):
    kc, state = plugin_kubeconfig(tmp_path, server=api.url)
    api.tokens = {"never"}
    client = make_client(kc)
    try:
        with pytest.raises(AuthError) as ei:
            await client.get("/version")
    finally:
        await client.aclose()
    assert ei.value.message == (f"{api.url}: credentials of user 'tester' (exec plugin {tmp_path}/plugin.py) "
                                "rejected (401): Unauthorized")
    assert ei.value.hint
    assert len(api.requests) == 2 and len(runs(state)) == 2


async def test_static_token_401_is_not_retried(tmp_path, api):
    api.tokens = {"good"}
    client = make_client(write_kubeconfig(tmp_path / "config", api.url, user={"token": "bad"}))
    try:
        with pytest.raises(AuthError):
            await client.get("/version")
    finally:
        await client.aclose()
    assert len(api.requests) == 1


async def test_token_file_reread_after_401(tmp_path, api):
    tok = tmp_path / "token"
    tok.write_text("old\n")
    api.tokens = {"new"}
    client = make_client(write_kubeconfig(tmp_path / "config", api.url, user={"tokenFile": "token"}))
    try:
        assert (await client.auth.credentials()).authorization == "Bearer old"
        tok.write_text("new\n")  # e.g. a projected service-account token rotated
        await client.get("/version")
    finally:
        await client.aclose()
    assert [r.auth for r in api.requests] == ["Bearer old", "Bearer new"]


async def test_basic_auth_header(tmp_path, api):
    client = make_client(write_kubeconfig(tmp_path / "config", api.url, user={"username": "ann", "password": "pw"}))
    try:
        await client.get("/version")
    finally:
        await client.aclose()
    assert api.requests[0].auth == "Basic " + base64.b64encode(b"ann:pw").decode()
