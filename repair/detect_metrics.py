"""Span-level figures for a detector, and the precision-first threshold.

Gold spans are the data contract's edits widened to whole words; a predicted span counts only
if its start and end match a gold span exactly. Clean documents measure damage: flagged words
per 1,000 clean words.
"""
from __future__ import annotations

from dataclasses import asdict, astuple, dataclass
from typing import Callable, Iterable, Sequence

from .edits import WORD, Span

CLEAN_FLAGS_PER_1000 = 2.0


@dataclass(frozen=True)
class GoldDocument:
    text: str
    spans: tuple[tuple[int, int], ...]
    clean: bool
    domain: str = ""


@dataclass(frozen=True)
class DetectionFigures:
    span_precision: float
    span_recall: float
    span_f1: float
    word_precision: float
    word_recall: float
    clean_flags_per_1000: float
    clean_words: int
    gold_spans: int
    predicted_spans: int

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def widened_edits(record: dict) -> list[tuple[tuple[int, int], dict]]:
    """Each data-contract edit, in order, with its span widened to the words it touches (as a
    detector marks them); an edit that touches no word is left out."""
    text = record["spun"]
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    widened = []
    for edit in sorted(record.get("edits", []), key=lambda e: e["spun_start"]):
        touched = [w for w in words if w[0] < edit["spun_end"] and w[1] > edit["spun_start"]]
        if touched:
            widened.append(((touched[0][0], touched[-1][1]), edit))
    return widened


def gold_from_record(record: dict) -> GoldDocument:
    """A data-contract document with its edits widened to the words they touch."""
    spans = tuple(span for span, _ in widened_edits(record))
    return GoldDocument(record["spun"], spans, record.get("profile") == "clean" or not record.get("edits"),
                        record.get("domain", ""))


def _word_set(text: str, spans: Iterable[tuple[int, int]]) -> set[int]:
    starts = set()
    for a, b in spans:
        starts.update(m.start() + a for m in WORD.finditer(text[a:b]))
    return starts


@dataclass(frozen=True)
class DetectionCounts:
    """What ``figures`` adds up, for one document or many (``+`` sums them)."""

    span_hits: int = 0
    gold_spans: int = 0
    predicted_spans: int = 0
    word_hits: int = 0
    gold_words: int = 0
    flagged_words: int = 0
    clean_words: int = 0
    clean_flags: int = 0

    def __add__(self, other: "DetectionCounts") -> "DetectionCounts":
        return DetectionCounts(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def figures(self) -> DetectionFigures:
        p = self.span_hits / self.predicted_spans if self.predicted_spans else 1.0
        r = self.span_hits / self.gold_spans if self.gold_spans else 1.0
        return DetectionFigures(
            span_precision=p,
            span_recall=r,
            span_f1=2 * p * r / (p + r) if p + r else 0.0,
            word_precision=self.word_hits / self.flagged_words if self.flagged_words else 1.0,
            word_recall=self.word_hits / self.gold_words if self.gold_words else 1.0,
            clean_flags_per_1000=1000.0 * self.clean_flags / self.clean_words if self.clean_words else 0.0,
            clean_words=self.clean_words,
            gold_spans=self.gold_spans,
            predicted_spans=self.predicted_spans,
        )


def document_counts(gold: GoldDocument, spans: Sequence[Span]) -> DetectionCounts:
    predicted = {(s.start, s.end) for s in spans}
    flagged = _word_set(gold.text, predicted)
    truth = set(gold.spans)
    gold_words = _word_set(gold.text, truth)
    clean_words = sum(1 for _ in WORD.finditer(gold.text)) if gold.clean else 0
    return DetectionCounts(len(predicted & truth), len(truth), len(predicted), len(flagged & gold_words),
                           len(gold_words), len(flagged), clean_words, len(flagged) if gold.clean else 0)


def figures(golds: Sequence[GoldDocument], predictions: Sequence[Sequence[Span]]) -> DetectionFigures:
    return sum((document_counts(g, s) for g, s in zip(golds, predictions)), DetectionCounts()).figures()


def clean_flags_by_domain(golds: Sequence[GoldDocument], predictions: Sequence[Sequence[Span]]) -> dict[str, float]:
    by_domain: dict[str, list[int]] = {}
    for gold, spans in zip(golds, predictions):
        if not gold.clean:
            continue
        counts = by_domain.setdefault(gold.domain or "?", [0, 0])
        counts[0] += len(_word_set(gold.text, [(s.start, s.end) for s in spans]))
        counts[1] += sum(1 for _ in WORD.finditer(gold.text))
    return {d: round(1000.0 * f / max(w, 1), 2) for d, (f, w) in sorted(by_domain.items())}


def calibrate(golds: Sequence[GoldDocument], spans_at: Callable[[float], list[list[Span]]],
              candidates: Iterable[float], limit: float = CLEAN_FLAGS_PER_1000) -> tuple[float, DetectionFigures]:
    """The threshold for which clean text gets at most ``limit`` flags per 1,000 words; above
    that bound, the one with the best span F1 (a higher threshold only removes flags)."""
    best: tuple[float, DetectionFigures] | None = None
    for threshold in sorted(set(candidates)):
        result = figures(golds, spans_at(threshold))
        if result.clean_flags_per_1000 > limit:
            continue
        if best is None or result.span_f1 > best[1].span_f1:
            best = (threshold, result)
    if best is None:
        threshold = max(candidates)
        return threshold, figures(golds, spans_at(threshold))
    return best
