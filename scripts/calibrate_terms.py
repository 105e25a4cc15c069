"""Calibrate the detector's term images (``repair.terms``) on dev splits, at the level users see.

Each candidate setting (and "off"), with a weight for the rewriter to give the term's own image
(``DecideConfig.term_image_weight``: the rewriter cannot see the term evidence), runs the whole
pipeline (detector + rewriter) on an equal sample of every domain of each split, spun texts and
their clean originals, as ``calibrate_threshold.py`` does. Dev bounds the stage's cost but can
hardly show its gain: the synthetic splits, term splits included, hold few swaps of terms the tables
know (see the detector card, stop 34). So the rule is a cost bound, not a gain search: a setting is
admissible when no domain's clean text has more than ``--limit`` words changed per 1,000 and no
split's edit F0.5 falls more than ``--tie`` below "off";
the first admissible setting of the grid after "off" (the grid runs strictest first) is chosen.
Whether to ship it at all is then the held-out figures' call (``scripts/eval_all.py``).

    python scripts/calibrate_terms.py --splits data/dev data/dev-heldout data-term/dev data-term/dev-heldout [--save]

The term splits come from the term spinner's build (``build_data.py --out data-term --profiles
clean=0.3,term=0.7 --domains technical,science``): terms spun word by word, as paper mills do.
``--save`` writes the chosen ``term_images`` into the detector's component.json and the weight into
the rewriter's ``decide``.
Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_threshold import measure, sample  # noqa: E402
from repair.terms import TermImages, TermSettings  # noqa: E402

# (term settings, the rewriter's weight for a term's image), strictest first: on a tie the earlier one wins
T = TermSettings
GRID = (
    (None, 0.0),
    (T(min_strength=-1.0, min_spin=0.02), 4.0),
    (T(min_strength=-1.0, min_spin=0.02), 8.0),
    (T(min_strength=-1.3, min_spin=0.02), 8.0),
    (T(min_strength=-1.0, min_spin=0.02), 12.0),
    (T(min_strength=-1.6, min_spin=0.02), 8.0),
    (T(min_strength=-1.3, min_spin=0.02, both_min_strength=-1.0), 8.0),
    (T(min_strength=-1.3, min_spin=0.01), 8.0),
    (T(min_strength=-1.6, min_zipf_gain=-9.0, min_spin=0.02), 8.0),
)


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="+", type=Path,
                        default=[Path(p) for p in ("data/dev", "data/dev-heldout", "data-term/dev", "data-term/dev-heldout")],
                        help="DATA_DIR/SPLIT, each read from DATA_DIR/SPLIT.jsonl.gz")
    parser.add_argument("--per-domain", type=int, default=40, help="first N documents of each domain, per split")
    parser.add_argument("--limit", type=float, default=2.0, help="clean words changed per 1,000, in every domain")
    parser.add_argument("--tie", type=float, default=0.005, help="the most edit F0.5 a setting may lose against off, on any split")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=Path("runs/calibration-terms.json"))
    parser.add_argument("--save", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, save_component_config
    from repair.repairer import Repairer

    samples = {str(split): sample(split.parent, split.name, args.per_domain) for split in args.splits}
    repairer = Repairer.from_pretrained(args.model_dir)
    lexicon = repairer.detector.features.lexicon
    decide = repairer.rewriter.decide
    rows = []
    for settings, weight in GRID:
        repairer.detector.terms = TermImages(lexicon, settings) if settings else None
        repairer.rewriter.decide = replace(decide, term_image_weight=weight)
        row = measure(repairer, samples)
        rows.append(((settings, weight), row))
        label = f"{settings.signature} image weight {weight:g}" if settings else "off"
        splits = "  ".join(f"{s} F0.5 {f['f0.5']:.3f} P {f['precision']:.3f} R(det) {f['detection_recall']:.3f}"
                           for s, f in row["splits"].items())
        print(f"{label}: {splits}  | clean per 1,000 by domain {row['clean_per_1k']}", flush=True)

    off = rows[0][1]

    def admissible(row):
        return (max(row["clean_per_1k"].values()) <= args.limit
                and all(f["f0.5"] >= off["splits"][name]["f0.5"] - args.tie for name, f in row["splits"].items()))

    chosen = next((setting for setting, row in rows[1:] if admissible(row)), None)
    if chosen is None:
        print(f"no setting stays within {args.tie:g} F0.5 of off on every split with every domain at or under "
              f"{args.limit:g} per 1,000", file=sys.stderr)
        return 1
    chosen, weight = chosen
    print(f"chosen: {chosen.signature}, image weight {weight:g} (the strictest setting within {args.tie:g} F0.5 "
          f"of off on every split, every domain at or under {args.limit:g} clean words changed per 1,000)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([{"settings": asdict(s) if s else None, "term_image_weight": w, **r}
                                     for (s, w), r in rows], indent=2) + "\n", encoding="utf-8")
    if args.save:
        models = Path(args.model_dir or default_model_dir())
        folder = save_component_config(models / "detector", {"term_images": asdict(chosen)})
        print(f"saved term_images {asdict(chosen)} into {folder / 'component.json'}")
        folder = save_component_config(models / "rewriter", {"decide": {**asdict(decide), "term_image_weight": weight}})
        print(f"saved term_image_weight {weight:g} into {folder / 'component.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
