import os

import pytest

from testbed import cluster, fixture


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: runs against the local testbed (python -m testbed up)")


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
