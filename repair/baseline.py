"""The lexicon baseline: a reverse thesaurus and bigram counts in both roles.

A word (or thesaurus phrase) is flagged when it is a known thesaurus substitute of a much
more frequent word that fits the neighbours better. As a noisy channel: either the word is
what the author wrote (probability from the bigram model), or the author wrote a more
frequent original ``h`` and a spinner swapped it (bigram probability of ``h`` in place,
times the spin prior, times how readily a thesaurus offers this word for ``h``). The flag's
score is the posterior of the second story; the repair is its most probable ``h``.

It is the yardstick the neural detector and rewriter must beat, tuned for precision on
clean prose (few false flags), never on evaluation data.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .edits import WORD, Alternative, Edit, Span, best_without_overlaps, match_case
from .lexicon import Candidate, Lexicon, normalise

# defaults, overridable from component.json "baseline"
SETTINGS = {
    "spin_prior": 0.02,  # prior odds that a substitute-able word was put there by a spinner
    "min_zipf_gap": 1.0,  # an original must be this much more frequent (zipf) than the word
    "max_word_zipf": 5.8,
    "max_original_zipf": 6.4,  # "or", "the", "for" are never the original of a single word  # words commoner than this (function words) are never flagged alone
    "max_phrase_zipf": 4.5,  # common idioms ("as long as") are what they seem
    "unseen_boost": 3.0,  # an unseen bigram of the written word counts as this x its unigram
    "min_word_length": 3,
    "max_phrase_words": 4,
    "candidates": 30,  # originals considered per word
    "n_best": 5,  # alternatives kept per edit
}
SENTENCE_END = re.compile(r"[.!?:;\"“”()\[\]]|\n\s*\n")
# words count as neighbours when only spacing (no blank line) or a hyphen lies between them
JOINER = re.compile(r"^(?:[ \t]+|[ \t]*\n[ \t]*|-)$")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    lower: str
    sentence_start: bool
    joined_to_previous: bool  # only a space or hyphen since the previous word


@dataclass(frozen=True)
class Judgement:
    """Why a stretch of text is (or is not) thought spun, and what it most likely was."""

    start: int
    end: int
    score: float
    candidates: tuple[Alternative, ...]


class LexiconBaseline:
    name = "lexicon"

    def __init__(self, lexicon: Lexicon, settings: dict | None = None):
        self.lexicon = lexicon
        self.settings = {**SETTINGS, **(settings or {})}

    @classmethod
    def from_pretrained(cls, folder, **options) -> "LexiconBaseline":
        folder = Path(folder)
        config = json.loads((folder / "component.json").read_text(encoding="utf-8"))
        return cls(Lexicon.load(folder), {**config.get("baseline", {}), **options})

    # -- detector role -----------------------------------------------------------------

    def detect(self, text: str, threshold: float = 0.5) -> list[Span]:
        return [
            Span(j.start, j.end, text[j.start:j.end], round(j.score, 4), source=self.name)
            for j in self.judge(text)
            if j.score >= threshold
        ]

    def judge(self, text: str) -> list[Judgement]:
        """Every stretch with a plausible original, scored; longest phrase first, no overlaps."""
        tokens = tokenize(text)
        judgements: list[Judgement] = []
        i = 0
        while i < len(tokens):
            best = None
            for n in range(min(self.settings["max_phrase_words"], len(tokens) - i), 0, -1):
                if n > 1 and not all(tokens[k].joined_to_previous for k in range(i + 1, i + n)):
                    continue
                judgement = self._judge_stretch(text, tokens, i, n)
                if judgement and (best is None or judgement.score > best[0].score):
                    best = (judgement, n)
            if best and best[0].score > 0:
                judgements.append(best[0])
                i += best[1]
            else:
                i += 1
        return judgements

    def judge_words(self, text: str, words: Sequence[tuple[int, int]]) -> list[Judgement]:
        """For each word (character range), the best-scored stretch of up to ``max_phrase_words``
        that covers it; non-overlapping, best first taken. Reads only around ``words``, so it
        costs little where a caller already knows which few words are in doubt."""
        tokens = tokenize(text)
        at = {t.start: k for k, t in enumerate(tokens)}
        found: dict[tuple[int, int], Judgement | None] = {}
        for start, _ in words:
            k = at.get(start)
            if k is None:
                continue
            for n in range(1, min(self.settings["max_phrase_words"], len(tokens)) + 1):
                for i in range(max(0, k - n + 1), min(k, len(tokens) - n) + 1):
                    if (i, n) in found or (n > 1 and not all(tokens[j].joined_to_previous for j in range(i + 1, i + n))):
                        continue
                    judgement = self._judge_stretch(text, tokens, i, n)
                    found[(i, n)] = judgement if judgement and judgement.score > 0 else None
        judged = sorted(filter(None, found.values()), key=lambda j: j.start)
        return best_without_overlaps(judged, lambda j: j.score)

    def _judge_stretch(self, text: str, tokens: list[Token], i: int, n: int) -> Judgement | None:
        first, last = tokens[i], tokens[i + n - 1]
        if not self._may_be_substitute(tokens[i:i + n]):
            return None
        term = normalise(text[first.start:last.end])
        candidates = self.lexicon.originals_for(term)[: self.settings["candidates"]]
        if not candidates:
            return None
        left, right = neighbours(tokens, i, n)
        scored = self._posterior(term, candidates, left, right)
        if not scored:
            return None
        odds = sum(o for o, _ in scored)
        alternatives = tuple(Alternative(c, round(o / odds, 4)) for o, c in scored[: self.settings["n_best"]])
        return Judgement(first.start, last.end, odds / (1.0 + odds), alternatives)

    def _may_be_substitute(self, words: Sequence[Token]) -> bool:
        if len(words) > 1:
            # a phrase whose every inner pair is common English ("thanks to", "care for") is
            # an idiom, not a spinner's word salad; the chain estimate of its zipf runs low,
            # hence both tests
            inner = [self.lexicon.bigram_count(a.lower, b.lower) for a, b in zip(words, words[1:])]
            phrase = " ".join(w.lower for w in words)
            return not all(inner) and self.lexicon.zipf(phrase) <= self.settings["max_phrase_zipf"]
        word = words[0]
        if len(word.text) < self.settings["min_word_length"] or any(c.isdigit() for c in word.text):
            return False
        if word.text[0].isupper() and not word.sentence_start:
            return False  # a name (or a title word) mid-sentence
        if len(word.text) > 1 and word.text.isupper():
            return False  # an acronym
        return self.lexicon.zipf(word.lower) <= self.settings["max_word_zipf"]

    def _posterior(
        self, term: str, candidates: Sequence[Candidate], left: str | None, right: str | None
    ) -> list[tuple[float, str]]:
        """Odds, for each candidate, that ``term`` replaced it; best first."""
        own_zipf = self.lexicon.zipf(term)
        own_fit = self.lexicon.fit(left, term, right, unseen=self.settings["unseen_boost"])
        scored = []
        for candidate in candidates:
            zipf = self.lexicon.zipf(candidate.text)
            if zipf < own_zipf + self.settings["min_zipf_gap"]:
                continue
            if zipf > self.settings["max_original_zipf"] and " " not in term:
                continue
            if not self.lexicon.neighbour_evidence(left, candidate.text, right):
                continue  # no bigram ties the original to this context: no evidence either way
            fit = self.lexicon.fit(left, candidate.text, right)
            odds = 10 ** min(fit - own_fit, 12) * self.settings["spin_prior"] * candidate.channel
            scored.append((odds, candidate.text))
        return sorted(scored, key=lambda x: (-x[0], x[1]))

    # -- rewriter role -----------------------------------------------------------------

    def rewrite(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        tokens = tokenize(text)
        edits = []
        for span in spans:
            inside = [k for k, t in enumerate(tokens) if t.start >= span.start and t.end <= span.end]
            if not inside:
                continue
            i, n = inside[0], len(inside)
            start, end = tokens[i].start, tokens[i + n - 1].end
            original = text[start:end]
            left, right = neighbours(tokens, i, n)
            ranked = self._rank_replacements(original, [tokens[k].lower for k in inside], left, right)
            if not ranked:
                continue
            replacement = match_case(original, ranked[0].text)
            alternatives = tuple(Alternative(match_case(original, a.text), a.score) for a in ranked)
            edits.append(Edit(start, end, original, replacement, span.score, alternatives, source=self.name))
        return edits

    def _rank_replacements(
        self, original: str, words: list[str], left: str | None, right: str | None
    ) -> list[Alternative]:
        """Candidates that fit the neighbours at least as well as the text does, best first."""
        term = normalise(original)
        own_fit = self.lexicon.fit(left, term, right)
        pool: dict[str, float] = {}
        whole = self.lexicon.originals_for(term)[: self.settings["candidates"]]
        for candidate in whole:
            pool[candidate.text] = self.lexicon.fit(left, candidate.text, right) + math.log10(candidate.channel or 1e-6)
        if len(words) > 1:
            for candidate in self.lexicon.span_candidates(words, left, right, n_best=self.settings["n_best"]):
                score = self.lexicon.fit(left, candidate.text, right) + math.log10(candidate.channel or 1e-6)
                pool[candidate.text] = max(pool.get(candidate.text, -math.inf), score)
        kept = [(s, t) for t, s in pool.items() if self.lexicon.fit(left, t, right) >= own_fit and t != term]
        kept.sort(key=lambda x: (-x[0], x[1]))
        kept = kept[: self.settings["n_best"]]
        if not kept:
            return []
        top = kept[0][0]
        total = sum(10 ** (s - top) for s, _ in kept)
        return [Alternative(t, round(10 ** (s - top) / total, 4)) for s, t in kept]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    previous_end = 0
    for match in WORD.finditer(text):
        gap = text[previous_end:match.start()]
        sentence_start = not tokens or bool(SENTENCE_END.search(gap))
        word = match.group()
        tokens.append(Token(match.start(), match.end(), word, word.lower().replace("’", "'"),
                            sentence_start, bool(tokens) and bool(JOINER.match(gap))))
        previous_end = match.end()
    return tokens


def neighbours(tokens: list[Token], i: int, n: int) -> tuple[str | None, str | None]:
    """The words either side of tokens[i:i+n] when nothing but spacing separates them."""
    left = tokens[i - 1].lower if i > 0 and tokens[i].joined_to_previous else None
    j = i + n
    right = tokens[j].lower if j < len(tokens) and tokens[j].joined_to_previous else None
    return left, right
