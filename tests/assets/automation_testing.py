"""Driving declarative automation in tests: what a tick requests, and running it as the sensor would."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from pipelines.definitions import ALL_ASSETS


def requested_partitions(result, asset: str) -> set:
    subsets = [r.true_subset for r in result.results if r.key == dg.AssetKey(asset) and r.true_subset.size]
    if not subsets:
        return set()
    return set(subsets[0].expensively_compute_partition_keys()) if subsets[0].is_partitioned else {None}


def all_requested(result) -> dict[str, set]:
    keys = [r.key for r in result.results if r.true_subset.size]
    return {k.to_user_string(): requested_partitions(result, k.to_user_string()) for k in keys}


def drain(
    step, defs: dg.Definitions, instance: dg.DagsterInstance, resource, order: Sequence[str], max_ticks: int = 4
) -> tuple[list[str], dict[str, dict], object]:
    """From the tick `step`, run what the automation sensor would launch, tick after tick, in the
    topological `order`, until nothing is requested. Returns the assets run (in order), each one's
    materialization metadata, and the last tick (whose requests are empty)."""
    ran: list[str] = []
    metadata: dict[str, dict] = {}
    for _ in range(max_ticks):
        requested = all_requested(step)
        if not requested:
            break
        assert set(requested) <= set(order), requested
        for asset in order:
            if asset in requested:
                (partition,) = requested[asset]
                result = dg.materialize(
                    ALL_ASSETS,
                    selection=[asset],
                    partition_key=partition,
                    instance=instance,
                    resources={"unibind": resource},
                )
                ran.append(asset)
                metadata[asset] = result.asset_materializations_for_node(asset)[0].metadata
        step = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=step.cursor)
    assert not all_requested(step), all_requested(step)
    return ran, metadata, step
