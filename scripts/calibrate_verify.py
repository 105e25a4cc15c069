"""Measure what ``--verify lm`` would add on a data split, for choosing its ``min_gain``.

For each word the shipped tagger scored at 0.05 or more but below its threshold (0.65) that has
thesaurus originals, the causal LM reads its sentence as written and with each of the five best
originals in place; the best gain is recorded. Printed: per minimum gain, the gold words added,
the other words added, and the flags on clean documents per 1,000 clean words.

    python scripts/calibrate_verify.py --split dev-heldout --docs 40 --out runs/verify/lm-devh.jsonl

Single words only (``LMVerifiedDetector`` also reads adjacent pairs). Never run on ../shared/eval.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORD = re.compile(r"[A-Za-z]+")


def dump(split_file: Path, docs: int, out: Path, floor: float, threshold: float) -> int:
    import torch

    from repair.detect import TaggerDetector
    from repair.edits import match_case
    from repair.lexicon import Lexicon
    from repair.rerank import CausalLMScorer
    from repair.rewrite import sentence_bounds

    torch.set_num_threads(2)
    detector = TaggerDetector.from_pretrained("models/detector")
    lexicon = Lexicon.load("models/lexicon")
    lm = CausalLMScorer.load(batch=32)
    rows = [json.loads(line) for line in gzip.open(split_file)]
    random.Random(1).shuffle(rows)
    rows = rows[:docs]
    words = 0
    started = time.time()
    with open(out, "w", encoding="utf-8") as handle:
        for index, (row, scores) in enumerate(zip(rows, detector.word_scores_many([r["spun"] for r in rows]))):
            text = row["spun"]
            gold = [(e["spun_start"], e["spun_end"]) for e in row["edits"]]
            words += len(scores)
            bounds = sentence_bounds(text) or [(0, len(text))]
            for w in scores:
                word = text[w.start:w.end]
                if not WORD.fullmatch(word) or not floor <= w.spin < threshold:
                    continue
                originals = [c.text for c in lexicon.originals_for(word)[:5]]
                if not originals:
                    continue
                a, b = next((x for x in bounds if x[0] <= w.start < x[1]), (0, len(text)))
                sentences = [text[a:b]] + [text[a:w.start] + match_case(word, o) + text[w.end:b] for o in originals]
                lps = lm.logprobs(sentences)
                handle.write(json.dumps({
                    "doc": index, "profile": row["profile"], "spin": w.spin, "word": word,
                    "inside": any(s < w.end and e > w.start for s, e in gold),
                    "gain": max(lps[1:]) - lps[0], "originals": originals}) + "\n")
    clean = sum(len(WORD.findall(r["spun"])) for r in rows if r["profile"] == "clean")
    print(f"{len(rows)} documents, {words} words ({clean} in clean documents), {time.time() - started:.0f} s",
          file=sys.stderr)
    return clean


def report(path: Path, clean_words: int) -> None:
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    for gain in (4, 5, 6, 7, 8, 10, 12):
        added = [r for r in records if r["gain"] >= gain]
        gold = sum(r["inside"] for r in added)
        clean = sum(r["profile"] == "clean" for r in added)
        print(f"min gain {gain:>2}: +gold {gold:4d}  +other {len(added) - gold:4d}  "
              f"precision {gold / max(len(added), 1):.2f}  clean flags {1000 * clean / max(clean_words, 1):.2f} per 1,000")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--split", default="dev-heldout")
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("runs/verify/lm-dev-heldout.jsonl"))
    parser.add_argument("--floor", type=float, default=0.05)
    parser.add_argument("--threshold", type=float, default=0.65)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    clean_words = dump(args.data / f"{args.split}.jsonl.gz", args.docs, args.out, args.floor, args.threshold)
    report(args.out, clean_words)
    return 0


if __name__ == "__main__":
    sys.exit(main())
