"""The exec framing and the status channel (pure): parameters like kubectl's, resize frames, every way a
status comes back (Success, NonZeroExitCode, KWOK's "exit status N", executable not found, plain text)."""
from __future__ import annotations

import json

import pytest

from ecotui.podexec.protocol import exec_params, exec_path, parse_status, resize_frame


def test_exec_path_and_params_like_kubectl():
    assert exec_path("ecotrack", "redis-0") == "/api/v1/namespaces/ecotrack/pods/redis-0/exec"
    assert exec_path("a b", "x/y") == "/api/v1/namespaces/a%20b/pods/x%2Fy/exec"
    p = exec_params(["psql", "-c", "SELECT 1;"], "db", stdin=False, tty=False)
    assert p == [("command", "psql"), ("command", "-c"), ("command", "SELECT 1;"), ("container", "db"),
                 ("stdin", "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    t = dict(exec_params(["bash"], None, stdin=True, tty=True))
    assert t["stdin"] == "true" and t["tty"] == "true" and t["stderr"] == "false" and "container" not in t
    with pytest.raises(ValueError):
        exec_params([], None, stdin=False, tty=False)


def test_resize_frame():
    assert json.loads(resize_frame(120, 40)) == {"Width": 120, "Height": 40}
    assert json.loads(resize_frame(-1, 5)) == {"Width": 0, "Height": 5}


def test_success():
    s = parse_status(b'{"metadata":{},"status":"Success"}')
    assert s.exit_code == 0 and s.success and not s.not_found


def test_non_zero_exit_code_cause():
    doc = {"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit code",
           "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    s = parse_status(json.dumps(doc).encode())
    assert s.exit_code == 3 and not s.success and "non-zero" in s.message


def test_kwok_exit_status_in_message():
    doc = {"status": "Failure", "reason": "InternalError",
           "message": "Internal error occurred: error executing command in container: exit status 7"}
    assert parse_status(json.dumps(doc).encode()).exit_code == 7


def test_executable_not_found():
    doc = {"status": "Failure", "reason": "InternalError",
           "message": 'Internal error occurred: error executing command in container: exec: "bash": '
                      "executable file not found in $PATH"}
    s = parse_status(json.dumps(doc).encode())
    assert s.exit_code is None and s.not_found and "bash" in s.message
    doc["message"] = "Internal error occurred: " + doc["message"]      # the API server wraps KWOK's once more
    assert parse_status(json.dumps(doc).encode()).message.count("Internal error occurred") == 1


def test_plain_text_and_garbage_and_hostile():
    assert parse_status(b"").exit_code == 0                 # older protocols: nothing = success
    s = parse_status(b"some error text")
    assert s.exit_code is None and s.message == "some error text"
    assert parse_status(b"{not json").exit_code is None
    assert parse_status(b"\xff\xfe").exit_code is None
    s = parse_status(json.dumps({"status": "Failure", "message": "bad\x1b[2J\nthing"}).encode())
    assert "\x1b" not in s.message and "\n" not in s.message
    s = parse_status(json.dumps({"status": "Failure", "reason": "NonZeroExitCode",
                                 "details": {"causes": [{"reason": "ExitCode", "message": "x"}]}}).encode())
    assert s.exit_code is None and s.message
