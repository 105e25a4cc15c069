"""The shared reverse thesaurus: which more frequent words a word may have replaced.

``Lexicon.load(folder)`` reads the tables ``scripts/build_lexicon.py`` compiles into
``models/lexicon/``; each table is parsed on first use and the object is cached per folder.

Three things live here, shared by the baseline, the detector (features) and the rewriter
(candidates):

* ``originals_for(term)``: reverse-thesaurus candidates, inflected like ``term``;
* ``zipf(term)``: word (or phrase) frequency on the Zipf scale;
* a bigram language model over Google web counts, ``bigram_logp`` / ``fit``, that says how
  well a word or phrase sits between its neighbours.
"""
from __future__ import annotations

import functools
import gzip
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

UNKNOWN_ZIPF = 1.0  # a word missing from the table: rarer than anything in it
BACKOFF = 0.4  # stupid-backoff factor for an unseen bigram
# ln(votes) against log10 bigram fit when ranking thesaurus neighbours; chosen on dev-heldout (2, 3, 4 tried)
NEIGHBOUR_VOTE_WEIGHT = 3.0
PIECES = re.compile(r"[ -]")  # a phrase's words, for the language model
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Candidate:
    """A word or phrase the looked-up term may have replaced.

    ``weight``: P(original | term) among this term's candidates (they sum to 1), from the
    original's frequency times ``channel``. ``channel``: how readily a thesaurus spinner
    rewriting the original picks the term (see ``channel_score``).
    """

    text: str
    weight: float
    channel: float = 0.0


def channel_score(votes: int, head_mass: int) -> float:
    """How readily a spinner rewriting a head word picks a substitute with ``votes``
    thesaurus statements (Moby either way, MyThes either way) for the pair.

    Squaring the votes lets agreement between thesauri count for more than Moby's long
    one-way tail ("automobile" under "fan"). Dividing by the head's whole list would bury
    polysemous words ("stock" has hundreds of synonyms over its senses) while a spinner
    picks within one sense, whose list grows far slower: the square root is the compromise.
    """
    return votes * votes / math.sqrt(max(head_mass, 1))


@functools.lru_cache(maxsize=500_000)  # called for every pair the language model scores
def normalise(term: str) -> str:
    return SPACES.sub(" ", term.strip().lower().replace("’", "'"))


class Lexicon:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        config = json.loads((self.folder / "component.json").read_text(encoding="utf-8"))
        settings = config.get("settings", {})
        self.config = config
        self.google_total = float(settings.get("google_total", 1_024_908_267_229))
        self.min_bigram = float(settings.get("min_bigram_count", 100_000))
        self._cached_originals = functools.lru_cache(maxsize=200_000)(self._originals_for)
        self._cached_neighbours = functools.lru_cache(maxsize=100_000)(self._neighbours_for)

    @classmethod
    def load(cls, folder: str | Path) -> "Lexicon":
        return _load_cached(Path(folder).resolve())

    # -- tables, each parsed on first use --------------------------------------------------

    @functools.cached_property
    def _words(self) -> dict[str, tuple[float, float]]:
        table = {}
        for fields in self._rows("words.tsv.gz"):
            zipf = float(fields[1])
            count = float(fields[2]) if len(fields) > 2 and fields[2] else self.google_total * 10 ** (zipf - 9)
            table[fields[0]] = (zipf, count)
        return table

    @functools.cached_property
    def _bigrams(self) -> dict[str, int]:
        return {f"{a} {b}": int(c) for a, b, c in self._rows("bigrams.tsv.gz")}

    @functools.cached_property
    def _heads(self) -> dict[str, int]:
        return {h: int(m) for h, m in self._rows("heads.tsv.gz")}

    @functools.cached_property
    def _reverse(self) -> dict[str, str]:
        return read_keyed_table(self.folder / "reverse.tsv.gz")

    @functools.cached_property
    def _neighbours(self) -> dict[str, str]:
        # a lexicon built before the table existed has none: no neighbour candidates, not an error
        path = self.folder / "neighbours.tsv.gz"
        return read_keyed_table(path) if path.is_file() else {}

    @functools.cached_property
    def _collocations(self) -> dict[str, dict[str, float]]:
        """w1 -> {w2: log10 P(w2 | w1)} distilled from the causal LM (scripts/build_collocations.py);
        absent in lexicons built before it: then ranking uses the Google bigrams alone."""
        return self._collocation_table("collocations.tsv.gz")

    @functools.cached_property
    def _paper_collocations(self) -> dict[str, dict[str, float]]:
        """The same, with the LM reading w1 as a paper's sentence goes on (build_collocations.py --prefix);
        none in lexicons built before the table."""
        return self._collocation_table("paper_collocations.tsv.gz")

    def _collocation_table(self, name: str) -> dict[str, dict[str, float]]:
        if not (self.folder / name).is_file():
            return {}
        return {fields[0]: {w2: float(p) for w2, p in zip(fields[1::2], fields[2::2])} for fields in self._rows(name)}

    @functools.cached_property
    def _corpus_pairs(self) -> dict[str, tuple[float, float]]:
        """"w1 w2" -> (log10 P(w2 | w1), log10 P(w1 | w2)) counted in our own train documents
        (scripts/build_corpus_pairs.py); none in lexicons built before the table."""
        path = self.folder / "corpus_pairs.tsv.gz"
        if not path.is_file():
            return {}
        return {f"{w1} {w2}": (float(forward), float(backward))
                for w1, w2, forward, backward, _ in self._rows("corpus_pairs.tsv.gz")}

    @functools.cached_property
    def _thesaurus_terms(self) -> frozenset[str]:
        """Each two-word term MyThes (WordNet) lists, as "w1 w2"; none in lexicons built before the table."""
        path = self.folder / "terms.tsv.gz"
        return frozenset(" ".join(fields) for fields in self._rows("terms.tsv.gz")) if path.is_file() else frozenset()

    def _rows(self, name: str) -> Iterator[list[str]]:
        with gzip.open(self.folder / name, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n").split("\t")

    # -- frequencies and the language model ------------------------------------------------

    def zipf(self, term: str) -> float:
        """Zipf frequency (log10 per billion words); phrases too, where the table has them."""
        entry = self._words.get(normalise(term))
        return entry[0] if entry else UNKNOWN_ZIPF

    def knows(self, term: str) -> bool:
        return normalise(term) in self._words

    def _unigram_logp(self, word: str) -> float:
        entry = self._words.get(word)  # normalised already
        return (entry[0] if entry else UNKNOWN_ZIPF) - 9

    def _count(self, word: str) -> float:
        entry = self._words.get(word)
        return entry[1] if entry else self.google_total * 10 ** (UNKNOWN_ZIPF - 9)

    def bigram_count(self, w1: str, w2: str) -> int:
        return self._bigrams.get(f"{normalise(w1)} {normalise(w2)}", 0)

    def bigram_logp(self, w1: str, w2: str, unseen: float = BACKOFF) -> float:
        """log10 P(w2 | w1); an unseen pair backs off to ``unseen`` times the unigram, but
        never above what the table's pruning count allows (it was unseen, so it is rarer).
        The table only holds common pairs, so a rare word's pairs are always unseen: an
        ``unseen`` above 1 gives the benefit of the doubt to a word actually written."""
        return self._normalised_bigram_logp(normalise(w1), normalise(w2), unseen)

    def _normalised_bigram_logp(self, w1: str, w2: str, unseen: float) -> float:
        count_w1 = max(self._count(w1), 1.0)
        pair = self._bigrams.get(f"{w1} {w2}")
        if pair is not None:
            return math.log10(min(pair / count_w1, 1.0))
        entry = self._words.get(w2)  # w2 is normalised already: zipf() would normalise it again
        backoff = math.log10(unseen) + (entry[0] if entry else UNKNOWN_ZIPF) - 9
        return min(backoff, math.log10(self.min_bigram / count_w1))

    def collocation_logp(self, w1: str, w2: str, unseen: float = BACKOFF) -> float:
        """log10 P(w2 | w1) from the Google bigrams or the LM's collocations, whichever is
        higher: the bigrams stop at 2006 web text and 100,000 occurrences, so "gradient descent"
        is unseen there while the LM knows it well."""
        return self._normalised_collocation_logp(normalise(w1), normalise(w2), unseen)

    def _normalised_collocation_logp(self, w1: str, w2: str, unseen: float) -> float:
        google = self._normalised_bigram_logp(w1, w2, unseen)
        learned = self._collocations.get(w1, {}).get(w2)
        return google if learned is None else max(google, learned)

    def known_pair_logp(self, w1: str, w2: str) -> float | None:
        """log10 P(w2 | w1) where the Google bigrams or the LM's collocations hold the pair (the
        higher of the two), None where neither does; both words normalised already."""
        learned = self._collocations.get(w1, {}).get(w2)
        if f"{w1} {w2}" in self._bigrams:
            google = self._normalised_bigram_logp(w1, w2, BACKOFF)
            return google if learned is None else max(google, learned)
        return learned

    def corpus_pair_logp(self, w1: str, w2: str) -> tuple[float, float] | None:
        """(log10 P(w2 | w1), log10 P(w1 | w2)) where our train documents use the pair often enough to
        count, else None; both words normalised already."""
        return self._corpus_pairs.get(f"{w1} {w2}")

    def paper_pair_logp(self, w1: str, w2: str) -> float | None:
        """log10 P(w2 | w1) where the LM reading a paper's register knows the pair, else None; both
        words normalised already."""
        return self._paper_collocations.get(w1, {}).get(w2)

    def is_thesaurus_term(self, w1: str, w2: str) -> bool:
        """Whether ``w1 w2`` (both normalised) is an established two-word term of the thesaurus."""
        return f"{w1} {w2}" in self._thesaurus_terms

    def fit(self, left: str | None, candidate: str, right: str | None, unseen: float = BACKOFF) -> float:
        """log10 P(candidate, right | left): how well ``candidate`` (word or phrase) fits
        between its neighbours; a missing neighbour (sentence edge) is left out. Google bigrams
        only: the detector's features were trained on this."""
        return self._fit(self._normalised_bigram_logp, left, candidate, right, unseen)

    def context_fit(self, left: str | None, candidate: str, right: str | None, unseen: float = BACKOFF) -> float:
        """``fit`` with the LM's collocations too: for ranking what a span may have been."""
        return self._fit(self._normalised_collocation_logp, left, candidate, right, unseen)

    def _fit(self, pair_logp, left: str | None, candidate: str, right: str | None, unseen: float) -> float:
        # everything is normalised once here: the detector asks this some 140,000 times per 45,000 words
        words = [w for w in PIECES.split(normalise(candidate)) if w]
        if not words:
            return 0.0
        left = normalise(left) if left else left
        right = normalise(right) if right else right
        logp = pair_logp(left, words[0], unseen) if left else self._unigram_logp(words[0])
        for a, b in zip(words, words[1:]):
            logp += pair_logp(a, b, unseen)
        if right:
            logp += pair_logp(words[-1], right, unseen)
        return logp

    def side_fits(self, left: str | None, candidates: Sequence[Sequence[str]], right: str | None,
                  unseen: float = BACKOFF) -> list[tuple[float, float, float]]:
        """For each candidate (its words, already normalised), the log10 fit against the word
        before, inside itself and against the word after (0 where a side is missing):
        ``fit`` cut in three, for many candidates of one place at a time (the detector's
        features ask this for some 30 neighbours of every word, so nothing is normalised again)."""

        def logp(w1: str, w2: str) -> float:
            return self._normalised_bigram_logp(w1, w2, unseen)

        out = []
        for pieces in candidates:
            inner = sum(logp(a, b) for a, b in zip(pieces, pieces[1:])) if len(pieces) > 1 else 0.0
            out.append((logp(left, pieces[0]) if left else 0.0, inner, logp(pieces[-1], right) if right else 0.0))
        return out

    def neighbour_evidence(self, left: str | None, candidate: str, right: str | None) -> bool:
        """Whether a bigram joins ``candidate`` to either neighbour (real evidence of fit)."""
        words = [w for w in PIECES.split(normalise(candidate)) if w]
        return bool(words) and bool(
            (left and self.bigram_count(left, words[0])) or (right and self.bigram_count(words[-1], right))
        )

    # -- the reverse thesaurus -------------------------------------------------------------

    def _stored(self, key: str) -> list[tuple[str, float]]:
        """(original, channel) pairs stored for ``key`` exactly."""
        raw = self._reverse.get(key)
        if not raw:
            return []
        fields = raw.split("\t")
        heads = self._heads
        return [(h, channel_score(int(v), heads.get(h, 1))) for h, v in zip(fields[0::2], fields[1::2])]

    def originals_for(self, term: str) -> list[Candidate]:
        return list(self._cached_originals(term))

    def _originals_for(self, term: str) -> tuple[Candidate, ...]:
        """More frequent words/phrases ``term`` may stand for, best first (case-insensitive).

        An inflected word is looked up by its lemma and the candidates re-inflected to the
        same form ("selections" -> "selection" -> "decision" -> "decisions"); a candidate
        that has no such form (wrong part of speech) is dropped.
        """
        key = normalise(term)
        found: dict[str, float] = {}
        for original, channel in self._stored(key):
            found[original] = max(found.get(original, 0.0), channel)
        if " " not in key:
            for lemma, tags, upos in _lemma_forms(key):
                for original, channel in self._stored(lemma):
                    inflected = _inflect(original, tags, upos)
                    if inflected and inflected != key:
                        found[inflected] = max(found.get(inflected, 0.0), channel)
        if not found:  # most lookups (every 2-3 word phrase of a document) end here
            return ()
        own = self.zipf(key)
        scored = [(10 ** self.zipf(o) * c, o, c) for o, c in found.items() if self.zipf(o) > own and o != key]
        total = sum(s for s, _, _ in scored) or 1.0
        return tuple(Candidate(o, s / total, c) for s, o, c in sorted(scored, key=lambda x: (-x[0], x[1])))

    def neighbours_for(self, word: str) -> dict[str, int]:
        """Thesaurus neighbours of ``word`` of any frequency, inflected like it, with their votes
        (how many thesaurus statements link the two)."""
        return dict(self._cached_neighbours(normalise(word)))

    def _neighbours_for(self, key: str) -> tuple[tuple[str, int], ...]:
        found: dict[str, int] = {}

        def add(raw: str | None, inflect=None) -> None:
            fields = raw.split("\t") if raw else []
            for neighbour, votes in zip(fields[0::2], fields[1::2]):
                text = inflect(neighbour) if inflect else neighbour
                if text and text != key:
                    found[text] = max(found.get(text, 0), int(votes))

        add(self._neighbours.get(key))
        if " " not in key:
            for lemma, tags, upos in _lemma_forms(key):
                add(self._neighbours.get(lemma), lambda n, tags=tags, upos=upos: _inflect(n, tags, upos))
        return tuple(sorted(found.items()))

    def neighbours_in_context(self, words: Sequence[str], left: str | None, right: str | None,
                              limit: int = 30, per_word: int = 8, collocations: bool = True) -> list[tuple[str, ...]]:
        """What a spinner most likely swapped ``words`` (each of them) from, best first: one
        neighbour per word in each tuple.

        Every word is replaced by one of its thesaurus neighbours; score = ``NEIGHBOUR_VOTE_WEIGHT``
        x ln(votes) per word + bigram fit of the whole between ``left`` and ``right`` (log10).
        Frequency is left out on purpose: a spinner's original may be rarer than its substitute.
        On the swapped words of 800 dev-heldout documents this puts the original first for 31% and
        in the top 5 for 54% (the frequency-ranked ``originals_for``: 18% and 30%;
        ``scripts/measure_candidates.py``). For several words, each keeps only its ``per_word``
        best neighbours, ranked as if alone in place.
        """
        words = [normalise(w) for w in words]
        fit = self.context_fit if collocations else self.fit
        options = [self.neighbours_for(w) for w in words]
        if not all(options):
            return []
        prior = {w: {n: NEIGHBOUR_VOTE_WEIGHT * math.log(v) for n, v in found.items()} for w, found in zip(words, options)}
        width = limit if len(words) == 1 else per_word
        shortlists = []
        for i, (word, found) in enumerate(zip(words, options)):
            before = words[i - 1] if i else left
            after = words[i + 1] if i + 1 < len(words) else right
            shortlists.append(sorted(found, key=lambda n: (-(prior[word][n] + fit(before, n, after)), n))[:width])
        if len(words) == 1:  # a word alone is ranked in place already
            return [(n,) for n in shortlists[0]]
        combos = set(itertools.product(*shortlists))
        if collocations and len(words) == 2:
            combos |= self._known_pairs(options[0], options[1])
        scored = [(sum(prior[w][n] for w, n in zip(words, combo)) + fit(left, " ".join(combo), right), combo)
                  for combo in combos]
        return [combo for _, combo in sorted(scored, key=lambda sc: (-sc[0], sc[1]))[:limit]]

    def known_pairs_from(self, first: str) -> Iterator[str]:
        """The words the LM's collocations know to follow ``first`` (normalised)."""
        return iter(self._collocations.get(first, ()))

    def _known_pairs(self, first: dict[str, int], second: dict[str, int]) -> set[tuple[str, str]]:
        """Every (neighbour of the first word, neighbour of the second) that the LM's collocations
        or the Google bigrams know as a pair: a term swapped word by word ("irregular woodland")
        is often a term neither word's own shortlist leads back to."""
        found = set()
        for a in first:
            for b in self._collocations.get(a, ()):
                if b in second:
                    found.add((a, b))
            for b in second:
                if f"{a} {b}" in self._bigrams:
                    found.add((a, b))
        return found

    def span_candidates(
        self,
        words: Sequence[str],
        left: str | None = None,
        right: str | None = None,
        n_best: int = 5,
        per_word: int = 30,
        beam: int = 20,
    ) -> list[Candidate]:
        """Candidates for a multiword span, whole-phrase entries and word-by-word combinations
        ("inventory market" -> "stock market"), scored by neighbour fit times channel.

        Each word either stays or becomes one of its ``per_word`` best originals; a beam
        keeps the partial spans with the best left-to-right bigram score. ``weight`` is the
        share of the candidates' total probability; the unchanged span is never returned.
        """
        words = [normalise(w) for w in words if w.strip()]
        if not words:
            return []
        original = " ".join(words)
        # partial hypotheses: (log10 score without the right neighbour, words so far, channel)
        hypotheses: list[tuple[float, list[str], float]] = [(0.0, [], 1.0)]
        for position, word in enumerate(words):
            options = [(word, 1.0)] + [(c.text, c.channel) for c in self.originals_for(word)[:per_word]]
            grown = []
            for score, chosen, channel in hypotheses:
                previous = chosen[-1].split(" ")[-1] if chosen else left
                for text, option_channel in options:
                    step = self.fit(previous, text, None) if previous else self.fit(None, text, None)
                    grown.append((score + step + math.log10(option_channel), chosen + [text], channel * option_channel))
            hypotheses = sorted(grown, key=lambda h: -h[0])[:beam]
        scored: dict[str, tuple[float, float]] = {}
        for score, chosen, channel in hypotheses:
            text = " ".join(chosen)
            if right:
                score += self.bigram_logp(chosen[-1].split(" ")[-1], right)
            if text != original and (text not in scored or scored[text][0] < score):
                scored[text] = (score, channel)
        for candidate in self.originals_for(original):
            score = self.fit(left, candidate.text, right) + math.log10(candidate.channel or 1e-6)
            if candidate.text not in scored or scored[candidate.text][0] < score:
                scored[candidate.text] = (score, candidate.channel)
        best = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n_best]
        if not best:
            return []
        top = best[0][1][0]
        total = sum(10 ** (s - top) for _, (s, _) in best)
        return [Candidate(text, 10 ** (s - top) / total, c) for text, (s, c) in best]


def read_keyed_table(path: Path) -> dict[str, str]:
    """A gzipped ``key \t fields...`` table as key -> the raw rest of its line: a list stays a
    string until someone asks for that key (most never are)."""
    table = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            key, _, rest = line.rstrip("\n").partition("\t")
            table[key] = rest
    return table


@functools.lru_cache(maxsize=4)
def _load_cached(folder: Path) -> Lexicon:
    if not (folder / "component.json").is_file():
        raise FileNotFoundError(f"{folder} holds no compiled lexicon (no component.json)")
    return Lexicon(folder)


@functools.lru_cache(maxsize=100_000)
def _lemma_forms(word: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(lemma, Penn tags that spell ``word``, universal POS) for each reading of an inflected word."""
    from lemminflect import getAllInflections, getAllLemmas

    readings = []
    for upos, lemmas in getAllLemmas(word).items():
        for lemma in lemmas:
            lemma = lemma.lower()
            if lemma == word:
                continue
            tags = tuple(sorted(t for t, forms in getAllInflections(lemma, upos=upos).items() if word in forms))
            if tags:
                readings.append((lemma, tags, upos))
    return tuple(readings)


@functools.lru_cache(maxsize=200_000)
def _inflect(original: str, tags: tuple[str, ...], upos: str) -> str | None:
    """``original`` in the form ``tags`` name, or None if it has no such form as ``upos``.

    A phrase inflects its head: the first word of a verb phrase ("get to" -> "got to"),
    the last word of a noun phrase.
    """
    from lemminflect import getAllInflections

    words = original.split(" ")
    index = 0 if upos in ("VERB", "AUX") else len(words) - 1
    forms = getAllInflections(words[index], upos=upos)
    for tag in tags:
        if tag in forms:
            words[index] = forms[tag][0]
            return " ".join(words)
    return None
