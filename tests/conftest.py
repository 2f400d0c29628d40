import os

import pytest

from testbed import cluster, fixture


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: runs against the local testbed (python -m testbed up)")
    config.addinivalue_line("markers", "disruptive: stops/restarts testbed components; runs after everything else")


def pytest_collection_modifyitems(config, items):
    # tests that restart the API server leave the controllers catching up for a while: run them last
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path, monkeypatch):
    """The action journal of every test goes to its own directory, never the developer's state dir."""
    monkeypatch.setenv("ECOTUI_STATE_DIR", str(tmp_path / "ecotui-state"))


@pytest.fixture(scope="session")
def testbed():
    tb, reason = fixture.obtain()
    if tb is None:
        if fixture.required():
            pytest.fail(f"ECOTUI_REQUIRE_TESTBED=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    yield tb
    if getattr(tb, "_started_here", False) and os.environ.get("ECOTUI_TESTBED_KEEP") != "1":
        cluster.down(quiet=True)
