"""Spans, edits, and applying edits so that nothing outside them changes.

Everything that crosses a stage boundary is a frozen dataclass: a detector returns
``Span``s, a rewriter returns ``Edit``s, the façade returns a ``RepairResult``.
Offsets are always character offsets into the decoded input text.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable, Sequence

from .density import verdict_for

WORD = re.compile(r"\w+(?:['’]\w+)*")


# Span.source of a stretch the tagger scored under its threshold (``repair.detect.UnsureSpans``): only a vetting
# model fitted on such spans may rewrite it
UNSURE_SOURCE = "unsure"


def partition_unsure(spans: Iterable["Span"]) -> tuple[list["Span"], list["Span"]]:
    """(the spans of every other source, the unsure ones), each in the order given."""
    spans = list(spans)
    return [s for s in spans if s.source != UNSURE_SOURCE], [s for s in spans if s.source == UNSURE_SOURCE]


@dataclass(frozen=True)
class Span:
    """A stretch of input text the detector believes a spinner put there."""

    start: int
    end: int
    text: str
    score: float
    source: str = ""
    # what the detector itself thinks stood here (``--verify lm``); the rewriter weighs them too
    suggestions: tuple[str, ...] = ()

    def shifted(self, offset: int) -> "Span":
        return replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True)
class Alternative:
    text: str
    score: float


@dataclass(frozen=True)
class Edit:
    """One proposed change: replace ``text[start:end]`` (== ``original``) by ``replacement``."""

    start: int
    end: int
    original: str
    replacement: str
    score: float
    alternatives: tuple[Alternative, ...] = ()
    source: str = ""

    def shifted(self, offset: int) -> "Edit":
        return replace(self, start=self.start + offset, end=self.end + offset)

    def with_replacement(self, replacement: str) -> "Edit":
        return replace(self, replacement=replacement)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["alternatives"] = [asdict(a) for a in self.alternatives]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Edit":
        alternatives = tuple(Alternative(**a) for a in data.get("alternatives", ()))
        return cls(
            start=data["start"],
            end=data["end"],
            original=data["original"],
            replacement=data["replacement"],
            score=data.get("score", 1.0),
            alternatives=alternatives,
            source=data.get("source", ""),
        )


@dataclass(frozen=True)
class RepairResult:
    """The input, the edits made to it, the repaired text and what made them."""

    text: str
    edits: tuple[Edit, ...]
    repaired: str
    signature: str
    spans: tuple[Span, ...] = field(default=(), compare=False)

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def words_changed(self) -> int:
        return sum(max(count_words(e.original), 1) for e in self.edits)

    @property
    def spin_per_1000(self) -> float:
        """Spun words per 1,000 words: a length-normalised document spin score."""
        words = self.words
        return 1000.0 * self.words_changed / words if words else 0.0

    @property
    def verdict(self) -> str:
        """"clean" / "suspicious" / "heavily spun" (bands in repair/density.py)."""
        return verdict_for(self.spin_per_1000, self.words_changed)

    def to_dict(self) -> dict:
        return {
            "signature": self.signature,
            "words": self.words,
            "words_changed": self.words_changed,
            "spin_per_1000": round(self.spin_per_1000, 2),
            "verdict": self.verdict,
            "edits": [e.to_dict() for e in self.edits],
        }


def overlaps_any(item, others: Iterable) -> bool:
    """Whether ``item`` shares a character with any of ``others`` (anything with start and end)."""
    return any(o.start < item.end and item.start < o.end for o in others)


def best_without_overlaps(items: Iterable, score) -> list:
    """The best items by ``score`` that overlap no better one, in text order (ties: the earlier item)."""
    kept: list = []
    for item in sorted(items, key=lambda x: -score(x)):
        if not overlaps_any(item, kept):
            kept.append(item)
    return sorted(kept, key=lambda x: x.start)


def count_words(text: str) -> int:
    return sum(1 for _ in WORD.finditer(text))


class OverlappingEditsError(ValueError):
    pass


def check_edits(text: str, edits: Sequence[Edit]) -> list[Edit]:
    """Return the edits sorted by position, refusing overlaps and stale offsets."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    previous_end = 0
    for edit in ordered:
        if not 0 <= edit.start <= edit.end <= len(text):
            raise ValueError(f"edit {edit.start}:{edit.end} lies outside a text of {len(text)} characters")
        if text[edit.start:edit.end] != edit.original:
            raise ValueError(
                f"edit {edit.start}:{edit.end} says {edit.original!r} but the text has "
                f"{text[edit.start:edit.end]!r}"
            )
        if edit.start < previous_end:
            raise OverlappingEditsError(f"edit at {edit.start} overlaps the one before it")
        previous_end = edit.end
    return ordered


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Splice replacements into ``text``; every character outside an edit is copied as is."""
    pieces: list[str] = []
    position = 0
    for edit in check_edits(text, list(edits)):
        pieces.append(text[position:edit.start])
        pieces.append(edit.replacement)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


def map_offset(edits: Sequence[Edit], offset: int) -> int:
    """Where a character offset of the input lands in the repaired text."""
    delta = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.end <= offset:
            delta += len(edit.replacement) - (edit.end - edit.start)
        else:
            break
    return offset + delta


def match_case(template: str, replacement: str) -> str:
    """Give ``replacement`` the casing pattern of the words it replaces.

    "VITALITY" -> "ENERGY", "Vitality" -> "Energy", "Vitality Exports" -> "Energy Exports";
    lower-case templates leave the replacement as the rewriter wrote it, so that proper
    nouns and acronyms inside a replacement survive.
    """
    letters = [c for c in template if c.isalpha()]
    if not letters or not replacement:
        return replacement
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    template_words = WORD.findall(template)
    if len(template_words) > 1 and all(w[0].isupper() for w in template_words):
        return re.sub(r"\b(\w)", lambda m: m.group(1).upper(), replacement)
    if letters[0].isupper():
        for i, c in enumerate(replacement):
            if c.isalpha():
                return replacement[:i] + c.upper() + replacement[i + 1:]
    return replacement
