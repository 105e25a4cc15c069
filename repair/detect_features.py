"""Per-word evidence the tagger cannot see inside one window: the lexicon and the document.

A spinner applies one dictionary throughout a text, so a spun document shows many swaps at
once, reuses its substitutes and lacks the very common words they replaced. The encoder
sees 128 tokens at a time; these features carry the rest of the document to every word.
None of them is a rule: the reverse thesaurus alone flags far too much, so the tagger
learns how far to trust each one.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from .chunks import sentence_ends
from .edits import WORD

# Word-like units plus every other non-space character: what the encoder reads.
UNIT = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")

FEATURE_NAMES = (
    "zipf",             # how common the word is (wordfreq zipf / 8)
    "has_originals",    # the reverse thesaurus knows more frequent words it may stand for
    "zipf_gain",        # log zipf ratio: best original's zipf minus this word's, clipped, / 6
    "phrase_gain",      # the same for a 2-3 word phrase this word belongs to
    "channel",          # how readily a thesaurus spinner picks this word for its best original
    "originals_absent", # none of its frequent originals occurs anywhere in the document
    "recurrence",       # log count of this word in the document
    "doc_prior_rate",   # first pass: share of document words with a strong reverse-thesaurus prior
    "doc_absent_rate",  # share of document words whose originals are all absent
    "fit_gain",         # how much better the best original fits between the neighbours (bigrams)
    "capitalised",      # capital letter not at a sentence start: names are rarely spun
    "sentence_start",
    "numeric",
)
NUM_FEATURES = len(FEATURE_NAMES)
TOP_ORIGINALS = 5
STRONG_PRIOR = 0.25  # zipf_gain above this (1.5 zipf) counts toward the document's spin rate


@dataclass(frozen=True)
class Unit:
    """A word or punctuation mark of the text, with its character offsets."""

    start: int
    end: int
    text: str
    is_word: bool
    sentence: int


@dataclass(frozen=True)
class DocumentUnits:
    text: str
    units: tuple[Unit, ...]

    @property
    def word_positions(self) -> list[int]:
        return [i for i, u in enumerate(self.units) if u.is_word]


def split_units(text: str) -> DocumentUnits:
    """Units in order, each tagged with the sentence it belongs to (for sentence-aligned windows)."""
    boundaries = sentence_ends(text)
    units, sentence, b = [], 0, 0
    for m in UNIT.finditer(text):
        while b < len(boundaries) and boundaries[b] <= m.start():
            b += 1
            sentence += 1
        units.append(Unit(m.start(), m.end(), m.group(), WORD.fullmatch(m.group()) is not None, sentence))
    return DocumentUnits(text, tuple(units))


class _FrequencyOnlyLexicon:
    """Stands in when the shared lexicon is absent: word frequencies, no reverse thesaurus."""

    def zipf(self, word: str) -> float:
        from wordfreq import zipf_frequency

        return zipf_frequency(word, "en")

    def originals_for(self, word: str) -> list:
        return []


def load_lexicon(folder: Path | None):
    """The shared lexicon if it is installed and built, else a frequency-only stand-in."""
    if folder is not None and (Path(folder) / "component.json").is_file():
        try:
            from .lexicon import Lexicon
        except ImportError:
            return _FrequencyOnlyLexicon()
        return Lexicon.load(folder)
    return _FrequencyOnlyLexicon()


def _candidate_text(candidate) -> str:
    return getattr(candidate, "text", candidate if isinstance(candidate, str) else str(candidate))


class LexicalFeatures:
    """Computes the FEATURE_NAMES matrix for a document; caches per word type."""

    def __init__(self, lexicon):
        self.lexicon = lexicon
        self.has_fit = callable(getattr(lexicon, "fit", None))
        self._zipf = lru_cache(maxsize=200_000)(self._zipf_uncached)
        self._originals = lru_cache(maxsize=200_000)(self._originals_uncached)

    @property
    def is_frequency_only(self) -> bool:
        return isinstance(self.lexicon, _FrequencyOnlyLexicon)

    def _zipf_uncached(self, word: str) -> float:
        try:
            return float(self.lexicon.zipf(word))
        except Exception:  # a phrase or odd token the lexicon cannot score
            return 0.0

    def _originals_uncached(self, word: str) -> tuple[tuple[str, ...], float]:
        """The lexicon's best originals (its own order) and the best channel among them."""
        try:
            found = self.lexicon.originals_for(word)
        except Exception:
            return (), 0.0
        texts, channel = [], 0.0
        for candidate in found[:TOP_ORIGINALS]:
            text = _candidate_text(candidate).lower()
            if text and text != word and text not in texts:
                texts.append(text)
                channel = max(channel, float(getattr(candidate, "channel", 0.0) or 0.0))
        return tuple(texts), channel

    def _gain(self, text: str, originals: Sequence[str]) -> float:
        if not originals:
            return 0.0
        best = max(self._zipf(o) for o in originals)
        return min(max(best - self._zipf(text), 0.0), 6.0) / 6.0

    def compute(self, doc: DocumentUnits) -> list[list[float]]:
        """One feature row per unit (punctuation rows are all zero)."""
        words = [(i, u) for i, u in enumerate(doc.units) if u.is_word]
        lower = [u.text.lower() for _, u in words]
        counts: dict[str, int] = {}
        for w in lower:
            counts[w] = counts.get(w, 0) + 1
        vocabulary = set(counts)
        looked_up = [self._originals(w) for w in lower]
        originals = [o for o, _ in looked_up]
        channels = [min(math.log1p(c), 3.0) / 3.0 for _, c in looked_up]
        gains = [self._gain(w, o) for w, o in zip(lower, originals)]
        absent = [bool(o) and not any(x in vocabulary for x in o if " " not in x) and not any(
            x in doc.text.lower() for x in o if " " in x) for o in originals]

        phrase_gain = [0.0] * len(words)
        for n in (2, 3):
            for k in range(len(words) - n + 1):
                if words[k + n - 1][1].sentence != words[k][1].sentence:
                    continue
                phrase = " ".join(lower[k:k + n])
                found, _ = self._originals(phrase)
                if found:
                    gain = max(self._gain(phrase, found), 1.0 / 6.0)
                    for j in range(k, k + n):
                        phrase_gain[j] = max(phrase_gain[j], gain)

        total = max(len(words), 1)
        doc_prior_rate = sum(g > STRONG_PRIOR for g in gains) / total
        doc_absent_rate = sum(absent) / total

        rows = [[0.0] * NUM_FEATURES for _ in doc.units]
        previous_sentence = -1
        for k, ((i, unit), w) in enumerate(zip(words, lower)):
            sentence_start = unit.sentence != previous_sentence
            previous_sentence = unit.sentence
            fit_gain = 0.0
            if self.has_fit and originals[k]:
                left = lower[k - 1] if k > 0 else ""
                right = lower[k + 1] if k + 1 < len(lower) else ""
                try:
                    mine = self.lexicon.fit(left, w, right)
                    best = max(self.lexicon.fit(left, o, right) for o in originals[k])
                    fit_gain = max(min((best - mine) / 10.0, 1.0), -1.0)
                except Exception:
                    fit_gain = 0.0
            rows[i] = [
                self._zipf(w) / 8.0,
                1.0 if originals[k] else 0.0,
                gains[k],
                phrase_gain[k],
                channels[k],
                1.0 if absent[k] else 0.0,
                math.log1p(counts[w]) / 3.0,
                doc_prior_rate,
                doc_absent_rate,
                fit_gain,
                1.0 if unit.text[:1].isupper() and not sentence_start else 0.0,
                1.0 if sentence_start else 0.0,
                1.0 if unit.text.isdigit() else 0.0,
            ]
        return rows
