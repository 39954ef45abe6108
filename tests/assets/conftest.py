"""One small demo world materialized through Dagster once per session, shared by the asset tests."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.resources import UnibindResource
from pipelines.definitions import make_definitions
from pipelines.run_all import materialize_all
from unibind_core.data.benchmarks.spec import profile_benchmarks

SMALL = dict(
    demo_max_per_class=30,
    descriptions_per_category=40,
    k=10,
    head_epochs=5,
    pretrain={"epochs_anchor": 20, "epochs_bind": 25},
)


@pytest.fixture(scope="session")
def small_resource(tmp_path_factory) -> UnibindResource:
    return UnibindResource(data_root=str(tmp_path_factory.mktemp("unibind_data")), **SMALL)


@pytest.fixture(scope="session")
def materialized(small_resource):
    """(instance, resource, timings) after every asset and partition of the demo has been materialized."""
    instance = dg.DagsterInstance.ephemeral()
    timings = materialize_all(small_resource, instance, profile_benchmarks("demo"), log=lambda _: None)
    yield instance, small_resource, timings
    instance.dispose()


@pytest.fixture(scope="session")
def defs_small(small_resource) -> dg.Definitions:
    return make_definitions(small_resource)
