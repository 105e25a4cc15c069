"""Where ``--verify lm`` loses each spun phrase: the stage that stops a gold edit of one or two words.

For every gold edit of one or two words (one word swapped, or a term swapped word by word), in
order of the pipeline:

  tagger        the tagger flags it itself (nothing for the verifier to do)
  never read    a word of it is below the verifier's floor ("below floor"), or too short, or has no
                thesaurus neighbour ("other")
  no original   read, but the original is not among the candidates the LM compares
  gain too low  the original was read but did not make the text ``min_gain`` nats more probable
  admitted      the LM admits it (with the original, or with another candidate: "admitted, other")

    python scripts/measure_verify.py --split dev-heldout --docs 60          # a split of ours
    python scripts/measure_verify.py --pairs ../shared/eval/tortured-phrases.gold.jsonl --limit 300   # measure only

Pairs are read as the verifier reads them (both words together). Counted before the pair margin
and overlaps are resolved, so "admitted" is what the LM would accept, an upper bound on what the
pipeline changes.
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = ("tagger", "never read: below floor", "never read: other", "no original", "gain too low",
          "admitted, other", "admitted")


def split_records(path: Path, docs: int):
    """(text, [(start, end, original)]) per document of a corpus split, side-by-side swaps joined."""
    from measure_candidates import joined_word_edits  # a script beside this one

    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    random.Random(1).shuffle(rows)
    for row in rows[:docs]:
        yield row["spun"], [(start, end, original) for start, end, _, original in joined_word_edits(row)]


def gold_records(path: Path, limit: int | None):
    for line in itertools.islice(open(path, encoding="utf-8"), limit):
        row = json.loads(line)
        yield row["spun"], [(e["start"], e["end"], e["gold"]) for e in row["edits"]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--split", default="dev-heldout")
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--pairs", type=Path, default=None, help="a gold file with edits (the shared format) instead")
    parser.add_argument("--limit", type=int, default=None, help="only the first N records of --pairs")
    parser.add_argument("--model", type=Path, default=Path("models/detector"))
    args = parser.parse_args(argv)

    import torch

    from repair.detect import TaggerDetector
    from repair.rerank import load_reranker
    from repair.verify import LMVerifiedDetector

    torch.set_num_threads(2)
    tagger = TaggerDetector.from_pretrained(args.model)
    threshold = json.loads((args.model / "component.json").read_text())["threshold"]
    verifier = LMVerifiedDetector(tagger, load_reranker("lm"), None)
    settings = verifier.settings
    records = gold_records(args.pairs, args.limit) if args.pairs else split_records(
        args.data / f"{args.split}.jsonl.gz", args.docs)
    counts = {1: Counter(), 2: Counter()}
    pair_spins = Counter()  # two-word edits by how many of their words the tagger scored at the floor
    for text, edits in records:
        edits = [(s, e, o) for s, e, o in edits if len(text[s:e].split()) == len(o.split()) in (1, 2)]
        if not edits:
            continue
        scores = tagger.word_scores_many([text])[0]
        spans = tagger.spans(text, scores, threshold)
        stretches = {(st[0].start, st[-1].end): st for st in verifier.unsure_stretches(text, scores, spans)}
        wanted = [stretches[(s, e)] for s, e, _ in edits if (s, e) in stretches]
        readings = {(r.start, r.end): r for r in verifier.read(text, wanted, settings.originals)}
        for start, end, original in edits:
            size = len(original.split())
            reading = readings.get((start, end))
            spins = sorted(w.spin for w in scores if start <= w.start and w.end <= end)
            if size == 2 and len(spins) == 2:
                pair_spins[sum(x >= settings.floor for x in spins)] += 1
                pair_spins["higher >= 0.02"] += spins[1] >= 0.02
            if any(s.start < end and start < s.end for s in spans):
                stage = "tagger"
            elif reading is None:
                stage = "never read: below floor" if min(spins, default=0) < settings.floor else "never read: other"
            elif original.lower() not in [c.lower() for c in reading.ranked]:
                stage = "admitted, other" if reading.gain >= settings.min_gain else "no original"
            else:
                stage = "admitted" if reading.gain >= settings.min_gain else "gain too low"
            counts[size][stage] += 1
    print(f"{'stage':<24}{'one word':>12}{'two words':>12}")
    for stage in STAGES:
        print(f"{stage:<24}" + "".join(f"{counts[n][stage]:>6} {counts[n][stage] / max(sum(counts[n].values()), 1):>5.0%}"
                                      for n in (1, 2)))
    print(f"{'edits':<24}{sum(counts[1].values()):>12}{sum(counts[2].values()):>12}")
    print(f"two-word edits with both words at the floor ({settings.floor:g}): {pair_spins[2]}, one: {pair_spins[1]}, "
          f"neither: {pair_spins[0]}; the higher word at 0.02 or more: {pair_spins['higher >= 0.02']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
