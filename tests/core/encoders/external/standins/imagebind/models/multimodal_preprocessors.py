"""Stand-in imagebind.models.multimodal_preprocessors: SimpleTokenizer as a byte tokenizer padded to 77."""

import torch


class SimpleTokenizer:
    def __init__(self, bpe_path, context_length=77):
        assert bpe_path.endswith("bpe_simple_vocab_16e6.txt.gz"), bpe_path  # the package's own BPE file
        self.context_length = context_length

    def __call__(self, texts, context_length=None):
        n = context_length or self.context_length
        rows = [
            [min(255, ord(c)) for c in t[:n]] + [0] * (n - len(t[:n]))
            for t in ([texts] if isinstance(texts, str) else texts)
        ]
        out = torch.tensor(rows, dtype=torch.long)
        return out[0] if len(out) == 1 else out
