"""The README's result tables are rendered from a run's data/results and checked against one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from tests.helpers.readme_tables import readme_results
from unibind_core.core import numeric_env
from unibind_core.storage.tables import BALANCE, RESULTS

ROOT = Path(__file__).resolve().parents[2]


def _results(folder: Path, audio_zs: float) -> Path:
    rows = [
        {
            "benchmark": "demo_audio",
            "modality": "audio",
            "zs_templates": audio_zs,
            "zs_single": 0.5,
            "zs_centres": 0.8381,
            "ft_centres": 0.981,
            "n_test": 80,
        },
        {
            "benchmark": "demo_image",
            "modality": "image",
            "zs_templates": 0.964,
            "zs_single": 0.9,
            "zs_centres": 0.966,
            "ft_centres": 0.972,
            "n_test": 90,
        },
    ]
    RESULTS.write(pa.Table.from_pylist(rows, schema=RESULTS.schema), folder / "results.parquet")
    balance = [
        {"setting": st, "classifier": c, "mean_accuracy": 0.9, "min_accuracy": 0.8, "std_accuracy": 0.1, "balance": b}
        for st, c, b in (
            ("zero-shot", "templates", 0.738),
            ("zero-shot", "centres", 0.705),
            ("fine-tuned", "centres", 0.767),
        )
    ]
    BALANCE.write(pa.Table.from_pylist(balance, schema=BALANCE.schema), folder / "balance.parquet")
    (folder / "reproducibility.json").write_text(json.dumps({"numeric_environment": numeric_env.record()}))
    return folder


def test_a_run_is_written_into_its_block_and_checked_against_it(tmp_path, capsys):
    readme = tmp_path / "README.md"
    begin, end = readme_results.markers("demo")
    readme.write_text(f"# x\n\n{begin}\n| old | table |\n{end}\n\nafter\n")
    run = _results(tmp_path, 0.85)
    assert readme_results.main(["demo", "--results", str(run), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\n") and text.endswith(f"{end}\n\nafter\n") and "| old |" not in text
    assert readme_results.figures(readme_results.block(text, "demo")) == {
        "demo_audio": (0.85, 0.838, 0.981),
        "demo_image": (0.964, 0.966, 0.972),
    }
    assert "0.738 zero-shot with templates" in text and f"numeric mode `{numeric_env.mode()}`" in text
    assert readme_results.main(["demo", "--check", "--results", str(run), "--readme", str(readme)]) == 0
    (tmp_path / "other").mkdir()
    other = _results(tmp_path / "other", 0.894)
    assert readme_results.main(["demo", "--check", "--results", str(other), "--readme", str(readme)]) == 1
    assert "demo_audio" in capsys.readouterr().err and readme.read_text() == text  # --check writes nothing


def test_the_readme_has_both_blocks_filled():
    text = (ROOT / "README.md").read_text()
    for name in ("demo", "quick"):
        assert len(readme_results.figures(readme_results.block(text, name))) == 6, name
    with pytest.raises(ValueError, match="README has no results block 'nope'"):
        readme_results.block(text, "nope")
