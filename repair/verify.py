"""Optional ``--verify lm``: a causal language model re-reads the words the tagger was unsure of.

The tagger flags a word only when it is confident, so a swap it never met in training (a
real spinner's, in prose unlike our corpus) mostly scores below the threshold. For those words a
generic LM is evidence that does not depend on which swaps the tagger saw: the sentence is read
with the word and with each of its likeliest thesaurus neighbours of any frequency
(``Lexicon.neighbours_in_context``), and when one of them makes the sentence far more probable
("profound learning" against "deep learning") the word is admitted as a span.
That is the masked-LM scoring of Martel et al. (2024), with SmolLM2-135M (``repair.rerank``'s
scorer) reading whole sentences instead of a masked slot.

Only words the tagger already scored at ``floor`` or more and that have thesaurus neighbours
are re-read, so clean text costs a few LM passes per sentence. Admitted spans go to the
rewriter like any other; their score is the tagger's own.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Sequence

from .edits import Span, best_without_overlaps, match_case, overlaps_any, partition_unsure
from .rewrite import sentence_bounds
from .terms import LM_SOURCE
from .terms import SOURCES as TERM_SOURCES

PLAIN_WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")
NON_SPACE = re.compile(r"\S+")  # a word with its punctuation, for counting context


@dataclass(frozen=True)
class VerifySettings:
    floor: float = 0.05  # tagger spin below which a word is never re-read
    min_gain: float = 10.0  # LM log-prob gain (nats) of the sentence with the best original (calibrated on dev-heldout)
    originals: int = 5  # thesaurus candidates tried per stretch, best first
    # where candidates come from: every thesaurus neighbour ranked in context, or only the
    # more frequent originals of the reverse thesaurus (stop 17)
    candidates: str = "neighbours"
    suggest_from: int = 30  # an admitted stretch's candidates the LM ranks to suggest a restoration
    suggestions: int = 3
    min_length: int = 3  # shorter words ("an", "of") are never re-read
    # words of the sentence read either side: the gain is a difference between variants, so
    # far context mostly cancels out, and long sentences cost the LM most
    context_words: int = 10
    # a pair must read better than its better word alone by this much (nats), or a clean word
    # beside a spun one would be changed along with it
    pair_margin: float = 2.0
    # a word below ``floor`` may still be read beside a neighbour at ``floor`` or more, as a pair: in
    # a term swapped word by word the tagger often doubts only one word (None: ``floor`` for both).
    # Such a pair must gain ``pair_floor_gain`` nats. Off: at 0 / 12 the calibration documents
    # showed no clean damage, but whole held-out pairs lost precision (detector card, stop 22)
    pair_floor: float | None = None
    pair_floor_gain: float = 12.0
    # term images the tagger floors left out (``repair.terms``, under ``TermSettings.loose``: any strength, rarer
    # images, both words) are read too, each with its image in place, and admitted at this gain (None: not read).
    # The tables only propose ("profound learning" -> "deep learning", but also "huge quantities" -> "large
    # quantities"); the LM in context tells a mangled term from a plain word that has a commoner synonym
    term_gain: float | None = None
    # ... in texts of at most this many words (None: any): in a document the tagger has read the whole text, and an
    # image beside a swap it missed is seldom the original (the term vet's lesson, detector card stop 55)
    term_max_words: int | None = 80
    # whether the words the tagger was unsure of are read (False: only the term images, ``--verify terms``: a few
    # LM passes per short text instead of several per unsure word)
    read_unsure: bool = True

    @property
    def pair_floor_on(self) -> bool:
        return self.pair_floor is not None and self.pair_floor < self.floor

    @property
    def signature(self) -> str:
        """What the signature says after the LM's name: ``>=GAIN@FLOOR`` for unsure words, ``/terms>=GAIN`` for images."""
        own = ""
        if self.read_unsure:
            own = f">={self.min_gain:g}@{self.floor:g}"
            if self.pair_floor_on:
                own += f"/{self.pair_floor:g}>={self.pair_floor_gain:g}"
            if self.candidates != "neighbours":
                own += f"~{self.candidates}"
        if self.term_gain is not None:
            short = "" if self.term_max_words is None else f"~<={self.term_max_words}w"
            own += f"/terms>={self.term_gain:g}{short}"
        return own


# --verify NAME -> what the LM reads: "lm" every word the tagger was unsure of (and the term images), "terms" only
# the term images the tagger floors left out (fast enough for short texts at any scale)
VERIFY_MODES = {
    "lm": VerifySettings(),
    "terms": VerifySettings(read_unsure=False, term_gain=15.0),
}


@dataclass(frozen=True)
class Reading:
    """What the LM said about one re-read word."""

    start: int
    end: int
    gain: float  # log P(sentence with best original) - log P(sentence as written)
    ranked: tuple[str, ...]  # the candidates tried, the sentence's most probable first


class LMVerifiedDetector:
    """A tagger detector whose unsure words a causal LM may admit (the Detector protocol)."""

    def __init__(self, detector, scorer, settings: VerifySettings | None = None):
        if not callable(getattr(detector, "word_scores_many", None)):
            raise TypeError("--verify needs the tagger detector (per-word scores)")
        self.detector = detector
        self.scorer = scorer
        self.settings = settings or VerifySettings()
        self.name = detector.name
        self.lexicon = detector.features.lexicon
        terms = getattr(detector, "terms", None)
        self.term_images = None
        if terms is not None:  # read only while ``term_gain`` is set
            from .terms import TermImages

            self.term_images = TermImages(terms.lexicon, terms.settings.loose())

    @property
    def signature_settings(self) -> dict[str, str]:
        own = dict(getattr(self.detector, "signature_settings", {}))
        own["verify"] = f"{self.scorer.name}{self.settings.signature}"
        return own

    def detect(self, text: str, threshold: float) -> list[Span]:
        scores = self.detector.word_scores_many([text])[0]
        # the LM reads around what the tagger flagged; the detector's unsure spans stay only where it admits nothing
        spans, unsure = partition_unsure(self.detector.spans(text, scores, threshold))
        # the LM judges every term image, the floors' too: one it admits is restored with the LM's help
        judged = self.term_spans(text, scores, [s for s in spans if s.source not in TERM_SOURCES] + unsure)
        spans = sorted([s for s in spans if not overlaps_any(s, judged)] + judged, key=lambda s: s.start)
        if not self.settings.read_unsure:
            return sorted(spans + unsure, key=lambda s: s.start)
        stretches = self.unsure_stretches(text, scores, spans)
        readings = _pairs_that_need_both(self.read(text, stretches, self.settings.originals), self.settings.pair_margin)
        admitted = _without_overlaps([r for r in readings if r.gain >= self.min_gain_for(r, scores)])
        # what is admitted is read again against more candidates, to suggest what stood there
        wanted = {(r.start, r.end) for r in admitted}
        again = [st for st in stretches if (st[0].start, st[-1].end) in wanted]
        suggestions = self.read(text, again, self.settings.suggest_from)
        joined = _joined(text, _without_overlaps(suggestions), scores, self.settings.suggestions)
        return sorted(spans + joined + [s for s in unsure if not overlaps_any(s, joined)], key=lambda s: s.start)

    def term_spans(self, text: str, scores: Sequence, taken: Sequence[Span]) -> list[Span]:
        """A span for each term image outside ``taken`` that the LM reads ``term_gain`` better with the image in place,
        in text order as ``TermImages.extend`` takes them; the image is its suggestion and its score the tagger's."""
        settings = self.settings
        if settings.term_gain is None or (settings.term_max_words is not None and len(scores) > settings.term_max_words):
            return []
        admitted: list[Span] = []
        for image, gain in self.term_gains(text, taken):
            if gain < settings.term_gain or overlaps_any(image, admitted):
                continue
            spins = [w.spin for w in scores if image.start <= w.start < image.end]
            admitted.append(Span(image.start, image.end, text[image.start:image.end], round(max(spins, default=0.0), 4),
                                 LM_SOURCE, (image.image,)))
        return admitted

    def term_gains(self, text: str, taken: Sequence[Span] = ()) -> list[tuple]:
        """(TermImage, LM gain) for each term image outside ``taken``: log P of its sentence (``context_words`` either
        side) with the image in place, less as written."""
        if self.term_images is None:
            return []
        found = [image for image in self.term_images.images(text) if not overlaps_any(image, taken)]
        if not found:
            return []
        bounds = sentence_bounds(text) or [(0, len(text))]
        variants = []
        for image in found:
            lo, hi = _window(text, bounds, image.start, image.end, self.settings.context_words)
            variants += [text[lo:hi], text[lo:image.start] + _in_place(text[image.start:image.end], image.image)
                         + text[image.end:hi]]
        logprobs = self.scorer.logprobs(variants)
        return [(image, logprobs[2 * k + 1] - logprobs[2 * k]) for k, image in enumerate(found)]

    def min_gain_for(self, reading: Reading, scores: Sequence) -> float:
        """The gain ``reading`` needs: more where it holds a word read only for the pair floor."""
        return self.settings.pair_floor_gain if self.read_for_pair_floor(reading, scores) else self.settings.min_gain

    def read_for_pair_floor(self, reading: Reading, scores: Sequence) -> bool:
        """Whether ``reading`` holds a word below the floor (read only as a pair, for the pair floor)."""
        return self.settings.pair_floor_on and any(
            w.spin < self.settings.floor for w in scores if reading.start <= w.start and w.end <= reading.end)

    def unsure_stretches(self, text: str, scores: Sequence, spans: Sequence[Span]) -> list[list]:
        """Stretches worth re-reading (lists of WordScores outside ``spans``): a word alone, and
        two neighbours together: a spinner often swaps both words of a collocation
        ("counterfeit consciousness"), and neither reads better fixed alone."""
        floor = self.settings.floor
        pair_floor = self.settings.pair_floor if self.settings.pair_floor_on else floor
        words = [w for w in scores if not overlaps_any(w, spans) and self._readable(text, w, pair_floor)
                 and self._options(text, [w], 1)]
        return [[w] for w in words if w.spin >= floor] + [
            [a, b] for a, b in zip(words, words[1:])
            if not text[a.end:b.start].strip(" ") and max(a.spin, b.spin) >= floor]

    def _readable(self, text: str, word, floor: float) -> bool:
        written = text[word.start:word.end]
        return (word.spin >= floor and len(written) >= self.settings.min_length
                and PLAIN_WORD.fullmatch(written) is not None)

    def _options(self, text: str, stretch: Sequence, limit: int) -> list[tuple[str, ...]]:
        """What each word of ``stretch`` may have stood for, best first (one word per stretch word)."""
        written = [text[w.start:w.end] for w in stretch]
        return CANDIDATE_SOURCES[self.settings.candidates](self.lexicon, written, _word_before(text, stretch[0].start),
                                                           _word_after(text, stretch[-1].end), limit)

    def read(self, text: str, stretches: Sequence[Sequence], per_stretch: int) -> list[Reading]:
        """LM gain of each stretch (one word, or adjacent words swapped together) with its
        ``per_stretch`` best candidates in place."""
        bounds = sentence_bounds(text) or [(0, len(text))]
        plans, variants = [], []
        for stretch in stretches:
            a, b = stretch[0].start, stretch[-1].end
            lo, hi = _window(text, bounds, a, b, self.settings.context_words)
            gaps = [text[x.end:y.start] for x, y in zip(stretch, stretch[1:])] + [""]
            texts = ["".join(match_case(text[w.start:w.end], c) + g for w, c, g in zip(stretch, combo, gaps))
                     for combo in self._options(text, stretch, per_stretch)]
            if not texts:
                continue
            plans.append((a, b, texts, len(variants)))
            variants.append(text[lo:hi])
            variants += [text[lo:a] + t + text[b:hi] for t in texts]
        if not plans:
            return []
        logprobs = self.scorer.logprobs(variants)
        readings = []
        for a, b, texts, first in plans:
            gains = [lp - logprobs[first] for lp in logprobs[first + 1:first + 1 + len(texts)]]
            order = sorted(range(len(gains)), key=lambda i: -gains[i])
            readings.append(Reading(a, b, gains[order[0]], tuple(texts[i] for i in order)))
        return readings


def _neighbour_candidates(lexicon, words, left, right, limit):
    return lexicon.neighbours_in_context(words, left, right, limit)


def _original_candidates(lexicon, words, left, right, limit):
    """The reverse thesaurus's more frequent originals, ``limit`` ** (1 / words) per word."""
    width = limit if len(words) == 1 else max(2, int(limit ** 0.5))
    lists = [[c.text for c in lexicon.originals_for(w)][:width] for w in words]
    return list(itertools.product(*lists))[:limit] if all(lists) else []


CANDIDATE_SOURCES = {"neighbours": _neighbour_candidates, "originals": _original_candidates}


def _word_before(text: str, at: int) -> str | None:
    found = PLAIN_WORD.findall(text[max(0, at - 40):at])
    return found[-1] if found else None


def _word_after(text: str, at: int) -> str | None:
    found = PLAIN_WORD.findall(text[at:at + 40])
    return found[0] if found else None


def _window(text: str, bounds: Sequence[tuple[int, int]], a: int, b: int, words: int) -> tuple[int, int]:
    """What the LM reads for ``text[a:b]``: its sentence (of ``bounds``), ``words`` words either side at most."""
    lo, hi = next(((s, e) for s, e in bounds if s <= a < e), (0, len(text)))
    return _around(text, lo, hi, a, b, words)


def _in_place(written: str, image: str) -> str:
    """``image`` spelled as ``written`` is (its case, word by word where both are two words)."""
    if " " in image and len(written.split()) == len(image.split()):
        return " ".join(match_case(w, i) for w, i in zip(written.split(), image.split()))
    return match_case(written, image)


def _around(text: str, lo: int, hi: int, a: int, b: int, words: int) -> tuple[int, int]:
    """The part of ``text[lo:hi]`` from ``words`` words before ``a`` to ``words`` words after ``b``."""
    before = [m.start() for m in NON_SPACE.finditer(text, lo, a)]
    after = [m.end() for m in NON_SPACE.finditer(text, b, hi)]
    return (before[-words] if len(before) >= words else lo), (after[words - 1] if len(after) >= words else hi)


def _pairs_that_need_both(readings: Sequence[Reading], margin: float) -> list[Reading]:
    """Single-word readings, and the pair readings that gain ``margin`` more than either word alone."""
    alone = {(r.start, r.end): r.gain for r in readings}
    kept = []
    for reading in readings:
        inside = [gain for (a, b), gain in alone.items()
                  if reading.start <= a and b <= reading.end and (a, b) != (reading.start, reading.end)]
        if not inside or reading.gain >= max(inside) + margin:
            kept.append(reading)
    return kept


def _without_overlaps(readings: Sequence[Reading]) -> list[Reading]:
    """The best-gaining readings that do not overlap (a pair against its own words)."""
    return best_without_overlaps(readings, lambda r: r.gain)


def _joined(text: str, readings: Sequence[Reading], scores: Sequence, count: int) -> list[Span]:
    """Admitted words as spans; neighbours with only spaces between become one span, so a
    word-by-word swap ("counterfeit consciousness") is restored as one phrase."""
    groups: list[list[Reading]] = []
    for reading in sorted(readings, key=lambda r: r.start):
        if groups and not text[groups[-1][-1].end:reading.start].strip(" "):
            groups[-1].append(reading)
        else:
            groups.append([reading])
    spans = []
    for group in groups:
        a, b = group[0].start, group[-1].end
        spins = [w.spin for w in scores if a <= w.start and w.end <= b]
        score = sum(spins) / max(len(spins), 1)
        spans.append(Span(a, b, text[a:b], round(score, 4), "lm-verify", _suggestions(text, group, count)))
    return spans


def _suggestions(text: str, group: Sequence[Reading], count: int) -> tuple[str, ...]:
    """Each stretch's LM-best candidates in place; in a joined span, every stretch at its best first."""
    gaps = [text[a.end:b.start] for a, b in zip(group, group[1:])] + [""]
    written = [text[r.start:r.end] for r in group]

    def spelled(choice):
        return "".join(c + g for c, g in zip(choice, gaps))

    found = [spelled([r.ranked[0] for r in group])]
    for k, reading in enumerate(group):
        for option in reading.ranked[:count]:
            found.append(spelled([option if j == k else written[j] for j in range(len(group))]))
    unchanged = spelled(written).lower()
    return tuple(dict.fromkeys(f for f in found if f.lower() != unchanged))[:count]
