"""The façade: detect spun spans, rewrite them, apply the edits."""
from __future__ import annotations

import bisect
import os
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from . import __version__
from .chunks import DEFAULT_BLOCK_CHARS, Block, split_blocks
from .components import (
    ComponentError,
    Detector,
    Rewriter,
    default_model_dir,
    folder_fingerprint,
    load_component,
    read_component_config,
)
from .edits import Edit, RepairResult, Span, apply_edits

DEFAULT_THRESHOLD = 0.5
# folders tried in order inside a model dir for each role; the lexicon baseline is the fallback
DETECTOR_FOLDERS = ("detector", "lexicon")
REWRITER_FOLDERS = ("rewriter", "lexicon")
# the causal LM every --verify mode reads with (a --rerank name)
VERIFIER_LM = "lm"


def _first_model_folder(model_dir: Path, names: Sequence[str]) -> Path:
    for name in names:
        if (model_dir / name / "component.json").is_file():
            return model_dir / name
    raise ComponentError(f"no model in {model_dir} (looked for {', '.join(names)})")


def _component_id(component, folder: Path | None) -> str:
    name = getattr(component, "name", type(component).__name__)
    return f"{name}@{folder_fingerprint(folder)}" if folder else name


def _lexicon_folder(component) -> Path | None:
    """The lexicon folder a loaded stage reads (the tagger's features, the rewriter's candidates)."""
    lexicon = getattr(component, "lexicon", None) or getattr(getattr(component, "features", None), "lexicon", None)
    folder = getattr(lexicon, "folder", None)
    return Path(folder).resolve() if folder else None


class Repairer:
    """``repair(text)`` = ``rewrite(text, detect(text))`` applied, block by block."""

    def __init__(
        self,
        detector: Detector,
        rewriter: Rewriter,
        threshold: float = DEFAULT_THRESHOLD,
        block_chars: int = DEFAULT_BLOCK_CHARS,
        detector_id: str | None = None,
        rewriter_id: str | None = None,
        settings: dict | None = None,
        ignore=None,
    ):
        self.detector = detector
        self.rewriter = rewriter
        self.threshold = threshold
        self.block_chars = block_chars
        self.detector_id = detector_id or _component_id(detector, None)
        self.rewriter_id = rewriter_id or _component_id(rewriter, None)
        self.settings = dict(settings or {})
        # optional IgnoreRules (repair/ignore.py): spans touching an ignored word are dropped
        self.ignore = ignore

    @classmethod
    def from_pretrained(
        cls,
        model_dir: os.PathLike | str | None = None,
        threshold: float | None = None,
        detector: os.PathLike | str | None = None,
        rewriter: os.PathLike | str | None = None,
        rerank: str | None = None,
        verify: str | None = None,
        **settings,
    ) -> "Repairer":
        """Load both stages from a models folder (or explicit component folders).

        ``rerank="lm"`` lets a causal LM re-score the rewriter's candidates (``repair.rerank``);
        ``verify="lm"`` lets it admit words the tagger was unsure of (``repair.verify``)."""
        root = Path(model_dir) if model_dir else default_model_dir()
        detector_folder = Path(detector) if detector else _first_model_folder(root, DETECTOR_FOLDERS)
        rewriter_folder = Path(rewriter) if rewriter else _first_model_folder(root, REWRITER_FOLDERS)
        if threshold is None:
            threshold = read_component_config(detector_folder).get("threshold", DEFAULT_THRESHOLD)
        detector_obj = load_component(detector_folder)
        rewriter_obj = load_component(rewriter_folder)
        rerank_settings = None
        if verify and verify != "none":
            detector_obj = _with_verifier(detector_obj, verify)
            if not rerank or rerank == "none":
                # the LM that admitted a span also judges its restoration (it suggests what stood there); where it
                # read only term images, only their spans
                rerank = VERIFIER_LM
                if not detector_obj.settings.read_unsure:
                    rerank_settings = _terms_only_rerank()
        if rerank and rerank != "none":
            rewriter_obj, reranker_name = _with_reranker(rewriter_obj, rerank, rerank_settings)
            settings["settings"] = {**settings.get("settings", {}), "rerank": reranker_name}
        # both stages read the shared lexicon's tables, so its version is part of what made a result
        lexicons = {_lexicon_folder(c) for c in (detector_obj, rewriter_obj)} - {None, detector_folder.resolve(),
                                                                                  rewriter_folder.resolve()}
        if lexicons:
            settings["settings"] = {**settings.get("settings", {}),
                                    "lexicon": ",".join(f"lexicon@{folder_fingerprint(f)}" for f in sorted(lexicons))}
        return cls(
            detector_obj,
            rewriter_obj,
            threshold=float(threshold),
            detector_id=_component_id(detector_obj, detector_folder),
            rewriter_id=_component_id(rewriter_obj, rewriter_folder),
            **settings,
        )

    @property
    def signature(self) -> str:
        parts = [f"detector:{self.detector_id}", f"threshold:{self.threshold:g}"]
        parts += [f"{key}:{value}" for key, value in getattr(self.detector, "signature_settings", {}).items()]
        parts.append(f"rewriter:{self.rewriter_id}")
        parts += [f"{key}:{value}" for key, value in getattr(self.rewriter, "signature_settings", {}).items()]
        parts += [f"{key}:{value}" for key, value in sorted(self.settings.items())]
        if self.ignore:
            parts.append(f"ignore:{self.ignore.fingerprint}")
        parts.append(f"version:{__version__}")
        return "|".join(parts)

    def blocks(self, text: str) -> list[Block]:
        return split_blocks(text, self.block_chars)

    def detect(self, text: str) -> list[Span]:
        return [span.shifted(block.start) for block in self.blocks(text) for span in self._detect_block(block.text)]

    def rewrite(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        edits: list[Edit] = []
        for block in self.blocks(text):
            inside = [s.shifted(-block.start) for s in spans if block.start <= s.start and s.end <= block.end]
            edits += [e.shifted(block.start) for e in self._rewrite_block(block.text, inside)]
        return edits

    def repair(self, text: str, skip: Sequence[tuple[int, int]] = ()) -> RepairResult:
        """Repair ``text``; character ranges in ``skip`` (code, markup, ignored regions) stay untouched."""
        spans: list[Span] = []
        edits: list[Edit] = []
        for block, result in self.iter_repair(text, skip):
            spans += [s.shifted(block.start) for s in result.spans]
            edits += [e.shifted(block.start) for e in result.edits]
        return RepairResult(text, tuple(edits), apply_edits(text, edits), self.signature, tuple(spans))

    def iter_repair(self, text: str, skip: Sequence[tuple[int, int]] = ()) -> Iterator[tuple[Block, RepairResult]]:
        """(Block, block-local RepairResult) for each block of a text held in memory."""
        for block in self.blocks(text):
            local = [(max(a, block.start) - block.start, min(b, block.end) - block.start)
                     for a, b in skip if a < block.end and b > block.start]
            yield block, self.repair_block(block.text, local)

    def repair_stream(self, blocks: Iterable[Block]) -> Iterator[tuple[Block, RepairResult]]:
        """Repair blocks one at a time (for files too large to hold); offsets stay block-local."""
        for block in blocks:
            yield block, self.repair_block(block.text)

    def repair_block(self, text: str, skip: Sequence[tuple[int, int]] = ()) -> RepairResult:
        spans = self._detect_block(mask(text, skip))
        spans = [s for s in spans if not any(s.start < b and s.end > a for a, b in skip)]
        edits = self._rewrite_block(text, spans)
        return RepairResult(text, tuple(edits), apply_edits(text, edits), self.signature, tuple(spans))

    def _detect_block(self, text: str) -> list[Span]:
        spans = list(self.detector.detect(text, self.threshold)) if text.strip() else []
        return self.ignore.filter(text, spans) if self.ignore and spans else spans

    def _rewrite_block(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        if not spans:
            return []
        edits = [e for e in self.rewriter.rewrite(text, spans) if e.replacement != e.original]
        return _detector_scored(_drop_overlaps(edits), spans)


def _detector_scored(edits: Sequence[Edit], spans: Sequence[Span]) -> list[Edit]:
    """``Edit.score`` is the detector's confidence (what ``--threshold`` compares), not the rewriter's:
    the rewriter's own probabilities are in ``alternatives``. A rewriter may widen a span (a/an),
    so the best overlapping span counts. Detector spans do not overlap, so sorted by start their
    ends are sorted too and the overlapping ones are found by bisection (a dense block has thousands)."""
    ordered = sorted(spans, key=lambda s: s.start)
    starts = [s.start for s in ordered]
    ends = [s.end for s in ordered]
    scored = []
    for edit in edits:
        touching = ordered[bisect.bisect_right(ends, edit.start):bisect.bisect_left(starts, edit.end)]
        scored.append(replace(edit, score=max(s.score for s in touching)) if touching else edit)
    return scored


def _terms_only_rerank():
    """Reranking for ``--verify terms``: the term images the LM admitted, from their own candidates (no reserve)."""
    from .rerank import RerankSettings
    from .terms import LM_SOURCE

    return RerankSettings(sources=(LM_SOURCE,), pool_candidates=0)


def _with_reranker(rewriter, name: str, settings=None):
    """The rewriter re-scored by reranker ``name`` (``settings``: ``RerankSettings``), and the reranker's name for the
    signature."""
    if not callable(getattr(rewriter, "with_reranker", None)):
        raise ComponentError(f"--rerank {name} needs a rewriter that scores candidates (the seq2seq rewriter)")
    from .rerank import load_reranker

    scorer = load_reranker(name)
    reranked = rewriter.with_reranker(scorer, settings)
    return reranked, f"{scorer.name}/{reranked.reranker[1].signature}"


def _with_verifier(detector, name: str):
    """The detector with a causal LM re-reading its unsure words or term images (``repair.verify``)."""
    if not callable(getattr(detector, "word_scores_many", None)):
        raise ComponentError(f"--verify {name} needs the tagger detector (per-word scores)")
    from .rerank import load_reranker
    from .verify import VERIFY_MODES, LMVerifiedDetector

    if name not in VERIFY_MODES:
        raise ComponentError(f"unknown --verify {name!r} (choose from none, {', '.join(VERIFY_MODES)})")
    return LMVerifiedDetector(detector, load_reranker(VERIFIER_LM), VERIFY_MODES[name])


def mask(text: str, skip: Sequence[tuple[int, int]]) -> str:
    """Blank out skipped ranges (keeping line breaks) so a detector never reads code or markup,
    while every offset stays valid in the original text."""
    if not skip:
        return text
    chars = list(text)
    for start, end in skip:
        for i in range(start, end):
            if chars[i] not in "\r\n":
                chars[i] = " "
    return "".join(chars)


def _drop_overlaps(edits: list[Edit]) -> list[Edit]:
    """Keep the higher-scoring edit where two overlap: a rewriter may widen a span (a/an).

    Kept edits stay sorted by position so each candidate is compared only with its
    neighbours (a dense 100k-character block has thousands of edits)."""
    kept: list[Edit] = []
    keys: list[tuple[int, int]] = []
    for edit in sorted(edits, key=lambda e: -e.score):
        index = bisect.bisect_left(keys, (edit.start, edit.end))
        neighbours = kept[max(index - 1, 0):index]
        for k in kept[index:]:
            if k.start >= edit.end and k.start > edit.start:
                break
            neighbours.append(k)
        if all(edit.end <= k.start or edit.start >= k.end for k in neighbours):
            kept.insert(index, edit)
            keys.insert(index, (edit.start, edit.end))
    return kept
