"""Stand-in external environments, built once per session (tests/helpers/external_envs.py)."""

from __future__ import annotations

import pytest

from tests.helpers.external_envs import make_envs


@pytest.fixture(scope="session")
def venv_root(tmp_path_factory):
    return make_envs(tmp_path_factory.mktemp("venvs"))
