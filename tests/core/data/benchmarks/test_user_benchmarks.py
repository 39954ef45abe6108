"""Your own benchmarks declared in a config file (data/benchmarks/user.py): the specs they become, the class-prompt
captions of data that ships none, and one error line naming the file, the entry and the field."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unibind_core.data.benchmarks.build import read_root
from unibind_core.data.benchmarks.spec import BENCHMARKS, BUILT_IN_PROFILES
from unibind_core.data.benchmarks.user import from_environment, load_user_benchmarks
from unibind_core.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[4]
GOOD = """profile: mine
benchmarks:
  - name: pets
    modality: image
    reader: folder
    root: /somewhere/pets
    reader_options: {suffixes: [.png]}
    loader_options: {size: 64}
    train: {batch_size: 8, lr: 0.01, epochs: 3}
  - name: pet_sounds
    modality: audio
    reader: manifest
    root: sounds
    prompt_noun: sound
    captions: none
    paired_benchmark: pets
"""


def _load(tmp_path, text, name="benchmarks.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_user_benchmarks(path, BENCHMARKS, BUILT_IN_PROFILES)


def test_a_file_declares_specs_and_their_profile(tmp_path):
    own = _load(tmp_path, GOOD)
    assert own.profile == "mine" and list(own.specs) == ["pets", "pet_sounds"]
    pets, sounds = own.specs["pets"], own.specs["pet_sounds"]
    assert (pets.modality, pets.reader, pets.root, pets.prompt_noun) == ("image", "folder", "/somewhere/pets", "photo")
    assert dict(pets.reader_options) == {"suffixes": [".png"]} and dict(pets.loader_options) == {"size": 64}
    assert (pets.train.batch_size, pets.train.lr, pets.train.epochs) == (8, 0.01, 3)
    assert pets.caption_template == "A photo of a {class_name}." and sounds.caption_template is None
    assert sounds.paired_benchmark == "pets" and sounds.root_names == ("sounds",)
    json_file = tmp_path / "b.json"
    json_file.write_text('{"benchmarks": [{"name": "x1", "modality": "point", "reader": "folder", "root": "x"}]}')
    assert from_environment(BENCHMARKS, BUILT_IN_PROFILES, {"UNIBIND_BENCHMARKS": str(json_file)}).profile == "own"
    assert dict(from_environment(BENCHMARKS, BUILT_IN_PROFILES, {}).specs) == {}


def test_samples_without_captions_get_their_class_prompt(tmp_path):
    for cls in ("red_fox", "owl"):
        for i in range(3):
            (tmp_path / "data" / cls).mkdir(parents=True, exist_ok=True)
            (tmp_path / "data" / cls / f"{i}.png").write_bytes(b"x")
    (tmp_path / "data" / "unibind_captions.jsonl").write_text('{"path": "owl/0.png", "caption": "an owl at dusk"}\n')
    spec = _load(tmp_path, GOOD).specs["pets"]
    built = read_root(spec, tmp_path / "data")
    rows = built.table.to_pylist()
    assert built.quarantine.num_rows == 0 and len(rows) == 6
    captions = {r["path"]: r["caption"] for r in rows}
    assert captions["owl/0.png"] == "an owl at dusk"  # a shipped caption wins
    assert captions["red_fox/1.png"] == "A photo of a red fox." and captions["owl/2.png"] == "A photo of a owl."
    from dataclasses import replace

    none = read_root(replace(spec, caption_template=None), tmp_path / "data").table.to_pylist()
    assert {r["path"]: r["caption"] for r in none}["owl/1.png"] is None


@pytest.mark.parametrize("edit, message", [
    (("modality: image", "modality: imagery"), "benchmark #1 ('pets'), field modality: unknown modality 'imagery'"),
    (("reader: folder", "reader: folders"), "benchmark #1 ('pets'), field reader: unknown reader 'folders'"),
    (("name: pets", "name: Pets!"), "benchmark #1 ('Pets!'), field name: 'Pets!' is not a partition key"),
    (("name: pets", "name: esc50"), "field name: 'esc50' is already a benchmark"),
    (("    root: /somewhere/pets\n", ""), "benchmark #1 ('pets'), field root: missing"),
    (("epochs: 3", "epochs: 0"), "field train.epochs: must be a positive int, got 0"),
    (("lr: 0.01", "lrate: 0.01"), "field train.lrate: unknown"),
    (("captions: none", "captions: blip"), "benchmark #2 ('pet_sounds'), field captions: 'blip' is not one of"),
    (("paired_benchmark: pets", "paired_benchmark: cats"), "field paired_benchmark: 'cats' is not another"),
    (("    prompt_noun: sound\n", "    prompt: sound\n"), "benchmark #2 ('pet_sounds'), field prompt: unknown field"),
    (("profile: mine", "profile: paper"), "field profile: 'paper' must be a new profile name"),
    (("loader_options: {size: 64}", "loader_options: [64]"), "field loader_options: must be a mapping"),
    (("{suffixes: [.png]}", "{suffix: [.png]}"), "field reader_options.suffix: the folder reader has no such option"),
])
def test_a_mistake_names_the_file_the_entry_and_the_field(tmp_path, edit, message):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, GOOD.replace(*edit))
    assert str(caught.value).startswith(f"{tmp_path / 'benchmarks.yaml'}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_yaml_or_missing_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"b.yaml: not valid YAML at line 2"):
        _load(tmp_path, "benchmarks:\n\t- name: x\n", "b.yaml")
    with pytest.raises(ConfigError, match="expected a mapping with a non-empty list `benchmarks:`"):
        _load(tmp_path, "profile: own\n")
    with pytest.raises(ConfigError, match=r"nope.yaml: benchmarks file \(UNIBIND_BENCHMARKS\) does not exist"):
        from_environment(BENCHMARKS, BUILT_IN_PROFILES, {"UNIBIND_BENCHMARKS": str(tmp_path / "nope.yaml")})


@pytest.mark.slow  # the CLI in a subprocess: ~3 s
def test_the_cli_refuses_a_bad_file_in_one_line(tmp_path):
    bad = tmp_path / "benchmarks.yaml"
    bad.write_text(GOOD.replace("modality: image", "modality: imagery"))
    env = {**os.environ, "UNIBIND_BENCHMARKS": str(bad), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", "from pipelines.cli import app; app()", "benchmarks"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [f"error: {bad}: benchmark #1 ('pets'), field modality: unknown "
                                               "modality 'imagery'; known: audio, event, image, point, thermal, video"]
