"""Calibrate the rewriter's keep margin at the level users see: the whole pipeline on dev splits.

The rewriter's decision settings were tuned on oracle spans of whole dev documents (the rewriter
card). Behind the real detector, and in single sentences with one spun term (the term sets), a
candidate that beats "keep" by a small margin is often a wrong rewrite. Each ``keep_margin`` of the
grid runs the whole pipeline (detector + rewriter) on an equal sample of every domain of each split,
spun texts and their clean originals, as ``calibrate_terms.py`` does; detection and candidate scoring
run once per text, and each margin only decides again. The rule, precision first: among margins that
keep every domain's clean text at or under ``--limit`` words changed per 1,000, the highest margin
whose mean edit F0.5 over the splits is within ``--tie`` of the best.

    python scripts/calibrate_decide.py [--margins 4 5 6 8] [--save]

``--save`` writes the chosen ``keep_margin`` into the rewriter's ``decide``.
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

from calibrate_threshold import add_pipeline_arguments, measure, sample_specs  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_pipeline_arguments(parser)
    parser.add_argument("--margins", nargs="+", type=float, default=[4.0, 5.0, 6.0, 8.0])
    parser.add_argument("--tie", type=float, default=0.005, help="mean F0.5 differences this small count as level")
    parser.add_argument("--json", type=Path, default=Path("runs/calibration-decide.json"))
    parser.add_argument("--save", action="store_true")
    return parser.parse_args(argv)


def remember(component, name: str) -> None:
    """``component.name`` answers a repeated call from memory: every setting of the grid detects and
    scores the same texts, and only the decision differs."""
    method, memory = getattr(component, name), {}

    def remembered(text, *rest):
        key = (text, *(tuple(r) if isinstance(r, list) else r for r in rest))
        if key not in memory:
            memory[key] = method(text, *rest)
        return memory[key]

    setattr(component, name, remembered)


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, save_component_config
    from repair.repairer import Repairer

    samples = sample_specs(args.splits, args.per_domain)
    repairer = Repairer.from_pretrained(args.model_dir)
    remember(repairer.detector, "detect")
    remember(repairer.rewriter, "score_spans")
    decide = repairer.rewriter.decide
    rows = []
    for margin in sorted(args.margins):
        repairer.rewriter.decide = replace(decide, keep_margin=margin)
        row = measure(repairer, samples)
        row["mean_f0.5"] = sum(f["f0.5"] for f in row["splits"].values()) / len(row["splits"])
        rows.append((margin, row))
        splits = "  ".join(f"{s} F0.5 {f['f0.5']:.3f} P {f['precision']:.3f}" for s, f in row["splits"].items())
        print(f"keep margin {margin:g}: mean F0.5 {row['mean_f0.5']:.3f}  {splits}  | clean per 1,000 by domain "
              f"{row['clean_per_1k']}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([{"keep_margin": m, **r} for m, r in rows], indent=2) + "\n", encoding="utf-8")

    within = [(m, r) for m, r in rows if max(r["clean_per_1k"].values()) <= args.limit]
    if not within:
        print(f"no keep margin keeps every domain at or under {args.limit:g} per 1,000", file=sys.stderr)
        return 1
    best = max(r["mean_f0.5"] for _, r in within)
    margin = max(m for m, r in within if r["mean_f0.5"] >= best - args.tie)
    print(f"chosen: keep margin {margin:g} (the highest within {args.tie:g} of the best mean F0.5 {best:.3f}, "
          f"every domain at or under {args.limit:g} clean words changed per 1,000)")
    if args.save:
        models = Path(args.model_dir or default_model_dir())
        folder = save_component_config(models / "rewriter", {"decide": {**asdict(decide), "keep_margin": margin}})
        print(f"saved keep_margin {margin:g} into {folder / 'component.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
