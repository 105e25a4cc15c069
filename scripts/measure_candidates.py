"""Where the original of each swapped word falls among a candidate source's suggestions.

For every word a spinner swapped (word-aligned inside an edit), the candidates a source offers
in place (the spun neighbours as context) are ranked and the original's position recorded:

    python scripts/measure_candidates.py --split dev-heldout          # tune here
    python scripts/measure_candidates.py --pairs ../shared/eval/tortured-phrases.gold.jsonl   # measure only

Sources: ``originals`` (``Lexicon.originals_for``, more frequent words only, frequency x channel),
``neighbours`` (``Lexicon.neighbours_in_context``, any frequency, votes and the fit of Google
bigrams and the LM's collocations) and ``neighbours-google`` (the same with the Google bigrams only).
Pairs of adjacent words that were both swapped ("irregular woodland") are measured too, the two
words ranked together: the candidate must be the whole original pair.
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


def _aligned(records):
    """(spun words, original words, word before, word after) of each edit of equal length in words;
    the neighbours are the spun text's."""
    for text, start, end, spun, original in records:
        spun_words, original_words = spun.lower().split(), original.lower().split()
        if len(spun_words) == len(original_words):
            yield (spun_words, original_words, *_context(text, start, end))


def swapped_words(records) -> list[tuple[str, str, str | None, str | None]]:
    """(spun word, original word, word before, word after) for each word swapped inside an edit."""
    found = []
    for spun_words, original_words, left, right in _aligned(records):
        for i, (s, o) in enumerate(zip(spun_words, original_words)):
            if s != o and WORD.fullmatch(s):
                found.append((s, o, spun_words[i - 1] if i else left,
                              spun_words[i + 1] if i + 1 < len(spun_words) else right))
    return found


def swapped_pairs(records) -> list[tuple[tuple[str, str], tuple[str, str], str | None, str | None]]:
    """(spun pair, original pair, word before, word after) for each two adjacent words of an
    edit that were both swapped."""
    found = []
    for spun_words, original_words, left, right in _aligned(records):
        for i in range(len(spun_words) - 1):
            pair, gold = tuple(spun_words[i:i + 2]), tuple(original_words[i:i + 2])
            if all(s != o and WORD.fullmatch(s) for s, o in zip(pair, gold)):
                found.append((pair, gold, spun_words[i - 1] if i else left,
                              spun_words[i + 2] if i + 2 < len(spun_words) else right))
    return found


def joined_word_edits(row: dict) -> list[tuple[int, int, str, str]]:
    """(spun start, spun end, spun, original) of a corpus document's word edits; the spinner records
    each swapped word as its own edit, so words swapped side by side (one space between, in the spun
    and the original text) are joined into one, as the real gold has them."""
    joined: list[list] = []
    for e in row["edits"]:
        if e.get("kind") != "word":
            continue
        last = joined[-1] if joined else None
        if last and row["spun"][last[1]:e["spun_start"]] == " " and row["original"][last[4]:e["orig_start"]] == " ":
            last[1], last[2], last[3], last[4] = e["spun_end"], f"{last[2]} {e['spun']}", f"{last[3]} {e['original']}", e["orig_end"]
        else:
            joined.append([e["spun_start"], e["spun_end"], e["spun"], e["original"], e["orig_end"]])
    return [(start, end, spun, original) for start, end, spun, original, _ in joined]


def read_split(path: Path, docs: int):
    """Word edits of a corpus split, side-by-side swaps joined (``joined_word_edits``)."""
    for line in itertools.islice(gzip.open(path, "rt", encoding="utf-8"), docs):
        row = json.loads(line)
        for start, end, spun, original in joined_word_edits(row):
            yield row["spun"], start, end, spun, original


def read_pairs(path: Path):
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        for e in row["edits"]:
            yield row["spun"], e["start"], e["end"], e["spun"], e["gold"]


SOURCES = {
    "originals": lambda lex, w, l, r: [c.text for c in lex.originals_for(w)],
    "neighbours": lambda lex, w, l, r: [c[0] for c in lex.neighbours_in_context([w], l, r, limit=max(TOPS))],
    "neighbours-google": lambda lex, w, l, r: [c[0] for c in lex.neighbours_in_context([w], l, r, limit=max(TOPS),
                                                                                       collocations=False)],
}
PAIR_SOURCES = {
    "neighbours": lambda lex, p, l, r, width: lex.neighbours_in_context(p, l, r, limit=max(TOPS), per_word=width),
    "neighbours-google": lambda lex, p, l, r, width: lex.neighbours_in_context(p, l, r, limit=max(TOPS), per_word=width,
                                                                               collocations=False),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--split", default="dev-heldout")
    parser.add_argument("--docs", type=int, default=800)
    parser.add_argument("--pairs", type=Path, default=None, help="a gold file with edits (the shared format) instead")
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--pair-width", type=int, nargs="+", default=[8],
                        help="neighbours of each word of a pair ranked together (Lexicon.neighbours_in_context per_word)")
    args = parser.parse_args(argv)
    lexicon = Lexicon.load(args.lexicon)
    records = list(read_pairs(args.pairs) if args.pairs else read_split(args.data / f"{args.split}.jsonl.gz", args.docs))
    words = swapped_words(records)
    print(f"{len(words)} swapped words; the original among the first k candidates:")
    print("source                " + "".join(f"top {k:<5}" for k in TOPS) + "any")
    share = 1 / max(len(words), 1)
    for name, source in SOURCES.items():
        hits = Counter()
        for spun, original, left, right in words:
            candidates = source(lexicon, spun, left, right)
            if original in candidates:
                position = candidates.index(original)
                hits.update(k for k in TOPS if position < k)
        print(f"{name:<22}" + "".join(f"{hits[k] * share:<9.3f}" for k in TOPS), end="")
        if name == "neighbours":  # the ceiling of any ranking: the original in either table at all
            anywhere = sum(o in lexicon.neighbours_for(s) or o in {c.text for c in lexicon.originals_for(s)}
                           for s, o, _, _ in words)
            print(f"{anywhere * share:.3f}", end="")
        print()
    pairs = swapped_pairs(records)
    print(f"{len(pairs)} adjacent pairs with both words swapped; the original pair among the first k:")
    share = 1 / max(len(pairs), 1)
    # the pairs whose original is a term either table knows (what real tortured phrases mostly are)
    terms = {k for k, (spun, original, _, _) in enumerate(pairs)
             if original in lexicon._known_pairs(lexicon.neighbours_for(spun[0]), lexicon.neighbours_for(spun[1]))}
    for width in args.pair_width:
        for name, source in PAIR_SOURCES.items():
            hits, term_hits = Counter(), Counter()
            for k, (spun, original, left, right) in enumerate(pairs):
                candidates = source(lexicon, spun, left, right, width)
                if original in candidates:
                    found = [top for top in TOPS if candidates.index(original) < top]
                    hits.update(found)
                    term_hits.update(found if k in terms else [])
            print(f"{name + ' ' + str(width):<22}" + "".join(f"{hits[k] * share:<9.3f}" for k in TOPS)
                  + f"known-pair originals ({len(terms)}): " + " / ".join(str(term_hits[k]) for k in TOPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
