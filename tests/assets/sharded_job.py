"""A job over the sharded assets of the code location, importable by the multiprocess executor's children."""

from __future__ import annotations

import dagster as dg

from assets.resources import UnibindResource
from pipelines.definitions import ALL_ASSETS
from pipelines.executors import selected_executor

SHARDED = ("data_embeddings",)


def sharded_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        resources={"unibind": UnibindResource()},
        executor=selected_executor("multiprocess"),
        jobs=[dg.define_asset_job("sharded", selection=dg.AssetSelection.assets(*SHARDED))],
    )
    return defs.resolve_job_def("sharded")
