"""StageResult -> MaterializeResult: data version, metadata types, asset check results."""
from __future__ import annotations

import dagster as dg

from collections.abc import Callable
from typing import Any

from assets.resources import UnibindResource
from unibind_core.errors import ConfigError
from unibind_core.stages import StageResult
from unibind_core.stages.common import check_settings

AC = dg.AutomationCondition

# docs/architecture.md (Automation): fire only when upstream data really changed and upstream blocking checks passed.
ON_UPSTREAM_DATA_CHANGE = (
    AC.eager().replace("any_deps_updated", AC.any_deps_match(AC.data_version_changed() | AC.will_be_requested()))
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


def run_stage(stage: Callable[..., StageResult], unibind: UnibindResource, *args: Any) -> dg.MaterializeResult:
    """Settings from the resource (validated), the stage, its result as Dagster's. A configuration
    error fails the step without retries: a typo is not fixed by waiting."""
    try:
        return to_materialize_result(stage(check_settings(unibind.settings()), *args))
    except ConfigError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def to_materialize_result(res: StageResult) -> dg.MaterializeResult:
    checks = [dg.AssetCheckResult(check_name=name, passed=o.passed, description=o.description,
                                  metadata=to_metadata(o.metadata),
                                  severity=dg.AssetCheckSeverity.ERROR)
              for name, o in res.checks.items()]
    return dg.MaterializeResult(metadata=to_metadata({**res.metadata, "reused_previous_output": res.reused}),
                                data_version=dg.DataVersion(res.data_version), check_results=checks)
