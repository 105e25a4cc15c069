"""Choose the detector's ordinary threshold at the level users see: the whole pipeline.

``calibrate_detector.py`` limits the words the *tagger* flags; but the rewriter keeps most flagged
words that need no change, so what reaches a user's text is fewer. This script runs the whole
pipeline (detector + rewriter) at each threshold on an equal sample of every domain of the dev
splits, spun texts and their clean originals, and prints edit F0.5 per split and clean words
changed per 1,000 per domain. Rule (precision first): among the thresholds at which no domain's
clean text has more than ``--limit`` words changed per 1,000, the best mean F0.5 over the splits;
thresholds within ``--tie`` of it count as level, and the highest of those is chosen, because a lower
threshold that scores no better still changes more clean words.

    python scripts/calibrate_threshold.py --data data --per-domain 30 --thresholds 0.65 0.5 0.45 0.4 [--save]

``--save`` writes the chosen ``threshold`` into the detector's component.json (the document gate
stays as ``calibrate_detector.py`` set it). Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repair.evaluate import clean_damage, pair_from_dict, run_repairer, score_outputs  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--splits", nargs="+", default=["dev", "dev-heldout"])
    parser.add_argument("--per-domain", type=int, default=30, help="first N documents of each domain, per split")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.65, 0.5, 0.45, 0.4])
    parser.add_argument("--limit", type=float, default=2.0, help="clean words changed per 1,000, in every domain")
    parser.add_argument("--tie", type=float, default=0.005, help="mean F0.5 differences this small are level")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--save", action="store_true")
    return parser.parse_args(argv)


def sample(data: Path, split: str, per_domain: int, skip: int = 0) -> list[tuple[str, object]]:
    """(domain, pair) for the first ``per_domain`` documents of each domain of ``split`` after its first ``skip``."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    with gzip.open(data / f"{split}.jsonl.gz", "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            record = json.loads(line)
            seen[record["domain"]] += 1
            if skip < seen[record["domain"]] <= skip + per_domain:
                out.append((record["domain"], pair_from_dict(record, str(number))))
    return out


PIPELINE_SPLITS = ["data/dev", "data/dev-heldout", "data/dev-terms:100", "data/dev-heldout-terms:100"]


def add_pipeline_arguments(parser) -> None:
    """The sample, damage limit and model options of the scripts that calibrate the whole pipeline
    over ``sample_specs`` (calibrate_terms.py, calibrate_decide.py)."""
    parser.add_argument("--splits", nargs="+", default=PIPELINE_SPLITS,
                        help="DATA_DIR/SPLIT[:N], each read from DATA_DIR/SPLIT.jsonl.gz (N: documents per domain)")
    parser.add_argument("--per-domain", type=int, default=40, help="first N documents of each domain, per split")
    parser.add_argument("--limit", type=float, default=2.0, help="clean words changed per 1,000, in every domain")
    parser.add_argument("--model-dir", type=Path, default=None)


def sample_specs(specs: list[str], per_domain: int) -> dict[str, list[tuple[str, object]]]:
    """``sample`` for each ``DATA_DIR/SPLIT[:N[+SKIP]]`` (N: documents per domain, else ``per_domain``; SKIP: the
    documents per domain passed over first, so that a model can be fitted on others than the calibration reads), by
    name."""
    samples = {}
    for spec in specs:
        name, _, size = spec.partition(":")
        size, _, skip = size.partition("+")
        samples[name] = sample(Path(name).parent, Path(name).name, int(size) if size else per_domain, int(skip or 0))
    return samples


def measure(repairer, samples: dict[str, list]) -> dict:
    """Per split: F0.5 and edit precision; per domain (all splits): clean words changed per 1,000."""
    row: dict = {"splits": {}, "clean_per_1k": {}}
    changed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for split, items in samples.items():
        pairs = [p for _, p in items]
        outputs = run_repairer(repairer, pairs)
        figures = score_outputs(pairs, outputs).to_dict()
        row["splits"][split] = {k: figures[k] for k in ("f0.5", "precision", "detection_recall",
                                                        "clean_words_changed_per_1k")}
        for (domain, pair), repaired in zip(items, outputs.repaired_original):
            damage = clean_damage(pair.original, repaired)
            changed[domain][0] += damage.changed
            changed[domain][1] += damage.tokens
    row["clean_per_1k"] = {d: round(1000 * c / t, 2) for d, (c, t) in sorted(changed.items()) if t}
    return row


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, save_component_config
    from repair.repairer import Repairer

    samples = {split: sample(args.data, split, args.per_domain) for split in args.splits}
    rows = {}
    for threshold in sorted(args.thresholds, reverse=True):
        rows[threshold] = measure(Repairer.from_pretrained(args.model_dir, threshold=threshold), samples)
        splits = "  ".join(f"{s} F0.5 {f['f0.5']:.3f} P {f['precision']:.3f} clean {f['clean_words_changed_per_1k']:.2f}"
                           for s, f in rows[threshold]["splits"].items())
        print(f"threshold {threshold:g}: {splits}  | clean per 1,000 by domain {rows[threshold]['clean_per_1k']}", flush=True)
    within = [t for t, row in rows.items() if max(row["clean_per_1k"].values()) <= args.limit]
    if not within:
        print(f"no threshold keeps every domain at or under {args.limit:g} per 1,000", file=sys.stderr)
        return 1

    def mean_f05(t):
        return sum(f["f0.5"] for f in rows[t]["splits"].values()) / len(rows[t]["splits"])

    best = max(mean_f05(t) for t in within)
    chosen = max(t for t in within if mean_f05(t) >= best - args.tie)
    print(f"chosen: {chosen:g} (mean F0.5 {mean_f05(chosen):.4f}, best {best:.4f}; the highest threshold within "
          f"{args.tie:g} of the best, every domain at or under {args.limit:g} clean words changed per 1,000)")
    if args.save:
        folder = save_component_config(Path(args.model_dir or default_model_dir()) / "detector", {"threshold": chosen})
        print(f"saved threshold {chosen:g} into {folder / 'component.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
