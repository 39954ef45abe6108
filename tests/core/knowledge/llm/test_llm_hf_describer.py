"""The hf backend with a tiny LLaMA built from LlamaConfig and a tokenizer trained here, saved with
save_pretrained and loaded back through the real from_pretrained path (HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import re

import pytest
import torch
from llm_testing import CLASSES

from unibind_core.core.settings import Settings
from unibind_core.knowledge.describe import build_describer
from unibind_core.knowledge.kb import describe_categories
from unibind_core.knowledge.llm.cache import RequestKey
from unibind_core.knowledge.llm.config import LLMConfig
from unibind_core.knowledge.llm.describer import Request

CORPUS = [
    "a photo of a dog running on the green grass",
    "a sound of a bell ringing loudly at night",
    "please generate sentences related to this sentence",
    "an owl sits quietly in an old tree",
    "answer with a numbered list one sentence per line and nothing else",
    "a red apple on a wooden table",
]


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS * 2, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "<s>", "</s>"]))
    tok.decoder = decoders.WordPiece()  # joins words with spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>"
    )
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def _settings(root, model, **options) -> Settings:
    llm = LLMConfig(model=str(model), chunk_size=2, concurrency=3, max_tokens=10, **options)
    return Settings(data_root=root, describer="hf", llm=llm)  # device/dtype "auto": CPU fp32 here


def _spy_generate(backend, monkeypatch) -> list[tuple[int, ...]]:
    shapes, real = [], backend.lm.generate

    def generate(**kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return real(**kwargs)

    monkeypatch.setattr(backend.lm, "generate", generate)
    return shapes


def test_a_local_llama_writes_descriptions_in_batches_and_resumes_from_the_cache(tiny_llama, tmp_path, monkeypatch):
    describer = build_describer(_settings(tmp_path, tiny_llama))
    assert describer.source == f"llm:{tiny_llama.name}"
    assert describer.backend.lm.dtype == torch.float32 and describer.backend.device.type == "cpu"
    shapes = _spy_generate(describer.backend, monkeypatch)
    table, missing = describe_categories(describer, CLASSES, "photo", 4, "d", "image")
    vocab = set(" ".join(CORPUS).split())
    texts = table["Description"].to_pylist()
    assert table.num_rows == 12 and len(set(texts)) == 12 and sum(missing.values()) == 0
    assert all(set(re.findall(r"\w+", t)) <= vocab for t in texts)  # decoded from the model's own vocabulary
    assert shapes and all(b <= 3 for b, _ in shapes)  # prompts go through generate() in batches of ≤ 3
    assert any(b == 3 for b, _ in shapes)
    report = describer.report()
    assert report["backend"] == "hf" and report["requests_sent"] == sum(b for b, _ in shapes)
    assert report["tokens_in"] > 0 and report["tokens_out"] > 0

    again = build_describer(_settings(tmp_path, tiny_llama))  # a restart: everything from the cache
    shapes_again = _spy_generate(again.backend, monkeypatch)
    assert describe_categories(again, CLASSES, "photo", 4, "d", "image")[0]["Description"].to_pylist() == texts
    assert shapes_again == [] and again.report()["cache_hit_ratio"] == 1.0


def test_sampling_is_seeded_per_request_so_a_fresh_run_gives_the_same_descriptions(tiny_llama, tmp_path):
    one = describe_categories(
        build_describer(_settings(tmp_path / "a", tiny_llama)), CLASSES[:1], "photo", 3, "d", "image"
    )[0]
    two = describe_categories(
        build_describer(_settings(tmp_path / "b", tiny_llama)), CLASSES[:1], "photo", 3, "d", "image"
    )[0]
    assert one["Description"].to_pylist() == two["Description"].to_pylist()


def test_a_chat_template_is_used_when_the_tokenizer_has_one(tiny_llama, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    tok.chat_template = (
        "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant] {% endif %}"
    )
    backend = build_describer(_settings(tmp_path, tiny_llama)).backend
    backend.tokenizer = tok  # this backend only; the loaded tokenizer is shared
    text = backend.render(Request(RequestKey("hf", "m", "Please generate 2 sentences", "c", 0)))
    assert text.startswith("[system] Answer with a numbered list") and text.endswith("[assistant] ")
    assert "[user] Please generate 2 sentences" in text


def test_the_hf_describer_names_a_missing_model(tmp_path):
    with pytest.raises(ValueError, match="needs a model"):
        build_describer(Settings(data_root=tmp_path, describer="hf"))
