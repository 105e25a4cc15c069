"""Fit the rewriter's vetting model (``repair.vet``) and choose its threshold at the level users see.

The whole pipeline (detector + rewriter, decisions as shipped up to the test against keeping a span) runs
once on an equal sample of every domain of each dev split, spun texts and their clean originals, as
``calibrate_decide.py`` does. Every candidate the rewriter would write (``repair.rewrite.candidate_picks``)
becomes one example: its evidence (``repair.vet.FEATURES``) and whether it restores the original words of
its span (a candidate in a clean text never does). A logistic model is fitted on them, each split weighing
the same (the dev documents would otherwise outnumber the single-sentence term sets ten to one). Then each
threshold of the grid decides again, and the pipeline's figures are measured as the other calibrations
measure them. The rule, precision first: a threshold is admissible when it keeps every domain's clean text
at or under ``--limit`` words changed per 1,000, every split's edit precision within ``--tie`` of the shipped
decision's (the keep margin; with ``--reference``, the shipped models' row of an earlier run) or above, and the
mean edit F0.5 over the splits no lower than that decision's; among those, the highest whose mean F0.5 is within
``--tie`` of the best. None admissible: nothing is chosen, and the keep margin stays.

    python scripts/calibrate_vet.py [--splits ...] [--thresholds 0.2 0.25 0.3 0.35 0.4] [--model-dir D]
        [--reference runs/calibration-vet-base.json] [--save]

``--save`` writes the model and the chosen threshold into the rewriter's ``decide.vet``. ``--features`` fits on a
subset of ``repair.vet.FEATURES`` (the model names what it read); ``--hold-to-folder`` holds the fit to the folder's
own decision (its shipped vetting model) measured in the same run, instead of to the keep margin.

``--fit-splits`` fits on other samples than ``--splits`` measure (``:N+SKIP`` passes over the documents they read),
so that the threshold is chosen out of sample.

``--term`` fits ``decide.vet_term`` on the term images' spans alone in the same way; without it ``decide.vet`` judges
them too, which is the reference.

``--unsure`` fits the second model instead, ``decide.vet_unsure``, for the spans the detector's ``unsure_spans``
setting adds (words under the tagger's threshold, ``repair.detect.UnsureSpans``; the model folder's detector must
have it). Only those spans' candidates are examples, every other decision stays as the folder ships it, and the
reference is that pipeline as shipped, in which no unsure span is ever rewritten: measured in the same run.

Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_decide import measure_row, remember, split_figures  # noqa: E402
from calibrate_threshold import add_pipeline_arguments, sample_specs  # noqa: E402
from repair.edits import UNSURE_SOURCE, WORD  # noqa: E402

SPLITS = ["data/dev", "data/dev-heldout", "data/dev-terms:100", "data/dev-heldout-terms:100",
          "data/dev-paper-terms:100", "data/dev-wnterms:100"]


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_pipeline_arguments(parser)
    parser.set_defaults(splits=SPLITS)
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.2, 0.25, 0.3, 0.35, 0.4])
    parser.add_argument("--l2", type=float, default=1.0, help="ridge penalty on the standardised weights")
    parser.add_argument("--tie", type=float, default=0.005)
    parser.add_argument("--reference", type=Path, default=None,
                        help="an earlier calibration's JSON whose shipped row is the reference (a rewriter trained "
                             "anew is held to the shipped models' figures, not to its own keep margin's)")
    parser.add_argument("--hold-to-folder", action="store_true",
                        help="the reference is the model folder's decision as it ships (its vetting model, if any), "
                             "measured in the same run on the same sample: a new feature set is held to the shipped one")
    parser.add_argument("--unsure", action="store_true",
                        help="fit decide.vet_unsure on the detector's unsure spans alone, the rest as shipped")
    parser.add_argument("--term", action="store_true",
                        help="fit decide.vet_term on the term images' spans alone, the rest as shipped (without it "
                             "decide.vet judges them too)")
    parser.add_argument("--fit-splits", nargs="+", default=None,
                        help="fit on these samples (DATA_DIR/SPLIT[:N[+SKIP]]) instead of --splits, which then only measure")
    parser.add_argument("--features", nargs="+", default=None,
                        help="fit on these of repair.vet.FEATURES only (default: all)")
    parser.add_argument("--json", type=Path, default=Path("runs/calibration-vet.json"))
    parser.add_argument("--save", action="store_true")
    return parser.parse_args(argv)


def original_words(pair, start: int, end: int) -> str | None:
    """What ``pair.spun[start:end]`` was in the original: the gold edit's words where the span is one
    gold edit or whole words of one that kept its word count; "" where the span only partly meets a gold
    edit (no candidate restores that); None where the span touches no gold edit (the words were not spun)."""
    for gold in pair.edits:
        if not (gold.start < end and start < gold.end):
            continue
        if (gold.start, gold.end) == (start, end):
            return gold.gold
        if gold.start <= start and end <= gold.end:
            spun_words = [m.span() for m in WORD.finditer(pair.spun, gold.start, gold.end)]
            gold_words = WORD.findall(gold.gold)
            inside = [i for i, (a, b) in enumerate(spun_words) if start <= a and b <= end]
            if len(spun_words) == len(gold_words) and inside:
                return " ".join(gold_words[i] for i in inside)
        return ""
    return None


def examples(repairer, samples: dict, sources=None) -> tuple[list, list, list]:
    """(features, restores the original, split) of every candidate the rewriter would write (of a span from
    one of ``sources``, when given)."""
    from repair.rewrite import candidate_picks
    from repair.vet import features

    rewriter = repairer.rewriter
    rows, labels, splits = [], [], []
    for split, items in samples.items():
        for _, pair in items:
            for text, clean in ((pair.spun, False), (pair.original, True)):
                for block in repairer.blocks(text):
                    spans = [s for s in repairer._detect_block(block.text) if block.text[s.start:s.end].strip()]
                    if not spans:
                        continue
                    for candidate in candidate_picks(rewriter.score_spans(block.text, spans), rewriter.decide):
                        span = candidate.decision.span
                        if sources is not None and span.source not in sources:
                            continue
                        wanted = None if clean else original_words(pair, block.start + span.start, block.start + span.end)
                        rows.append(features(candidate))
                        labels.append(bool(wanted) and wanted.lower() == candidate.pick.text.lower())
                        splits.append(split)
    return rows, labels, splits


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, save_component_config
    from repair.repairer import Repairer
    from repair.vet import FEATURES, fit

    # a misspelt feature is refused before the sample is run, not after
    names = tuple(args.features or FEATURES)
    unknown = sorted(set(names) - set(FEATURES))
    if unknown:
        print(f"unknown vetting features {unknown}; this version computes {list(FEATURES)}", file=sys.stderr)
        return 2
    samples = sample_specs(args.splits, args.per_domain)
    repairer = Repairer.from_pretrained(args.model_dir)
    rewriter = repairer.rewriter
    if args.unsure and args.term:
        print("--unsure and --term each fit a model of their own: one at a time", file=sys.stderr)
        return 2
    field = "vet_unsure" if args.unsure else "vet_term" if args.term else "vet"
    if args.unsure and "unsure" not in getattr(repairer.detector, "signature_settings", {}):
        print(f"the detector in {args.model_dir or default_model_dir()} adds no unsure spans (unsure_spans)",
              file=sys.stderr)
        return 2
    shipped = replace(rewriter.decide, **{field: None})
    remember(repairer.detector, "detect")
    remember(rewriter, "score_spans", then=lambda decisions: [d.rescored(rewriter.decide) for d in decisions])
    folder_row = measure_row(repairer, samples) if args.hold_to_folder else None
    rewriter.decide = shipped

    sources = {UNSURE_SOURCE} if args.unsure else {shipped.vet_term_source} if args.term else None
    fit_samples = sample_specs(args.fit_splits, args.per_domain) if args.fit_splits else samples
    rows, labels, splits = examples(repairer, fit_samples, sources=sources)
    per_split = Counter(splits)
    weights = [len(splits) / (len(per_split) * per_split[s]) for s in splits]
    print(f"{len(rows)} candidates, {sum(labels)} restore their original; by split {dict(per_split)}", flush=True)
    columns = [FEATURES.index(name) for name in names]
    model = replace(fit([[row[c] for c in columns] for row in rows], labels, weights, l2=args.l2), names=names)

    reference = measure_row(repairer, samples)
    before = ("as shipped, no unsure span rewritten" if args.unsure else "as shipped, decide.vet judging term spans too"
              if args.term else f"keep margin {shipped.keep_margin:g}")
    print(f"{before}: mean F0.5 {reference['mean_f0.5']:.3f}  "
          f"{split_figures(reference)}  | clean per 1,000 by domain {reference['clean_per_1k']}", flush=True)
    if args.reference:
        reference = json.loads(args.reference.read_text(encoding="utf-8"))["shipped"]
        print(f"reference ({args.reference}): mean F0.5 {reference['mean_f0.5']:.3f}  {split_figures(reference)}",
              flush=True)
    elif folder_row is not None:
        reference = folder_row
        print(f"reference (the folder as it ships): mean F0.5 {reference['mean_f0.5']:.3f}  {split_figures(reference)}"
              f"  | clean per 1,000 by domain {reference['clean_per_1k']}", flush=True)
    results = []
    for threshold in sorted(args.thresholds):
        vetting = replace(model, threshold=threshold)
        rewriter.decide = replace(shipped, **{field: vetting.to_config()})
        row = measure_row(repairer, samples)
        results.append((threshold, row))
        print(f"vet >= {threshold:g}: mean F0.5 {row['mean_f0.5']:.3f}  {split_figures(row)}  | clean per 1,000 by "
              f"domain {row['clean_per_1k']}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"shipped": reference, "model": replace(model, threshold=0.0).to_config(),
                                     "examples": len(rows), "restoring": sum(labels),
                                     "fitted_on": args.fit_splits or args.splits,
                                     "thresholds": [{"threshold": t, **r} for t, r in results]}, indent=2) + "\n",
                         encoding="utf-8")

    def admissible(row: dict) -> bool:
        return max(row["clean_per_1k"].values()) <= args.limit and row["mean_f0.5"] >= reference["mean_f0.5"] and all(
            row["splits"][split]["precision"] >= figures["precision"] - args.tie
            for split, figures in reference["splits"].items())

    within = [(t, r) for t, r in results if admissible(r)]
    if not within:
        print("no threshold holds every split's precision, the mean F0.5 and the clean limit of the shipped decision; "
              "nothing chosen")
        return 1
    best = max(r["mean_f0.5"] for _, r in within)
    chosen = max(t for t, r in within if r["mean_f0.5"] >= best - args.tie)
    print(f"chosen: vet >= {chosen:g} (the highest within {args.tie:g} of the best mean F0.5 {best:.3f})")
    if args.save:
        models = Path(args.model_dir or default_model_dir())
        decide = json.loads((models / "rewriter" / "component.json").read_text(encoding="utf-8"))["decide"]
        folder = save_component_config(models / "rewriter",
                                       {"decide": {**decide, field: replace(model, threshold=chosen).to_config()}})
        print(f"saved the vetting model at {chosen:g} into {folder / 'component.json'} ({field})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
