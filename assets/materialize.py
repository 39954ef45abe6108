"""StageResult -> MaterializeResult: data version, metadata types, asset check results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from assets.external import PipesRunner
from assets.resources import UnibindResource
from unibind_core.core.errors import ConfigError
from unibind_core.core.progress import ProgressCallback, reporting
from unibind_core.encoders.external.runner import using_runner
from unibind_core.stages import StageResult
from unibind_core.stages.common import check_settings
from unibind_core.storage.table_contract import VECTOR, TableContract

AC = dg.AutomationCondition

# Curated inputs (assets/curated.py) are observed only once a curator writes a file: one never observed
# is "no curation", not a missing dependency that would hold everything below it back.
CURATED_SOURCES = dg.AssetSelection.assets("curated_descriptions", "curated_prompts")

# docs/architecture.md (Automation): fire only when upstream data really changed and upstream blocking checks passed.
ON_UPSTREAM_DATA_CHANGE = (
    AC.eager()
    .replace("any_deps_updated", AC.any_deps_match(AC.data_version_changed() | AC.will_be_requested()))
    .replace("any_deps_missing", AC.any_deps_missing().ignore(CURATED_SOURCES))
    & AC.all_deps_blocking_checks_passed()
).with_label("on_upstream_data_change")


def _metadata_value(key: str, value: object) -> object:
    if key in ("markdown", "plot_preview"):
        return dg.MetadataValue.md(str(value))
    if key in ("path", "plot", "catalogue", "root"):
        return dg.MetadataValue.path(str(value))
    if isinstance(value, (dict, list, tuple)):
        return dg.MetadataValue.json(value)
    return value


def to_metadata(meta: dict) -> dict:
    return {k: _metadata_value(k, v) for k, v in meta.items()}


def log_progress(context: dg.AssetExecutionContext | None) -> ProgressCallback | None:
    """The library's progress events as lines of the run's event log (per epoch, per batch of texts…)."""
    if context is None:
        return None
    return lambda event: context.log.info(event.line())


def call_stage(
    stage: Callable[..., Any], unibind: UnibindResource, *args: Any, context: dg.OpExecutionContext | None = None
) -> Any:
    """Settings from the resource (validated), then the stage, its progress going to the run log and its
    external scripts (unibind_core.encoders.external) running through Dagster Pipes. A configuration error fails
    the step without retries: a typo is not fixed by waiting."""
    try:
        settings = check_settings(unibind.settings())
        runner = PipesRunner(context) if context is not None else None
        with reporting(log_progress(context), bars=settings.progress), using_runner(runner):
            return stage(settings, *args)
    except ConfigError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def run_stage(
    stage: Callable[..., StageResult],
    unibind: UnibindResource,
    *args: Any,
    partition: str | None = None,
    context: dg.AssetExecutionContext | None = None,
) -> dg.MaterializeResult:
    """`call_stage`, its result as Dagster's."""
    return to_materialize_result(call_stage(stage, unibind, *args, context=context), partition)


def run_partition_stage(
    stage: Callable[..., StageResult], unibind: UnibindResource, context: dg.AssetExecutionContext
) -> dg.MaterializeResult:
    """`run_stage` for a per-benchmark stage: the partition key is the benchmark."""
    return run_stage(stage, unibind, context.partition_key, partition=context.partition_key, context=context)


def _result_parts(res: StageResult, partition: str | None) -> tuple[dict, list[dg.AssetCheckResult]]:
    """Metadata with one numeric entry per metric (the UI plots them across partitions and runs), the
    row count of the written table, and check results that name the partition they checked."""
    where = {"partition": partition} if partition else {}
    checks = [
        dg.AssetCheckResult(
            check_name=name,
            passed=o.passed,
            description=f"[{partition}] {o.description}" if partition else o.description,
            metadata=to_metadata({**where, **o.metadata}),
            severity=dg.AssetCheckSeverity.ERROR,
        )
        for name, o in res.checks.items()
    ]
    meta = to_metadata({**res.metadata, "reused_previous_output": res.reused})
    meta.update({k: dg.MetadataValue.float(float(v)) for k, v in res.metrics.items()})
    if res.row_count is not None:
        meta["dagster/row_count"] = dg.MetadataValue.int(res.row_count)
    return meta, checks


def to_materialize_result(res: StageResult, partition: str | None = None) -> dg.MaterializeResult:
    meta, checks = _result_parts(res, partition)
    return dg.MaterializeResult(metadata=meta, data_version=dg.DataVersion(res.data_version), check_results=checks)


def to_outputs(res: StageResult, partition: str | None = None) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The same for the last op of a graph-backed asset: its output, then its check results."""
    meta, checks = _result_parts(res, partition)
    yield dg.Output(None, output_name="result", metadata=meta, data_version=dg.DataVersion(res.data_version))
    yield from checks


def column_schema(contract: TableContract) -> dict[str, dg.TableSchema]:
    """Static asset metadata: the columns of the table an asset writes (its contract's schema)."""
    columns = [
        dg.TableColumn(f.name, "fixed_size_list<float>[D]" if f.name == VECTOR else str(f.type))
        for f in contract.schema
    ]
    return {"dagster/column_schema": dg.TableSchema(columns=columns)}
