"""Tiny captioning models built from configs and saved with save_pretrained, so tests load them through
the same `from_pretrained(local_folder)` path users take (no hub: HF_HUB_OFFLINE=1)."""

from __future__ import annotations

from pathlib import Path

import torch

CORPUS = [
    "a photo of a dog on the green grass",
    "generate a detailed description of this photo",
    "question answer a red car in the busy street",
    "an event camera recording of a digit",
] * 3


def tiny_bpe(special: list[str]):
    """A byte-level BPE tokenizer (GPT-2 style) trained here on a few sentences."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(
            vocab_size=320,
            special_tokens=["<pad>", "</s>", "<unk>", *special],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="</s>", eos_token="</s>", unk_token="<unk>"
    )


def save_tiny_blip2(path: Path, seed: int = 0) -> Path:
    """BLIP-2 with a 1-layer ViT (32 px, 8 px patches), a 1-layer Q-Former (4 queries) and a 1-layer OPT."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        BlipImageProcessor,
        OPTConfig,
    )

    fast = tiny_bpe([])
    processor = Blip2Processor(BlipImageProcessor(size={"height": 32, "width": 32}), fast, num_query_tokens=4)
    text = OPTConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=1,
        ffn_dim=64,
        num_attention_heads=2,
        word_embed_proj_dim=32,
        max_position_embeddings=256,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    config = Blip2Config(
        vision_config=Blip2VisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ).to_dict(),
        qformer_config=Blip2QFormerConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            encoder_hidden_size=32,
            vocab_size=100,
        ).to_dict(),
        text_config=text.to_dict(),
        num_query_tokens=4,
        image_token_index=fast.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    Blip2ForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


CHAT = (
    "{% for m in messages %}<|user|>{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}{% if add_generation_prompt %}<|bot|>{% endif %}"
)


def save_tiny_llava(path: Path, seed: int = 0) -> Path:
    """LLaVA (a 1-layer CLIP ViT, 32 px, and a 1-layer LLaMA) with a chat template: an image-text-to-text model."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    fast = tiny_bpe(["<image>", "<|user|>", "<|bot|>"])
    image_proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_proc,
        tokenizer=fast,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=CHAT,
        image_token="<image>",
        num_additional_image_tokens=1,
    )  # the CLS token the "default" strategy drops
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=32,
    )
    text = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    config = LlavaConfig(
        vision_config=vision.to_dict(),
        text_config=text.to_dict(),
        image_token_index=fast.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    LlavaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


AUDIO_CHAT = (
    "{% for m in messages %}<|user|>{% for c in m['content'] %}{% if c['type'] == 'audio' %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|bot|>{% endif %}"
)


def save_tiny_qwen2_audio(path: Path, seed: int = 0) -> Path:
    """Qwen2-Audio with a 1-layer Whisper-style encoder over 5 s of 16-mel features and a 1-layer Qwen2 LM."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        Qwen2Config,
        WhisperFeatureExtractor,
    )

    fast = tiny_bpe(["<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|user|>", "<|bot|>"])
    features = WhisperFeatureExtractor(feature_size=16, sampling_rate=16000, chunk_length=5)
    processor = Qwen2AudioProcessor(feature_extractor=features, tokenizer=fast, chat_template=AUDIO_CHAT)
    audio = Qwen2AudioEncoderConfig(
        num_mel_bins=16,
        encoder_layers=1,
        encoder_attention_heads=2,
        encoder_ffn_dim=64,
        d_model=32,
        max_source_positions=250,
    )
    text = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    config = Qwen2AudioConfig(
        audio_config=audio.to_dict(),
        text_config=text.to_dict(),
        audio_token_index=fast.convert_tokens_to_ids("<|AUDIO|>"),
    )
    torch.manual_seed(seed)
    Qwen2AudioForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path
