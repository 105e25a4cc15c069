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

PIECES = re.compile(r"[ -]")  # a neighbour's words, as the lexicon's bigrams see them

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
    # Thesaurus neighbours of any frequency: the reverse thesaurus keeps only originals more
    # frequent than the word, which leaves out half the originals of unseen swaps (lexicon card).
    "neighbour_fit",      # best neighbour's bigram fit in place minus the word's own, plus its votes
    "neighbour_left",     # the same against the word before only
    "neighbour_right",    # the same against the word after only
    "has_neighbours",
    "doc_neighbour_rate", # share of document words with a neighbour that fits clearly better
)
NUM_FEATURES = len(FEATURE_NAMES)
NEIGHBOUR_FEATURES = frozenset(FEATURE_NAMES[FEATURE_NAMES.index("neighbour_fit"):])
TOP_ORIGINALS = 5
STRONG_PRIOR = 0.25  # zipf_gain above this (1.5 zipf) counts toward the document's spin rate
TOP_NEIGHBOURS = 30  # by votes: the best-linked neighbours, enough for the rank of most originals
NEIGHBOUR_VOTE_LOG10 = 1.0  # per log10 of votes, as NEIGHBOUR_VOTE_WEIGHT x ln(votes) scaled to log10 fit
CLEARLY_BETTER = 0.2  # neighbour_fit (2 log10 units) above this counts toward doc_neighbour_rate


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
    """Computes the FEATURE_NAMES matrix for a document; caches per word type.

    ``names``: the features a model reads; the neighbour group is only computed when one of
    them is wanted (a model trained without it leaves its columns at zero and pays nothing).
    """

    def __init__(self, lexicon, names: Sequence[str] | None = None):
        self.lexicon = lexicon
        self.has_fit = callable(getattr(lexicon, "fit", None))
        self.has_neighbours = all(callable(getattr(lexicon, m, None)) for m in ("neighbours_for", "side_fits")) and (
            names is None or bool(NEIGHBOUR_FEATURES & set(names)))
        self._zipf = lru_cache(maxsize=200_000)(self._zipf_uncached)
        self._originals = lru_cache(maxsize=200_000)(self._originals_uncached)
        self._top_neighbours = lru_cache(maxsize=200_000)(self._top_neighbours_uncached)

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

    def _top_neighbours_uncached(self, word: str) -> tuple[tuple[tuple[str, ...], float], ...]:
        """The best-linked neighbours (as words) with their vote prior, for the fit features."""
        try:
            found = self.lexicon.neighbours_for(word)
        except Exception:
            return ()
        best = sorted(found.items(), key=lambda nv: (-nv[1], nv[0]))[:TOP_NEIGHBOURS]
        return tuple((tuple(p), NEIGHBOUR_VOTE_LOG10 * math.log10(v)) for n, v in best if (p := PIECES.split(n)) and all(p))

    def _neighbour_gains(self, left: str | None, word: str, right: str | None) -> tuple[float, float, float]:
        """Best (whole, left side, right side) log10 fit gain of a neighbour in ``word``'s place."""
        top = self._top_neighbours(word)
        if not top:
            return 0.0, 0.0, 0.0
        fits = self.lexicon.side_fits(left, [(word,)] + [pieces for pieces, _ in top], right)
        own_before, _, own_after = fits[0]
        whole = max(b + i + a + prior for (b, i, a), (_, prior) in zip(fits[1:], top)) - own_before - own_after
        side_left = max(b + i for b, i, _ in fits[1:]) - own_before if left else 0.0
        side_right = max(i + a for _, i, a in fits[1:]) - own_after if right else 0.0
        return whole, side_left, side_right

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
        text = doc.text.lower()
        absent = [bool(o) and not any(x in vocabulary for x in o if " " not in x) and not any(
            x in text for x in o if " " in x) for o in originals]

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

        neighbour, has_neighbours = [(0.0, 0.0, 0.0)] * len(words), [False] * len(words)
        if self.has_neighbours:
            from .lexicon import normalise

            plain = [normalise(w) for w in lower]
            neighbour = [tuple(max(min(g / 10.0, 1.0), -1.0) for g in self._neighbour_gains(
                plain[k - 1] if k > 0 else None, w, plain[k + 1] if k + 1 < len(plain) else None))
                for k, w in enumerate(plain)]
            has_neighbours = [bool(self._top_neighbours(w)) for w in plain]

        total = max(len(words), 1)
        doc_prior_rate = sum(g > STRONG_PRIOR for g in gains) / total
        doc_absent_rate = sum(absent) / total
        doc_neighbour_rate = sum(n[0] > CLEARLY_BETTER for n in neighbour) / total

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
                *neighbour[k],
                1.0 if has_neighbours[k] else 0.0,
                doc_neighbour_rate,
            ]
        return rows
