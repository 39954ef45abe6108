"""The test lanes (README, "Two commands"): `make test` runs everything a CPU machine can and fails on a missing
environment; `make test-fast` (UNIBIND_TEST_LANE=fast) deselects the heavy markers and skips, naming the command
that creates it, a test whose environment is missing when it is selected anyway."""

from __future__ import annotations

import os

import pytest

LANE_ENV = "UNIBIND_TEST_LANE"


def fast_lane() -> bool:
    return os.environ.get(LANE_ENV) == "fast"


def missing(what: str, command: str) -> None:
    """Stop the test for want of `what`: a skip naming `command` in the fast lane, a failure in `make test`."""
    message = f"{what} is missing: create it with `{command}`"
    if fast_lane():
        pytest.skip(message)
    pytest.fail(message + " (make test needs it; make test-fast skips this test)")
