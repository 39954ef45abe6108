"""`unibind manifest` / `unibind benchmarks` in-process: exit codes, one-line errors, reader options,
the missing classes of a subset copy."""

from __future__ import annotations

import pyarrow.parquet as pq
from typer.testing import CliRunner

from pipelines.cli import app
from tests.helpers.layouts import write_esc50
from unibind_core.data.benchmarks.spec import BENCHMARKS

runner = CliRunner()


def test_benchmarks_lists_name_modality_reader_and_layout_one_line_each():
    out = runner.invoke(app, ["benchmarks"])
    assert out.exit_code == 0
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ")}
    assert set(lines) == set(BENCHMARKS)
    assert lines["modelnet40"].split()[1:4] == ["point", "reader", "modelnet40"]
    assert "ModelNet40/<class>/{train,test}/*.off" in lines["modelnet40"]
    assert "videos/all/" in lines["msrvtt"] and "meta/esc50.csv" in lines["esc50"]


def test_manifest_help_names_the_benchmarks():
    out = runner.invoke(app, ["manifest", "--help"])
    assert out.exit_code == 0 and "shapenet_part" in out.stdout and "urbansound8k" in out.stdout


def test_unknown_name_missing_root_and_wrong_layout_exit_2_with_one_line(tmp_path):
    for args, expected in (
        (["shapenetpart", str(tmp_path)], "unknown benchmark 'shapenetpart'; known: caltech101"),
        (["esc50", str(tmp_path / "nope")], "does not exist"),
        (["ucf101", str(tmp_path)], "UCF-101 layout incomplete: expected the video folder at"),
    ):
        out = runner.invoke(app, ["manifest", *args, "--out", str(tmp_path / "m.parquet")])
        assert out.exit_code == 2, out.output
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and expected in out.stderr
        assert "Traceback" not in out.output
    assert not (tmp_path / "m.parquet").exists()


def test_a_subset_reports_missing_classes_and_options_reach_the_reader(tmp_path):
    root = write_esc50(tmp_path / "ESC-50-master")
    out = runner.invoke(app, ["manifest", "esc50", str(tmp_path), "--out", str(tmp_path / "m.parquet")])
    assert out.exit_code == 0, out.output
    assert "esc50: 4 samples, 50 classes, 0 quarantined" in out.stdout
    assert "missing: 48 of 50 classes have no sample here: rooster, pig, cow, frog, cat, ..." in out.stdout
    table = pq.read_table(tmp_path / "m.parquet").to_pylist()
    assert {r["class_index"] for r in table} == {0, 41}  # canonical ESC-50 targets, not 0 and 1
    assert {r["path"] for r in table} == {f"ESC-50-master/audio/{n.name}" for n in (root / "audio").iterdir()}
    out = runner.invoke(
        app,
        [
            "manifest",
            "esc50",
            str(root),
            "--out",
            str(tmp_path / "f.parquet"),
            "-o",
            "test_folds=[1]",
            "-o",
            "eval_folds=[]",
        ],
    )
    splits = {r["sample_id"]: r["split"] for r in pq.read_table(tmp_path / "f.parquet").to_pylist()}
    assert out.exit_code == 0 and sorted(splits.values()) == ["test", "test", "train", "train"]
    assert all(s == ("test" if sid.startswith("1-") else "train") for sid, s in splits.items())
    out = runner.invoke(app, ["manifest", "esc50", str(root), "--out", str(tmp_path / "n.parquet"), "-o", "bogus=1"])
    assert out.exit_code == 2 and "has no option bogus; its options: test_folds" in out.stderr


def test_classnames_none_and_a_list_file_from_the_cli(tmp_path):
    root = write_esc50(tmp_path / "esc", classes=(3, 7))
    out = runner.invoke(
        app, ["manifest", "esc50", str(root), "--out", str(tmp_path / "m.parquet"), "-o", "classnames=none"]
    )
    assert out.exit_code == 0 and "4 samples, 2 classes" in out.stdout and "missing" not in out.stdout
    # One class-index rule: targets 3 and 7 are classes 0 and 1, the dataset's own number kept beside them.
    assert sorted({(r["class_index"], r["class_key"]) for r in pq.read_table(tmp_path / "m.parquet").to_pylist()}) == [
        (0, "cow"),
        (1, "insects"),
    ]
    from unibind_core.data.benchmarks.build import read_root

    built = read_root(BENCHMARKS["esc50"], root, {"classnames": None})
    assert built.classes.select(["class_index", "dataset_index"]).to_pylist() == [
        {"class_index": 0, "dataset_index": 3},
        {"class_index": 1, "dataset_index": 7},
    ]
    mine = tmp_path / "mine.tsv"
    mine.write_text("dog\tdog\nrooster\tcock\n")
    out = runner.invoke(
        app, ["manifest", "esc50", str(root), "--out", str(tmp_path / "x.parquet"), "-o", f"classnames={mine}"]
    )
    assert out.exit_code == 2 and "not in the list: 'cow'" in out.stderr and out.stderr.count("\n") == 1


def test_msrvtt_refuses_classnames_none_in_one_line(tmp_path):
    out = runner.invoke(
        app, ["manifest", "msrvtt", str(tmp_path), "--out", str(tmp_path / "m.parquet"), "-o", "classnames=none"]
    )
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.output
    assert "MSR-VTT's annotations hold category numbers only" in out.stderr and "classnames=msrvtt" in out.stderr
