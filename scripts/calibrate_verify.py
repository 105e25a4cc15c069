"""Measure what ``--verify lm`` would add on a data split, for choosing its ``min_gain``.

Every first-pass reading ``repair.verify.LMVerifiedDetector`` makes (the words the shipped tagger
left below its threshold, after the document gate, scored at --floor or more, with thesaurus candidates;
alone and side by side) is recorded with its LM gain. Printed: per minimum gain, the readings that
touch a gold edit, the others, and the words flagged in clean documents per 1,000 clean words. A reading
is counted before overlaps are resolved, so a pair and its words may all count.

    python scripts/calibrate_verify.py --split dev-heldout --docs 40 --out runs/verify/lm-devh.jsonl

Never run on ../shared/eval.
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

from repair.verify import CANDIDATE_SOURCES, VerifySettings  # noqa: E402  (no torch import)

WORD = re.compile(r"[A-Za-z]+")


def dump(split_file: Path, docs: int, out: Path, threshold: float, candidates: str, floor: float,
         pair_floor: float | None = None) -> int:
    """Every first-pass reading ``LMVerifiedDetector`` makes on ``docs`` documents, with its gold label."""
    import torch

    from repair.detect import TaggerDetector
    from repair.rerank import load_reranker
    from repair.verify import LMVerifiedDetector, VerifySettings

    torch.set_num_threads(2)
    tagger = TaggerDetector.from_pretrained("models/detector")
    verifier = LMVerifiedDetector(tagger, load_reranker("lm"), VerifySettings(candidates=candidates, floor=floor,
                                                                                pair_floor=pair_floor))
    rows = [json.loads(line) for line in gzip.open(split_file)]
    random.Random(1).shuffle(rows)
    rows = rows[:docs]
    started, words = time.time(), 0
    with open(out, "w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            text = row["spun"]
            scores = tagger.word_scores_many([text])[0]
            words += len(scores)
            spans = tagger.spans(text, scores, threshold)
            stretches = verifier.unsure_stretches(text, scores, spans)
            gold = [(e["spun_start"], e["spun_end"]) for e in row["edits"]]
            for reading in verifier.read(text, stretches, verifier.settings.originals):
                handle.write(json.dumps({
                    "doc": index, "profile": row["profile"], "text": text[reading.start:reading.end],
                    "inside": any(s < reading.end and e > reading.start for s, e in gold),
                    "gain": round(reading.gain, 3), "best": reading.ranked[0],
                    "pair_only": verifier.read_for_pair_floor(reading, scores),
                    "fit_gain": round(_fit_gain(tagger.features.lexicon, text, reading), 3)}) + "\n")
    clean = sum(len(WORD.findall(r["spun"])) for r in rows if r["profile"] == "clean")
    print(f"{len(rows)} documents, {words} words ({clean} in clean documents), {time.time() - started:.0f} s",
          file=sys.stderr)
    return clean


def _fit_gain(lexicon, text: str, reading) -> float:
    """The lexicon's best log10 fit gain among the candidates the LM read (no LM needed): whether
    a cheap screen could have told which stretches are worth the LM's time."""
    from repair.verify import _word_after, _word_before

    left, right = _word_before(text, reading.start), _word_after(text, reading.end)
    left, right = left and left.lower(), right and right.lower()
    written = lexicon.context_fit(left, text[reading.start:reading.end], right)
    return max(lexicon.context_fit(left, c, right) for c in reading.ranked) - written


def report(path: Path, clean_words: int) -> None:
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    _gain_table(records, clean_words)
    if any(r.get("pair_only") for r in records):
        print("of which pairs read only for the pair floor (one word below --floor):")
        _gain_table([r for r in records if r.get("pair_only")], clean_words)
    _screen_table(records, clean_words)


def _gain_table(records: list[dict], clean_words: int) -> None:
    for gain in (4, 5, 6, 7, 8, 10, 12):
        added = [r for r in records if r["gain"] >= gain]
        gold = sum(r["inside"] for r in added)
        clean = sum(len(WORD.findall(r["text"])) for r in added if r["profile"] == "clean")
        print(f"min gain {gain:>2}: +gold {gold:4d}  +other {len(added) - gold:4d}  "
              f"precision {gold / max(len(added), 1):.2f}  clean flags {1000 * clean / max(clean_words, 1):.2f} per 1,000")


def _screen_table(records: list[dict], clean_words: int) -> None:
    if records and "fit_gain" in records[0]:
        print("a lexicon screen before the LM (skip stretches whose best candidate fits less than F better):")
        admitted = [r for r in records if r["gain"] >= VerifySettings.min_gain]
        for floor in (-2, -1, -0.5, 0, 0.5, 1):
            kept = [r for r in records if r["fit_gain"] >= floor]
            still = [r for r in admitted if r["fit_gain"] >= floor]
            clean = sum(len(WORD.findall(r["text"])) for r in still if r["profile"] == "clean")
            print(f"F {floor:>4}: LM reads {len(kept) / max(len(records), 1):.0%} of the stretches; at min gain "
                  f"{VerifySettings.min_gain:g}: +gold {sum(r['inside'] for r in still)} of {sum(r['inside'] for r in admitted)}, "
                  f"clean flags {1000 * clean / max(clean_words, 1):.2f} per 1,000")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--split", default="dev-heldout")
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("runs/verify/lm-dev-heldout.jsonl"))
    parser.add_argument("--threshold", type=float, default=0.65)
    parser.add_argument("--candidates", choices=sorted(CANDIDATE_SOURCES), default=VerifySettings.candidates,
                        help="where the words' candidates come from (repair.verify.CANDIDATE_SOURCES)")
    parser.add_argument("--floor", type=float, default=VerifySettings.floor, help="tagger spin below which a word is never read")
    parser.add_argument("--pair-floor", type=float, default=None,
                        help="a word this low is still read beside one at --floor, as a pair (VerifySettings.pair_floor)")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    clean_words = dump(args.data / f"{args.split}.jsonl.gz", args.docs, args.out, args.threshold, args.candidates, args.floor,
                       args.pair_floor)
    report(args.out, clean_words)
    return 0


if __name__ == "__main__":
    sys.exit(main())
