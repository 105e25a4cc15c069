"""Calibrate the rewriter's keep margin and neighbour weight at the level users see: the whole
pipeline on dev splits.

The rewriter's decision settings were tuned on oracle spans of whole dev documents (the rewriter
card). Behind the real detector, and in single sentences with one spun term (the term sets), a
candidate that beats "keep" by a small margin is often a wrong rewrite; and the model's log-prob
hardly knows the originals the training spinners never used, where the thesaurus neighbours' own
ranking in context does (``neighbour_weight``). Each setting of the grid (keep margin x neighbour
weight) runs the whole pipeline (detector + rewriter) on an equal sample of every domain of each
split, spun texts and their clean originals, as ``calibrate_terms.py`` does; detection and candidate
scoring run once per text, and each setting only weighs and decides again. The rule, precision first:
among settings that keep every domain's clean text at or under ``--limit`` words changed per 1,000
(and with ``--hold-precision`` every split's edit precision within ``--tie`` of the settings as loaded,
and a mean F0.5 no lower than theirs),
the most reserved one (highest keep margin, then lowest neighbour weight) whose mean edit F0.5 over
the splits is within ``--tie`` of the best.

    python scripts/calibrate_decide.py [--margins 4 5 6] [--neighbour-weights 0 2 4] [--neighbour-ranks-only] [--hold-precision] [--save]

``--save`` writes the chosen settings (and ``--neighbour-ranks-only``) into the rewriter's ``decide``.
Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import itertools
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
    parser.add_argument("--neighbour-weights", nargs="+", type=float, default=None,
                        help="neighbour weights to try (default: the rewriter's own)")
    parser.add_argument("--neighbour-ranks-only", action="store_true",
                        help="the neighbour weight chooses among candidates but never counts against keep")
    parser.add_argument("--hold-precision", action="store_true",
                        help="precision first: a setting must keep every split's edit precision within --tie of "
                             "the rewriter's settings as loaded (measured first, as the reference), and no lower "
                             "mean F0.5")
    parser.add_argument("--tie", type=float, default=0.005, help="mean F0.5 differences this small count as level")
    parser.add_argument("--json", type=Path, default=Path("runs/calibration-decide.json"))
    parser.add_argument("--save", action="store_true")
    return parser.parse_args(argv)


def remember(component, name: str, then=None) -> None:
    """``component.name`` answers a repeated call from memory (passed through ``then``, if given):
    every setting of the grid detects and scores the same texts, and only the decision differs."""
    method, memory = getattr(component, name), {}

    def remembered(text, *rest):
        key = (text, *(tuple(r) if isinstance(r, list) else r for r in rest))
        if key not in memory:
            memory[key] = method(text, *rest)
        return then(memory[key]) if then else memory[key]

    setattr(component, name, remembered)


def measure_row(repairer, samples) -> dict:
    """``measure`` with the mean edit F0.5 over the splits beside it."""
    row = measure(repairer, samples)
    row["mean_f0.5"] = sum(f["f0.5"] for f in row["splits"].values()) / len(row["splits"])
    return row


def split_figures(row: dict) -> str:
    return "  ".join(f"{s} F0.5 {f['f0.5']:.3f} P {f['precision']:.3f}" for s, f in row["splits"].items())


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, save_component_config
    from repair.repairer import Repairer

    samples = sample_specs(args.splits, args.per_domain)
    repairer = Repairer.from_pretrained(args.model_dir)
    rewriter = repairer.rewriter
    remember(repairer.detector, "detect")
    remember(rewriter, "score_spans", then=lambda decisions: [d.rescored(rewriter.decide) for d in decisions])
    reference = measure_row(repairer, samples) if args.hold_precision else None
    if reference:
        print(f"reference (as loaded): mean F0.5 {reference['mean_f0.5']:.3f}  {split_figures(reference)}", flush=True)
    if args.neighbour_ranks_only:
        rewriter.decide = replace(rewriter.decide, neighbour_beats_keep=False)
    decide = rewriter.decide
    rows = []
    for weight, margin in itertools.product(args.neighbour_weights or [decide.neighbour_weight], sorted(args.margins)):
        setting = {"keep_margin": margin, "neighbour_weight": weight}
        rewriter.decide = replace(decide, **setting)
        row = measure_row(repairer, samples)
        rows.append((setting, row))
        print(f"{label(setting)}: mean F0.5 {row['mean_f0.5']:.3f}  {split_figures(row)}  | clean per 1,000 by domain "
              f"{row['clean_per_1k']}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([{**s, "neighbour_beats_keep": decide.neighbour_beats_keep, **r} for s, r in rows],
                                    indent=2) + "\n", encoding="utf-8")

    def holds_precision(row: dict) -> bool:
        """No split's edit precision below the settings as loaded, and no lower mean F0.5 either: the tie
        band below the best must not reach under what is shipped."""
        if not reference:
            return True
        return row["mean_f0.5"] >= reference["mean_f0.5"] and all(
            row["splits"][split]["precision"] >= figures["precision"] - args.tie
            for split, figures in reference["splits"].items())

    within = [(s, r) for s, r in rows if max(r["clean_per_1k"].values()) <= args.limit and holds_precision(r)]
    if not within:
        print(f"no setting keeps every domain at or under {args.limit:g} per 1,000"
              + (" and every split's edit precision" if reference else ""), file=sys.stderr)
        return 1
    best = max(r["mean_f0.5"] for _, r in within)
    chosen = max((s for s, r in within if r["mean_f0.5"] >= best - args.tie),
                 key=lambda s: (s["keep_margin"], -s["neighbour_weight"]))
    print(f"chosen: {label(chosen)} (the most reserved within {args.tie:g} of the best mean F0.5 {best:.3f}, "
          f"every domain at or under {args.limit:g} clean words changed per 1,000"
          + (", every split's edit precision held)" if reference else ")"))
    if args.save:
        models = Path(args.model_dir or default_model_dir())
        folder = save_component_config(models / "rewriter", {"decide": {**asdict(decide), **chosen}})
        print(f"saved {label(chosen)} into {folder / 'component.json'}")
    return 0


def label(setting: dict) -> str:
    return f"keep margin {setting['keep_margin']:g}, neighbour weight {setting['neighbour_weight']:g}"


if __name__ == "__main__":
    sys.exit(main())
