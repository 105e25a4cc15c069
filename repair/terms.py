"""Term images: a word whose thesaurus neighbour makes a well-known term with the word beside it.

Paper mills spin technical terms word by word ("machine learning" -> "contraption learning"): the
written pair is one nobody writes, while one thesaurus neighbour of one of its words turns it back
into a pair that the Google bigrams or the causal LM's collocations know well. The tagger rarely
flags such words (it learnt which words our training spinners pick), but the image itself is both
the evidence and the likely original, so a span found here carries it as its suggestion.

Precision comes from the settings (calibrated on dev and dev-heldout by
``scripts/calibrate_terms.py``): the image must be a strong pair (``min_strength``, log10 P(w2 | w1)),
the written pair must be unknown to both tables (and, with ``thesaurus_terms``, not a two-word term
of WordNet, which then also count as known pairs), the neighbour must be linked by ``min_votes``
thesaurus statements and be at least ``min_zipf_gain`` more frequent than the written word (a
spinner trades the plain word of a term for a rarer synonym), and the tagger must not call the word
clean (``min_spin``). Only one word of a pair is replaced: images that replace both words find
more real terms but also turn ordinary pairs into terms ("true reform" -> "standard deviation").
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from .edits import Span, overlaps_any
from .vet import Vetting
from .lexicon import normalise
from .spinner import FUNCTION_WORDS

WORD = re.compile(r"[A-Za-z]+")
# a word and its image that share this many first letters are one word's variants ("classical"/"classic")
SAME_STEM = 5
SOURCE = "term"  # Span.source of what this stage finds
# Span.source of an image a term vet adds to the floors' (``TermSettings.vet_adds``): the rewriter may hold such spans to
# a bar of their own (``DecideConfig.vet_term_source``) and leave the floors' to its general vetting model
ADDED_SOURCE = "term-vet"
# Span.source of an image the causal LM admitted (``repair.verify``, ``--verify terms``)
LM_SOURCE = "term-lm"
SOURCES = (SOURCE, ADDED_SOURCE, LM_SOURCE)
OPENERS = " \t\"“("
ZIPF_PER_BILLION = 9  # zipf - 9 = log10 of a word's probability
# how a corpus pair's two conditional probabilities make one strength (TermSettings.corpus_pairs)
CORPUS_STRENGTH = {"forward": lambda both: both[0], "either": max}
# the sources that can make an image strong enough, the most trusted first (TermImage.vouched_by)
VOUCHERS = ("tables", "corpus", "paper", "thesaurus")
# the generation settings under which a judge of all the evidence (a term vet, the LM of ``--verify``) looks for
# images: weaker pairs, images rarer than the written word, both words replaced, no association test, texts that read
# clean as a whole too; the floors' job is left to the judge
LOOSE_GENERATION = {"min_strength": -2.5, "min_zipf_gain": -3.0, "min_association": None, "both_min_strength": -2.0,
                    "quiet_words": None}
# the evidence a term vet (``TermSettings.vet``) weighs for each image, in ``TermImages.features`` order
TERM_FEATURES = (
    "strength", "association", "votes", "zipf_gain", "zipf", "spin_logit", "other_spin_logit", "mean_spin",
    "log_words", "both", "compound", *(f"vouch_{source}" for source in VOUCHERS), "spin_logit_if_both",
    "strength_if_both",
)


@dataclass(frozen=True)
class TermSettings:
    min_strength: float = -1.0   # log10 P(w2 | w1) of the image pair, from either table
    min_votes: int = 1           # thesaurus statements linking the written word and its image word
    min_zipf_gain: float = 0.0   # how much more frequent (zipf) the image word must be
    min_spin: float = 0.0        # the tagger's spin the written word needs
    # images that replace both words of the pair (None: never), and the strength they need
    both_min_strength: float | None = None
    # only pairs that read as a noun compound (a noun last; a noun, adjective or participle first):
    # the terms paper mills mangle are such compounds, while "greatly stimulated" or "lightly taxed"
    # are ordinary prose whose neighbours make common phrases ("greatly increased")
    compounds_only: bool = False
    # the strength a two-word term of the thesaurus counts as where neither table holds it (None: the
    # thesaurus's terms are not read): WordNet's compounds ("amino acid") are established terms that
    # the 2006 web bigrams and the LM's context-free collocations often lack
    thesaurus_terms: float | None = None
    # the tagger's spin a word needs where only the thesaurus knows its image as a term (None: min_spin):
    # WordNet also lists many plain compounds ("final cause", "main course") that ordinary prose is one
    # synonym away from
    thesaurus_min_spin: float | None = None
    # pairs our own train documents use (the lexicon's corpus_pairs) also count as known, at log10 P(w2 | w1)
    # ("forward", as the other tables) or at the higher of both directions ("either": "endings" in the
    # manuals nearly always follows "line", while "line" is followed by many words); None: not read
    corpus_pairs: str | None = None
    # the tagger's spin a word needs where only the corpus pairs make its image strong enough (None: min_spin)
    corpus_min_spin: float | None = None
    # pairs the causal LM expects when it reads them as a paper's sentence goes on (the lexicon's
    # paper_collocations) also count as known: the context-free LM and the 2006 web miss many of the
    # terms papers use ("gradient" -> "descent" -2.0 context-free, -0.5 after "In this paper, we study")
    paper_pairs: bool = False
    # the tagger's spin a word needs where only those pairs make its image strong enough (None: min_spin)
    paper_min_spin: float | None = None
    # how much more often the image pair occurs than its words would by chance (log10 P(w2 | w1) - log10 P(w2),
    # P(w2) from the word's zipf); None: not asked. A strong pair made of a very common word ("long time",
    # "came back") is ordinary prose, not the term a spinner mangled ("long interval" is no spun "long time")
    min_association: float | None = None
    # a text of at least quiet_words words whose mean tagger spin is under quiet_spin reads as clean as a whole
    # (a spinner swaps words throughout a document, and the tagger's spins rise with them); no image is admitted
    # there, since it would rest on one pair nobody knows. None: every text alike. Short texts are never judged
    # so: one sentence says too little about the document it came from
    quiet_words: int | None = None
    quiet_spin: float = 0.0
    # a logistic model over each image's evidence (``TERM_FEATURES``; ``repair.vet.Vetting``'s config, fitted by
    # ``scripts/fit_term_vet.py``) that admits an image at its threshold, instead of the tagger floors: the
    # floors judge one figure at a time, while a rare image pair can be trusted where the tagger half agrees and
    # the thesaurus link is strong. None: the floors decide
    vet: dict | None = None
    # with a vet: an image the floors (and the generation settings ``floor_settings`` name) admit is kept as well,
    # so the vet only adds; in documents the floors find swaps of originals the tagger never met, which a vet fitted
    # mostly on lone terms gives up
    vet_adds: bool = False
    floor_settings: dict | None = None
    # the vet judges only texts of at most this many words (None: any): in whole documents the images it adds are
    # mostly wrong (the tagger has already read the document, and a term image beside a swap it missed is seldom the
    # original), while in sentences and short paragraphs, where lone terms are, they are mostly right (detector card,
    # stop 55); a longer text gets the floors' images alone (with ``vet_adds``) or none
    vet_max_words: int | None = None

    @classmethod
    def from_config(cls, config: dict | None) -> "TermSettings | None":
        return cls(**config) if config else None

    def loose(self) -> "TermSettings":
        """These settings' sources under ``LOOSE_GENERATION``, with no vet and no floors of their own."""
        return replace(self, **LOOSE_GENERATION, vet=None, vet_adds=False, floor_settings=None)

    @property
    def signature(self) -> str:
        both = "" if self.both_min_strength is None else f"/both>={self.both_min_strength:g}"
        compounds = "/nc" if self.compounds_only else ""
        thesaurus = "" if self.thesaurus_terms is None else _with_floor(f"/th{self.thesaurus_terms:g}", self.thesaurus_min_spin)
        corpus = "" if self.corpus_pairs is None else _with_floor(f"/corpus-{self.corpus_pairs}", self.corpus_min_spin)
        paper = _with_floor("/paper", self.paper_min_spin) if self.paper_pairs else ""
        association = "" if self.min_association is None else f"/pmi{self.min_association:g}"
        quiet = "" if self.quiet_words is None else f"/quiet<{self.quiet_spin:g}~{self.quiet_words}w"
        generation = (f">={self.min_strength:g}/v{self.min_votes}/z{self.min_zipf_gain:g}{both}{compounds}{thesaurus}"
                      f"{corpus}{paper}{association}")
        if self.vet:
            adds = f"/vet+{TermSettings(**self.floor_settings).signature}" if self.vet_adds and self.floor_settings else ""
            short = "" if self.vet_max_words is None else f"~<={self.vet_max_words}w"
            return f"{generation}/vet>={self.vet['threshold']:g}{short}{adds}"
        return f"{generation}{quiet}@{self.min_spin:g}"


def _with_floor(source: str, floor: float | None) -> str:
    """A source's part of the signature, with the tagger floor of its own where it has one."""
    return source if floor is None else f"{source}:{floor:g}"


@dataclass(frozen=True)
class TermImage:
    """``text[start:end]`` (one word, or both words of the pair) written where ``image`` makes a
    known term (with the word beside it, or on its own)."""

    start: int
    end: int
    image: str
    strength: float  # log10 P(w2 | w1) of the image pair
    # what makes the image a strong enough pair: "tables" (the Google bigrams or the LM's collocations),
    # else "corpus" (our own documents), "paper" (the LM in a paper's register) or "thesaurus" (its two-word terms),
    # each with its own tagger floor
    vouched_by: str = "tables"
    # the pair as written and as its image reads, normalised (both words: a one-word image keeps its partner)
    written_pair: tuple[str, str] = ("", "")
    image_pair: tuple[str, str] = ("", "")


class TermImages:
    """Finds term images in a text; ``extend`` adds them to a detector's spans."""

    def __init__(self, lexicon, settings: TermSettings):
        self.lexicon = lexicon
        self.settings = settings
        self._neighbours: dict[str, dict[str, int]] = {}  # word -> the neighbours these settings let be images
        own = {"thesaurus": settings.thesaurus_min_spin, "corpus": settings.corpus_min_spin,
               "paper": settings.paper_min_spin}
        self._floors = {source: settings.min_spin if own.get(source) is None else own[source] for source in VOUCHERS}
        self.vet = Vetting.from_config(settings.vet, TERM_FEATURES, "term_images.vet")
        # the stage as the floors alone would run it, whose images a vet that only adds keeps too
        floors = settings.floor_settings if settings.vet_adds else None
        self.floors = TermImages(lexicon, TermSettings(**floors)) if floors else None

    def images(self, text: str) -> list[TermImage]:
        """The best image of each adjacent pair of content words that nobody knows (``pair_strength``)."""
        found = []
        for (a, a_word), (b, b_word) in adjacent_pairs(text):
            if self.pair_strength(a_word, b_word) is not None:
                continue
            if self.settings.compounds_only and not reads_as_compound(a_word, b_word):
                continue
            best = None
            for which, (word, other) in enumerate(((a_word, b_word), (b_word, a_word))):
                start, end = (a, b)[which]
                for image, strength, vouched_by in self._images_of(word, other, image_first=which == 0):
                    if best is None or strength > best.strength:
                        pair = (image, b_word) if which == 0 else (a_word, image)
                        best = TermImage(start, end, image, strength, vouched_by, (a_word, b_word), pair)
            if best is None and self.settings.both_min_strength is not None:
                for image, strength in self._images_of_both(a_word, b_word):
                    if best is None or strength > best.strength:
                        best = TermImage(a[0], b[1], image, strength, written_pair=(a_word, b_word),
                                         image_pair=tuple(image.split()))
            if best is not None:
                found.append(best)
        return found

    def pair_strength(self, w1: str, w2: str) -> float | None:
        """The strongest figure any source the settings read gives the pair (``_strengths``: the tables'
        log10 P(w2 | w1), our documents' counts, the thesaurus term's strength); None for a pair nobody knows."""
        strengths = self._strengths(w1, w2)
        return max(strengths.values()) if strengths else None

    def _strengths(self, w1: str, w2: str) -> dict[str, float]:
        """What each source the settings read says of the pair's strength, for the sources that know it."""
        found = {}
        known = self.lexicon.known_pair_logp(w1, w2)
        if known is not None:
            found["tables"] = known
        if self.settings.corpus_pairs is not None:
            counted = self.lexicon.corpus_pair_logp(w1, w2)
            if counted is not None:
                found["corpus"] = CORPUS_STRENGTH[self.settings.corpus_pairs](counted)
        if self.settings.paper_pairs:
            expected = self.lexicon.paper_pair_logp(w1, w2)
            if expected is not None:
                found["paper"] = expected
        if self.settings.thesaurus_terms is not None and self.lexicon.is_thesaurus_term(w1, w2):
            found["thesaurus"] = self.settings.thesaurus_terms
        return found

    def _images_of(self, word: str, other: str, image_first: bool) -> Iterator[tuple[str, float, str]]:
        """(image, strength, the first source in VOUCHERS that alone makes it strong enough)."""
        for image in self._usable_neighbours(word):
            first, second = (image, other) if image_first else (other, image)
            strengths = self._strengths(first, second)
            strength = max(strengths.values(), default=None)
            if strength is None or not self._associated(second, strength):
                continue
            for source in VOUCHERS:
                if strengths.get(source, -math.inf) >= self.settings.min_strength:
                    yield image, strength, source
                    break

    def _vets(self, scores: Sequence) -> bool:
        """Whether the vet judges a text of these word ``scores`` (``vet_max_words``)."""
        return self.settings.vet_max_words is None or len(scores) <= self.settings.vet_max_words

    def quiet(self, scores: Sequence) -> bool:
        """Whether the tagger's word ``scores`` say that the whole text is clean (``quiet_words``, ``quiet_spin``)."""
        if self.settings.quiet_words is None or len(scores) < max(self.settings.quiet_words, 1):
            return False
        return sum(w.spin for w in scores) / len(scores) < self.settings.quiet_spin

    def _associated(self, second: str, strength: float) -> bool:
        """Whether a pair of ``strength`` (log10 P(second | first)) ending in ``second`` is associated enough."""
        if self.settings.min_association is None:
            return True
        return strength - (self.lexicon.zipf(second) - ZIPF_PER_BILLION) >= self.settings.min_association

    def _usable_neighbours(self, word: str) -> dict[str, int]:
        if word not in self._neighbours:
            self._neighbours[word] = self._find_usable_neighbours(word)
        return self._neighbours[word]

    def _find_usable_neighbours(self, word: str) -> dict[str, int]:
        own_zipf = self.lexicon.zipf(word)
        return {image: votes for image, votes in self.lexicon.neighbours_for(word).items()
                if votes >= self.settings.min_votes and " " not in image and image not in FUNCTION_WORDS
                and image[:SAME_STEM] != word[:SAME_STEM]
                and self.lexicon.zipf(image) >= own_zipf + self.settings.min_zipf_gain}

    def _images_of_both(self, first: str, second: str) -> Iterator[tuple[str, float]]:
        seconds = self._usable_neighbours(second)
        for image in self._usable_neighbours(first):
            for image_second in self.lexicon.known_pairs_from(image):
                if image_second in seconds:
                    strength = self.pair_strength(image, image_second)
                    if strength >= self.settings.both_min_strength:
                        yield f"{image} {image_second}", strength

    def extend(self, text: str, spans: Sequence[Span], scores: Sequence = ()) -> list[Span]:
        """``spans`` and a span for each term image that overlaps none of them, in text order;
        with word ``scores`` (the tagger's), a word needs the floor of what vouches for its image (``min_spin``
        for the tables, ``corpus_min_spin`` or ``thesaurus_min_spin`` where only those do, if set)."""
        if self.floors is not None:
            spans = self.floors.extend(text, spans, scores)
        added = []
        if self.quiet(scores) or (self.vet is not None and not self._vets(scores)):
            return list(spans)
        for found in self.images(text):
            inside = [w.spin for w in scores if found.start <= w.start < found.end]
            word_spin = max(inside) if inside else (0.0 if scores else 1.0)
            if overlaps_any(found, spans) or overlaps_any(found, added):
                continue
            if self.vet is not None:
                if self.vet.probability(self.features(text, found, scores)) < self.vet.threshold:
                    continue
            elif word_spin < self._floors[found.vouched_by]:
                continue
            # the span keeps the tagger's own spin as its score, as the vouch's do: the stage adds evidence
            # for what the word was, not confidence that the tagger lacked
            added.append(Span(found.start, found.end, text[found.start:found.end], round(word_spin, 4),
                              ADDED_SOURCE if self.floors is not None else SOURCE, (found.image,)))
        return sorted([*spans, *added], key=lambda s: s.start)

    def features(self, text: str, found: TermImage, scores: Sequence) -> list[float]:
        """The evidence for ``found`` in ``TERM_FEATURES`` order: how strong and how associated its image pair is, how
        closely the thesaurus links the written word to its image and how much more common the image is, the tagger's
        spin on the written word and on its partner in the pair, how spun the whole text reads and how long it is."""
        both = float(" " in found.image)
        # the written word and its image: the first of the pair where both were replaced
        which = 0 if both or found.written_pair[0] != found.image_pair[0] else 1
        word, image = found.written_pair[which], found.image_pair[which]
        inside = [w.spin for w in scores if found.start <= w.start < found.end]
        spin_logit = _logit(max(inside) if inside else (0.0 if scores else 1.0))
        mean_spin = sum(w.spin for w in scores) / len(scores) if scores else 0.0
        lexicon = self.lexicon
        return [
            found.strength, found.strength - (lexicon.zipf(found.image_pair[1]) - ZIPF_PER_BILLION),
            math.log1p(lexicon.neighbours_for(word).get(image, 0)), lexicon.zipf(image) - lexicon.zipf(word),
            lexicon.zipf(word), spin_logit, _logit(_partner_spin(scores, found)), mean_spin, math.log1p(len(scores)),
            both, float(reads_as_compound(*found.written_pair)), *(float(found.vouched_by == s) for s in VOUCHERS),
            spin_logit * both, found.strength * both,
        ]


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _partner_spin(scores: Sequence, found: TermImage) -> float:
    """The tagger's spin on the word beside the image's span (the higher of both sides): a term swapped word by word
    raises both."""
    near = [w.spin for w in scores if 0 < found.start - w.end <= 2 or 0 < w.start - found.end <= 2]
    return max(near, default=0.0)


@functools.lru_cache(maxsize=100_000)
def reads_as_compound(first: str, second: str) -> bool:
    """Whether ``first second`` can be a noun compound by the parts of speech lemminflect knows for
    each word: a noun last, and a noun, an adjective or an -ing/-ed participle first. A word it does
    not know ("tanh") may be anything, as technical names often are."""
    from lemminflect import getAllLemmas

    before, after = getAllLemmas(first), getAllLemmas(second)
    return (not after or "NOUN" in after) and (
        not before or "NOUN" in before or "ADJ" in before or ("VERB" in before and first.endswith(("ing", "ed"))))


def adjacent_pairs(text: str) -> Iterator[tuple[tuple[tuple[int, int], str], tuple[tuple[int, int], str]]]:
    """Pairs of content words joined by one space, each as ((start, end), normalised word).
    Names (capitalised inside a sentence) and words joined to others by hyphens or apostrophes
    are skipped: neither table knows them as terms."""
    previous = None
    for match in WORD.finditer(text):
        start, end = match.span()
        word = match.group(0)
        glued = (start and text[start - 1] in "-'’") or (end < len(text) and text[end] in "-'’")
        usable = (not glued and word.lower() not in FUNCTION_WORDS and len(word) > 2
                  and (word.islower() or (word[1:].islower() and _starts_sentence(text, start))))
        current = ((start, end), normalise(word)) if usable else None
        if previous is not None and current is not None and text[previous[0][1]:start] == " ":
            yield previous, current
        previous = current


def _starts_sentence(text: str, start: int) -> bool:
    at = start - 1
    while at >= 0 and text[at] in OPENERS:
        at -= 1
    return at < 0 or text[at] in ".!?\n"
