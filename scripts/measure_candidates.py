"""Where the original of each swapped word falls among a candidate source's suggestions.

For every word a spinner swapped (word-aligned inside an edit), the candidates a source offers
in place (the spun neighbours as context) are ranked and the original's position recorded:

    python scripts/measure_candidates.py --split dev-heldout          # tune here
    python scripts/measure_candidates.py --pairs ../shared/eval/tortured-phrases.gold.jsonl   # measure only

Sources: ``originals`` (``Lexicon.originals_for``, more frequent words only, frequency x channel)
and ``neighbours`` (``Lexicon.neighbours_in_context``, any frequency, votes and bigram fit).
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repair.lexicon import Lexicon  # noqa: E402

WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")
TOPS = (1, 5, 30)


def _context(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    left, right = WORD.findall(text[max(0, start - 40):start]), WORD.findall(text[end:end + 40])
    return (left[-1].lower() if left else None), (right[0].lower() if right else None)


def swapped_words(records) -> list[tuple[str, str, str | None, str | None]]:
    """(spun word, original word, word before, word after) for each word swapped inside an
    edit of equal length in words; the neighbours are the spun text's."""
    found = []
    for text, start, end, spun, original in records:
        spun_words, original_words = spun.lower().split(), original.lower().split()
        if len(spun_words) != len(original_words):
            continue
        left, right = _context(text, start, end)
        for i, (s, o) in enumerate(zip(spun_words, original_words)):
            if s != o and WORD.fullmatch(s):
                found.append((s, o, spun_words[i - 1] if i else left,
                              spun_words[i + 1] if i + 1 < len(spun_words) else right))
    return found


def read_split(path: Path, docs: int):
    for line in itertools.islice(gzip.open(path, "rt", encoding="utf-8"), docs):
        row = json.loads(line)
        for e in row["edits"]:
            if e.get("kind") == "word":
                yield row["spun"], e["spun_start"], e["spun_end"], e["spun"], e["original"]


def read_pairs(path: Path):
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        for e in row["edits"]:
            yield row["spun"], e["start"], e["end"], e["spun"], e["gold"]


SOURCES = {
    "originals": lambda lex, w, l, r: [c.text for c in lex.originals_for(w)],
    "neighbours": lambda lex, w, l, r: [c[0] for c in lex.neighbours_in_context([w], l, r, limit=max(TOPS))],
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--split", default="dev-heldout")
    parser.add_argument("--docs", type=int, default=800)
    parser.add_argument("--pairs", type=Path, default=None, help="a gold file with edits (the shared format) instead")
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    args = parser.parse_args(argv)
    lexicon = Lexicon.load(args.lexicon)
    records = read_pairs(args.pairs) if args.pairs else read_split(args.data / f"{args.split}.jsonl.gz", args.docs)
    words = swapped_words(records)
    print(f"{len(words)} swapped words; the original among the first k candidates:")
    print("source      " + "".join(f"top {k:<5}" for k in TOPS) + "any")
    share = 1 / max(len(words), 1)
    for name, source in SOURCES.items():
        hits = Counter()
        for spun, original, left, right in words:
            candidates = source(lexicon, spun, left, right)
            if original in candidates:
                position = candidates.index(original)
                hits.update(k for k in TOPS if position < k)
        print(f"{name:<12}" + "".join(f"{hits[k] * share:<9.3f}" for k in TOPS), end="")
        if name == "neighbours":  # the ceiling of any ranking: the original in either table at all
            anywhere = sum(o in lexicon.neighbours_for(s) or o in {c.text for c in lexicon.originals_for(s)}
                           for s, o, _, _ in words)
            print(f"{anywhere * share:.3f}", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
