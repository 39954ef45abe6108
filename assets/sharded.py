"""Sharded assets: one benchmark partition fanned out to one Dagster step per shard (dynamic outputs).

A sharded asset is a graph of three ops: `<asset>_plan` cuts the stage's rows into shards
(unibind_core/storage/shards.py) and emits one dynamic output per shard when the `fan_out` option is on (none
otherwise); `<asset>_shard` runs once per shard, in its own process, pod or Ray job depending on the
executor, and stores its shard; `<asset>_assemble` runs the stage itself, which finds every
shard stored and writes the one table, with the asset's data version, metadata and checks. The shard
is named by its mapping key (`<start>_<stop>`), so nothing passes between steps but files under the
data root: no I/O manager has to be shared across machines, only the data root (docs/deployment.md).
"""

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg

from assets.materialize import call_stage, to_outputs
from assets.resources import UnibindResource
from unibind_core.core.settings import Settings
from unibind_core.stages import StageResult
from unibind_core.storage.shards import Shard, plan_shards

RowCount = Callable[[Settings, str], int]
PlanFn = Callable[[Settings, str], list[Shard]]
ShardFn = Callable[[Settings, str, int, int], dict]


def by_rows(rows: RowCount) -> PlanFn:
    """A plan that only cuts the stage's row count (for stages whose shard steps derive their key cheaply)."""

    def plan(s: Settings, bench: str) -> list[Shard]:
        return plan_shards(rows(s, bench), s.shard_size)

    return plan


def _plan_op(name: str, planner: PlanFn, upstream: Sequence[str]) -> dg.OpDefinition:
    @dg.op(
        name=f"{name}_plan",
        ins={u: dg.In(dg.Nothing) for u in upstream},
        out=dg.DynamicOut(dg.Nothing),
        description=f"Cut {name}'s rows into shards: one step each when fan_out is on.",
    )
    def plan(context: dg.OpExecutionContext, unibind: UnibindResource):
        bench = context.partition_key

        def shards_of(s: Settings, bench: str) -> list[Shard]:
            return planner(s, bench) if s.fan_out else []

        shards = call_stage(shards_of, unibind, bench, context=context)
        context.log.info(
            f"{name}[{bench}]: "
            + (
                f"{len(shards)} shard step(s)"
                if len(shards) > 1
                else "one step computes every shard (fan_out off or one shard)"
            )
        )
        if len(shards) > 1:  # a single shard is the assemble step's own work
            for shard in shards:
                yield dg.DynamicOutput(None, mapping_key=shard.key)

    return plan


def _shard_op(name: str, shard_fn: ShardFn, tags: Mapping[str, str], retry: dg.RetryPolicy | None) -> dg.OpDefinition:
    @dg.op(
        name=f"{name}_shard",
        ins={"planned": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        tags=dict(tags),
        retry_policy=retry,
        description=f"Compute and store one shard of {name}.",
    )
    def shard(context: dg.OpExecutionContext, unibind: UnibindResource) -> None:
        piece = Shard.from_key(context.get_mapping_key() or "")
        bench = context.partition_key
        report = call_stage(shard_fn, unibind, bench, piece.start, piece.stop, context=context)
        context.log.info(f"{name}[{bench}] shard {piece.key}: {report}")
        context.add_output_metadata({k: v for k, v in report.items() if isinstance(v, (int, float, str, bool))})

    return shard


def _assemble_op(
    name: str,
    stage: Callable[[Settings, str], StageResult],
    checks: Sequence[str],
    tags: Mapping[str, str],
    retry: dg.RetryPolicy | None,
) -> dg.OpDefinition:
    outs = {"result": dg.Out(dg.Nothing), **{f"{name}_{c}": dg.Out(dg.Nothing) for c in checks}}

    @dg.op(
        name=f"{name}_assemble",
        ins={"shards": dg.In(dg.Nothing)},
        out=outs,
        tags=dict(tags),
        retry_policy=retry,
        description=f"Assemble {name} from its shards (computing any not stored yet).",
    )
    def assemble(context: dg.OpExecutionContext, unibind: UnibindResource):
        bench = context.partition_key
        yield from to_outputs(call_stage(stage, unibind, bench, context=context), bench)

    return assemble


def sharded_asset(
    *,
    name: str,
    stage: Callable[[Settings, str], StageResult],
    plan: PlanFn,
    shard: ShardFn,
    upstream: Sequence[Any],
    checks: Sequence[dg.AssetCheckSpec] = (),
    op_tags: Mapping[str, str] | None = None,
    retry_policy: dg.RetryPolicy | None = None,
    **asset_kwargs: Any,
) -> dg.AssetsDefinition:
    """A per-benchmark asset whose stage runs in shards (see the module docstring). `plan`: the stage's shards
    (it may store what its shard steps would otherwise re-derive, as the features' ShardPlan); `upstream`: the
    assets (definitions or keys) it depends on; the rest goes to `dg.graph_asset` (partitions, group, metadata…)."""
    keys = [dg.AssetKey.from_coercible(getattr(u, "key", u)) for u in upstream]
    ins = {key.to_python_identifier(): dg.AssetIn(key=key, dagster_type=dg.Nothing) for key in keys}
    plan_op = _plan_op(name, plan, list(ins))
    shard_op = _shard_op(name, shard, op_tags or {}, retry_policy)
    assemble = _assemble_op(name, stage, [c.name for c in checks], op_tags or {}, retry_policy)

    def compose(**upstream_outputs):
        outputs = assemble(shards=plan_op(**upstream_outputs).map(lambda planned: shard_op(planned=planned)).collect())
        if not checks:
            return outputs
        names = ["result", *(f"{name}_{c.name}" for c in checks)]
        return dict(zip(names, outputs))

    compose.__signature__ = _signature(list(ins))  # graph_asset reads the asset inputs from the signature
    return dg.graph_asset(compose, name=name, ins=ins, check_specs=list(checks), **asset_kwargs)


def _signature(names: list[str]) -> inspect.Signature:
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
