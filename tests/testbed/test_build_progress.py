"""The cold build shows each step and its progress instead of the full command line."""
from __future__ import annotations

import pytest

from testbed import build


def test_build_step_prints_progress_not_linker_flags(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(build, "PROGRESS_EVERY", 0.2)
    build._run("slow step", ["sh", "-c", "sleep 0.9", "-ldflags=-X very.long=flags"], tmp_path)
    out = capsys.readouterr().out
    assert "[testbed build] slow step: sh -c sleep 0.9\n" in out
    assert "-ldflags" not in out and "still running" in out and "slow step: ok in" in out


def test_build_step_failure_names_step_and_shows_output(tmp_path):
    with pytest.raises(build.BuildError) as e:
        build._run("broken step", ["sh", "-c", "echo compiler says no; exit 3"], tmp_path)
    assert "step 'broken step' failed (exit 3)" in str(e.value) and "compiler says no" in str(e.value)
