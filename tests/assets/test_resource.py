"""The Dagster resource is derived from Settings: same options, same defaults, nested config blocks."""

from __future__ import annotations

import os

import dagster as dg

from assets.config import EnvRef
from assets.partitions import BENCHMARK_PARTITIONS, BENCHMARKS, PROFILE
from assets.resources import DEFAULT_DATA_ROOT, UnibindResource
from unibind_core.core.options import iter_options
from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.spec import profile_benchmarks


def _config_options(model, prefix=""):
    for name, field in model.model_fields.items():
        nested = (
            field.annotation
            if isinstance(field.annotation, type)
            and issubclass(field.annotation, dg.Config)
            and field.annotation is not EnvRef
            else None
        )
        if nested is not None:
            yield from _config_options(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", field.description


def test_every_setting_but_the_profile_is_a_documented_resource_option():
    settings = {name: doc for name, _, _, doc, _ in iter_options(Settings)}
    resource = dict(_config_options(UnibindResource))
    assert set(resource) == set(settings) - {"profile"}
    assert all(resource[n].startswith(settings[n]) for n in resource)
    assert resource["llm.api_key"].endswith("(an environment reference only)")


def test_resource_defaults_equal_the_library_defaults(tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("UNIBIND_")]:  # make test sets UNIBIND_VENV_ROOT
        monkeypatch.delenv(var)
    s = UnibindResource().settings()
    assert s == Settings(data_root=DEFAULT_DATA_ROOT.resolve())
    monkeypatch.setenv("UNIBIND_DATA_ROOT", str(tmp_path))
    assert UnibindResource().settings().data_root == tmp_path


def test_profile_and_partitions_are_one_value():
    assert BENCHMARKS == profile_benchmarks(PROFILE) == tuple(BENCHMARK_PARTITIONS.get_partition_keys())
    assert UnibindResource().settings().profile == PROFILE
    assert "profile" not in UnibindResource.model_fields


def test_partial_run_config_keeps_the_other_defaults(tmp_path, monkeypatch):
    """The README's `--config-json '{... {"k": 20}}'` works: no option is required at launch."""
    monkeypatch.setenv("UNIBIND_DATA_ROOT", str(tmp_path))
    seen = {}

    @dg.asset
    def probe(unibind: UnibindResource) -> None:
        seen["settings"] = unibind.settings()

    run_config = {"resources": {"unibind": {"config": {"k": 20, "llm": {"chunk_size": 5}}}}}
    assert dg.materialize([probe], resources={"unibind": UnibindResource()}, run_config=run_config).success
    s = seen["settings"]
    assert (s.k, s.llm.chunk_size, s.llm.concurrency, s.data_root) == (20, 5, 8, tmp_path)
