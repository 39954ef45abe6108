"""The one code location: every asset and check, the resource, the automation sensor."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from assets import data, knowledge, model
from assets.resources import UnibindResource

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_data_root() -> str:
    return os.environ.get("UNIBIND_DATA_ROOT", str(PROJECT_ROOT / "data"))


ALL_ASSETS = dg.load_assets_from_modules([data, knowledge, model])


def make_definitions(resource: UnibindResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        resources={"unibind": resource or UnibindResource(data_root=default_data_root())},
        sensors=[dg.AutomationConditionSensorDefinition("unibind_automation", target=dg.AssetSelection.all(),
                                                        default_status=dg.DefaultSensorStatus.STOPPED)],
    )


defs = make_definitions()
