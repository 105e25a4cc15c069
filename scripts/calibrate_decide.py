"""Calibrate the rewriter's keep margins at the level users see: the whole pipeline on dev splits.

The rewriter's decision settings were tuned on oracle spans of whole dev documents (the rewriter
card). Behind the real detector, and in single sentences with one spun term (the term sets), a
candidate that beats "keep" by a small margin is often a wrong rewrite, while the keep class also
vetoes many spans the detector is sure of. The grid crosses ``keep_margin`` with ``sure_margin``
(the smaller margin for spans the detector scores at ``sure_score`` or more; "off" = none) on an
equal sample of every domain of each split, spun texts and their clean originals, as
``calibrate_terms.py`` does. Detection and candidate scoring run once per text; each setting only
decides again. The rule, precision first: among settings that keep every domain's clean text at or
under ``--limit`` words changed per 1,000, the most reserved one (highest keep margin, then sure
margin, then sure score) whose mean edit F0.5 over the splits is within ``--tie`` of the best.

    python scripts/calibrate_decide.py [--margins 4 5 6] [--sure-margins off 2 3] [--sure-scores 0.9] [--save]

``--save`` writes the chosen margins into the rewriter's ``decide``.
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


def sure_margin(text: str) -> float | None:
    return None if text == "off" else float(text)


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_pipeline_arguments(parser)
    parser.add_argument("--margins", nargs="+", type=float, default=[4.0, 5.0, 6.0, 8.0])
    parser.add_argument("--sure-margins", nargs="+", type=sure_margin, default=[None],
                        help="margins for spans the detector is sure of ('off': keep_margin for every span)")
    parser.add_argument("--sure-scores", nargs="+", type=float, default=[0.9])
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


def settings_grid(args) -> list[dict]:
    """Each setting once: the sure score means nothing while the sure margin is off or not below the keep margin."""
    grid = {}
    for margin, sure, score in itertools.product(sorted(args.margins), args.sure_margins, sorted(args.sure_scores)):
        if sure is None or sure >= margin:
            grid[(margin, None, None)] = {"keep_margin": margin, "sure_margin": None}
        else:
            grid[(margin, sure, score)] = {"keep_margin": margin, "sure_margin": sure, "sure_score": score}
    return list(grid.values())


def reserve(setting: dict) -> tuple:
    """Order of caution: a higher keep margin, then a higher (or no) sure margin, then a higher sure score."""
    sure = setting["sure_margin"]
    return (setting["keep_margin"], setting["keep_margin"] if sure is None else sure, setting.get("sure_score", 1.0))


def label(setting: dict) -> str:
    sure = setting["sure_margin"]
    return f"keep margin {setting['keep_margin']:g}" + ("" if sure is None else
                                                        f", {sure:g} at spin >= {setting['sure_score']:g}")


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
    for setting in settings_grid(args):
        repairer.rewriter.decide = replace(decide, **setting)
        row = measure(repairer, samples)
        row["mean_f0.5"] = sum(f["f0.5"] for f in row["splits"].values()) / len(row["splits"])
        rows.append((setting, row))
        splits = "  ".join(f"{s} F0.5 {f['f0.5']:.3f} P {f['precision']:.3f}" for s, f in row["splits"].items())
        print(f"{label(setting)}: mean F0.5 {row['mean_f0.5']:.3f}  {splits}  | clean per 1,000 by domain "
              f"{row['clean_per_1k']}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([{**s, **r} for s, r in rows], indent=2) + "\n", encoding="utf-8")

    within = [(s, r) for s, r in rows if max(r["clean_per_1k"].values()) <= args.limit]
    if not within:
        print(f"no setting keeps every domain at or under {args.limit:g} per 1,000", file=sys.stderr)
        return 1
    best = max(r["mean_f0.5"] for _, r in within)
    chosen = max((s for s, r in within if r["mean_f0.5"] >= best - args.tie), key=reserve)
    print(f"chosen: {label(chosen)} (the most reserved within {args.tie:g} of the best mean F0.5 {best:.3f}, "
          f"every domain at or under {args.limit:g} clean words changed per 1,000)")
    if args.save:
        models = Path(args.model_dir or default_model_dir())
        folder = save_component_config(models / "rewriter", {"decide": {**asdict(decide), **chosen}})
        print(f"saved {label(chosen)} into {folder / 'component.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
