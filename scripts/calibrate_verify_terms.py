"""Choose the LM gain at which ``--verify terms`` admits a term image (``VerifySettings.term_gain``), on dev splits.

The whole pipeline runs on each split's sample (spun texts and their clean originals) without the LM and then with
``--verify terms`` at each gain; the LM's readings are cached, so a gain costs little more than the rewriter. The rule
is precision first: a gain qualifies when no split's edit precision falls below the pipeline's without the LM (by more
than ``--slack``) and no domain's clean text gets more than ``--limit`` words changed per 1,000; of those, the best mean
F0.5 wins, the higher gain on a tie.

    python scripts/calibrate_verify_terms.py --splits data/dev-paper-terms:100 data/dev-heldout-paper-terms:100 \\
        data/dev-terms:100 data/dev-heldout-terms:100 data/dev-wnterms:100 --gains 6 8 10 12 15

It writes nothing into the models (the gain is a ``VERIFY_MODES`` setting in ``repair/verify.py``); ``--out`` keeps the
figures. Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_threshold import add_pipeline_arguments, measure, sample_specs  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_pipeline_arguments(parser)  # --splits (give the term splits), --per-domain, --limit, --model-dir
    parser.add_argument("--gains", nargs="+", type=float, default=[6.0, 8.0, 10.0, 12.0, 15.0])
    parser.add_argument("--max-words", type=int, default=None, help="term_max_words (default: the mode's own)")
    parser.add_argument("--mode", choices=["terms", "lm"], default="terms",
                        help="the --verify mode whose term reading is calibrated; the reference is that mode without it")
    parser.add_argument("--slack", type=float, default=0.0, help="edit precision a split may lose")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def mean_f05(row: dict) -> float:
    return sum(f["f0.5"] for f in row["splits"].values()) / len(row["splits"])


def qualifies(row: dict, reference: dict, limit: float, slack: float) -> bool:
    precise = all((f["precision"] or 0.0) >= (reference["splits"][s]["precision"] or 0.0) - slack
                  for s, f in row["splits"].items())
    return precise and max(row["clean_per_1k"].values(), default=0.0) <= limit


def _line(name: str, row: dict) -> str:
    splits = "  ".join(f"{Path(s).name} F0.5 {f['f0.5']:.3f} P {f['precision'] or 0:.3f} R {f['detection_recall']:.3f}"
                       for s, f in row["splits"].items())
    return f"{name}: mean F0.5 {mean_f05(row):.4f}  {splits}  | clean per 1,000 {row['clean_per_1k']}"


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.repairer import Repairer

    samples = sample_specs(args.splits, args.per_domain)
    repairer = Repairer.from_pretrained(args.model_dir, verify=args.mode)
    verifier = repairer.detector
    # the mode without its term reading: for "terms" the pipeline without the LM, for "lm" the unsure words alone
    original, verifier.settings = verifier.settings, replace(verifier.settings, term_gain=None)
    reference = measure(repairer, samples)
    verifier.settings = original
    print(_line(f"--verify {args.mode} without term images", reference), flush=True)
    rows = {}
    for gain in sorted(args.gains):
        changes = {"term_gain": gain} if args.max_words is None else {"term_gain": gain, "term_max_words": args.max_words}
        verifier.settings = replace(verifier.settings, **changes)
        rows[gain] = measure(repairer, samples)
        print(_line(f"gain {gain:g}", rows[gain]), flush=True)
    within = [g for g, row in rows.items() if qualifies(row, reference, args.limit, args.slack)]
    chosen = max(within, key=lambda g: (round(mean_f05(rows[g]), 4), g)) if within else None
    if chosen is None:
        print("no gain keeps every split's precision and every domain's clean text within the limits")
    else:
        print(f"chosen: {chosen:g} (mean F0.5 {mean_f05(rows[chosen]):.4f} against {mean_f05(reference):.4f} without term images)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"without": reference, "gains": {str(g): r for g, r in rows.items()},
                                        "chosen": chosen}, indent=2) + "\n", encoding="utf-8")
    return 0 if chosen is not None else 1


if __name__ == "__main__":
    sys.exit(main())
