"""The one code location: every asset and check, the resource, the automation sensor."""
from __future__ import annotations

import dagster as dg

from assets import data, knowledge, model
from assets.resources import UnibindResource

ALL_ASSETS = dg.load_assets_from_modules([data, knowledge, model])


def make_definitions(resource: UnibindResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        resources={"unibind": resource or UnibindResource()},
        sensors=[dg.AutomationConditionSensorDefinition("unibind_automation", target=dg.AssetSelection.all(),
                                                        default_status=dg.DefaultSensorStatus.STOPPED)],
    )


defs = make_definitions()
