"""The standard quality table for model cards.

Scores the default models and the lexicon baseline on these sets:
  synthetic test       data/test.pairs.jsonl (or data/test.jsonl.gz)
  held-out substitutions  data/heldout.pairs.jsonl (or data/heldout.jsonl.gz)
  synthetic / held-out terms  data/test-terms.jsonl.gz, data/heldout-terms.jsonl.gz (one spun term a sentence)
  synthetic / held-out paper terms  data/test-paper-terms.jsonl.gz, data/heldout-paper-terms.jsonl.gz (the same
                          in sentences of LM-written papers, scripts/generate_papers.py)
  ... in papers           data/test-paper-terms-in-papers.jsonl.gz, data/heldout-paper-terms-in-papers.jsonl.gz
                          (each of those sentences back in its whole paper, the rest of it clean)
  ..., unseen swaps       data/{test,heldout,...}-unseen.jsonl.gz (build_data.py --unseen-only: only the swaps
                          no training file holds)
  real tortured phrases   ../shared/eval/tortured-phrases.gold.jsonl (with clean originals)
and writes OUT/quality.json and OUT/quality.md (default OUT: runs/eval).

    python scripts/eval_all.py [--data DIR] [--model-dir DIR] [--out DIR] [--limit N] [--threshold T] [--sets TEXT]
    python scripts/eval_all.py --merge runs/eval-a/quality.json runs/eval-b/quality.json [--out DIR] [--readme]

``--merge`` runs nothing: it joins earlier runs of the same models (their signatures must agree) into one table,
so that the sets can be measured in separate runs (side by side, or one group again).

A set whose file is missing is skipped with a note; no set at all is an error.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repair.components import ComponentError  # noqa: E402
from repair.textio import write_text_atomic  # noqa: E402
from repair.evaluate import (  # noqa: E402
    PairsError,
    build_systems,
    evaluate_systems,
    format_markdown,
    format_table,
    read_pairs,
    repo_root,
    shared_gold_file,
)

# set name -> candidate file names inside the data folder, first found wins
DATA_SETS: dict[str, tuple[str, ...]] = {
    "synthetic test": ("test.pairs.jsonl", "test.jsonl.gz", "test.jsonl"),
    "held-out substitutions": ("heldout.pairs.jsonl", "heldout.jsonl.gz", "heldout.jsonl"),
    # one noun compound spun per sentence, half of them established terms (build_data.py --terms-only)
    "synthetic terms": ("test-terms.jsonl.gz",),
    "held-out terms": ("heldout-terms.jsonl.gz",),
    # the same in sentences of LM-written papers on topics no dev set uses (build_data.py --paper-terms-only)
    "synthetic paper terms": ("test-paper-terms.jsonl.gz",),
    "held-out paper terms": ("heldout-paper-terms.jsonl.gz",),
    # each of those sentences back in its whole paper, the rest clean: one spun term in some 120 words
    "synthetic paper terms in papers": ("test-paper-terms-in-papers.jsonl.gz",),
    "held-out paper terms in papers": ("heldout-paper-terms-in-papers.jsonl.gz",),
    # the same sets keeping only the swaps no training file holds (build_data.py --unseen-only): they judge a
    # model trained with every original, which the held-out sets cannot
    "synthetic test, unseen swaps": ("test-unseen.jsonl.gz",),
    "held-out substitutions, unseen swaps": ("heldout-unseen.jsonl.gz",),
    "synthetic terms, unseen swaps": ("test-terms-unseen.jsonl.gz",),
    "held-out terms, unseen swaps": ("heldout-terms-unseen.jsonl.gz",),
    "synthetic paper terms, unseen swaps": ("test-paper-terms-unseen.jsonl.gz",),
    "held-out paper terms, unseen swaps": ("heldout-paper-terms-unseen.jsonl.gz",),
}
REAL_SET = "real tortured phrases"


def find_sets(data_dirs: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, candidates in DATA_SETS.items():
        for folder in data_dirs:
            hit = next((folder / c for c in candidates if (folder / c).is_file()), None)
            if hit:
                found[name] = hit
                break
    gold = shared_gold_file()
    if gold:
        found[REAL_SET] = gold
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append",
                        help="folder holding the test/held-out pairs (default: data/, then /work/data)")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--rerank", choices=["none", "lm"], default="none",
                        help="re-score the default rewriter's candidates with the causal LM")
    parser.add_argument("--limit", type=int, default=None, help="first N pairs of each set only")
    parser.add_argument("--sets", action="append", default=None, metavar="TEXT",
                        help="only the sets whose name contains TEXT (repeatable; e.g. --sets unseen)")
    parser.add_argument("--out", type=Path, default=repo_root() / "runs" / "eval")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="QUALITY_JSON",
                        help="join earlier runs' quality.json (same signatures) into one table instead of running")
    parser.add_argument("--readme", action="store_true",
                        help="also put the markdown table into README.md between its quality markers")
    args = parser.parse_args(argv)

    if args.merge:
        try:
            report = merged_report(args.merge)
        except (OSError, ValueError, KeyError) as error:
            print(f"eval_all: {error}", file=sys.stderr)
            return 2
        return write_report(report, args.out, args.readme)

    sets = find_sets(args.data or [repo_root() / "data", Path("/work/data")])
    wanted = [name for name in [*DATA_SETS, REAL_SET] if not args.sets or any(t in name for t in args.sets)]
    sets = {name: path for name, path in sets.items() if name in wanted}
    for name in wanted:
        if name not in sets:
            print(f"eval_all: no file for the {name} set; skipped", file=sys.stderr)
    if not sets:
        print("eval_all: no evaluation set found", file=sys.stderr)
        return 2
    try:
        systems = build_systems(args.model_dir, args.threshold, compare=True, rerank=args.rerank)
        loaded = {name: read_pairs(path, args.limit) for name, path in sets.items()}
    except (ComponentError, PairsError, OSError) as error:
        print(f"eval_all: {error}", file=sys.stderr)
        return 2

    report = {"date": datetime.date.today().isoformat(), "limit": args.limit, "sets": {},
              "signatures": {name: r.signature for name, r in systems.items()}}
    for name, pairs in loaded.items():
        scores = evaluate_systems(systems, pairs)
        columns = {s.name: s.figures.to_dict() for s in scores}
        report["sets"][name] = {"file": str(sets[name]), "systems": {s.name: s.to_dict() for s in scores}}
        print(format_table(columns, title=f"{name}: {sets[name]}"), end="\n\n", flush=True)
    return write_report(report, args.out, args.readme)


def merged_report(paths: list[Path]) -> dict:
    """One report from earlier runs' quality.json files: their sets in the standard order (a set in several
    files: the last one's). Runs of different models or settings cannot share a table."""
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    for path, report in zip(paths[1:], reports[1:]):
        if report["signatures"] != reports[0]["signatures"]:
            raise ValueError(f"{path} was made by other models or settings than {paths[0]} (signatures differ)")
    sets = {name: entry for report in reports for name, entry in report["sets"].items()}
    order = [*DATA_SETS, REAL_SET]
    return {"date": max(r["date"] for r in reports), "limit": reports[0].get("limit"),
            "sets": {name: sets[name] for name in sorted(sets, key=lambda n: order.index(n) if n in order else len(order))},
            "signatures": reports[0]["signatures"], "merged": [str(p) for p in paths]}


def report_markdown(report: dict) -> str:
    markdown = [f"## Quality ({report['date']})", ""]
    for name, entry in report["sets"].items():
        columns = {system: {k: v for k, v in figures.items() if k != "signature"}
                   for system, figures in entry["systems"].items()}
        pairs = next(iter(columns.values()))["pairs"]  # every system read the same pairs
        markdown += [format_markdown(columns, title=f"{name} ({pairs:,} pairs)"), ""]
    markdown += ["Systems:", ""] + [f"- {name}: `{sig}`" for name, sig in report["signatures"].items()]
    markdown += ["", "Figures: word-level, GEC-style, as `../shared/eval/score.py` computes them "
                 "(see `repair/evaluate.py`); made by `python scripts/eval_all.py`.", ""]
    return "\n".join(markdown)


def write_report(report: dict, out: Path, readme: bool) -> int:
    markdown = report_markdown(report)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "quality.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    write_text_atomic(out / "quality.md", markdown)
    print(f"wrote {out / 'quality.json'} and {out / 'quality.md'}")
    if readme:
        path = repo_root() / "README.md"
        write_text_atomic(path, replace_between_markers(path.read_text(encoding="utf-8"), markdown))
        print(f"updated {path}")
    return 0


README_MARKERS = ("<!-- quality:start -->", "<!-- quality:end -->")


def replace_between_markers(text: str, table: str) -> str:
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"eval_all: README.md has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table.strip()}\n{end}{tail}"


if __name__ == "__main__":
    sys.exit(main())
