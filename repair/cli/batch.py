"""``repair batch SRC -o DST``: repair, score or filter a whole corpus, resumably."""
from __future__ import annotations

import os

import click

from ..batch import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BYTES, DEFAULT_MAX_SPIN, ENGINES, MODES
from ..markup import MARKUP_CHOICES
from ._common import language_model_options


@click.command("batch")
@click.argument("src", type=click.Path(exists=True, path_type=str))
@click.option("-o", "--output", "dst", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder: mirrors SRC, plus edits.jsonl, summary.json and the resume manifest.")
@click.option("--mode", type=click.Choice(MODES), default="repair", show_default=True,
              help="repair: write repaired text; flag: only score (exit 1 if any document is over "
                   "--max-spin); filter: drop documents over --max-spin into rejects.jsonl.")
@click.option("--max-spin", type=click.FloatRange(0, 1), default=DEFAULT_MAX_SPIN, show_default=True,
              help="Spin score (share of words changed) above which flag/filter act.")
@click.option("--include", multiple=True, default=("*.txt",), show_default=True,
              help="Glob for text files in a SRC folder (repeatable); ignored for JSONL/Parquet shards.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text in JSONL/Parquet.")
@click.option("--id-field", default="id", show_default=True,
              help="Field naming a record in edits.jsonl (else FILE:LINE).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Worker processes (Ray: actors). Default: number of CPU cores.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Documents per unit of work sent to a worker.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: worker processes; ray: Ray Data (a cluster when RAY_ADDRESS is set).")
@click.option("--max-bytes", type=click.IntRange(1), default=DEFAULT_MAX_BYTES, show_default=True,
              help="Larger documents are recorded as failures, not repaired.")
@click.option("--markup", type=click.Choice(MARKUP_CHOICES), default=None,
              help="How to find the prose: code, URLs, tags, math and commands are never touched "
                   "(default auto: text files by suffix, JSONL/Parquet records plain).")
@click.option("--ignore-words", "ignore_words", type=click.Path(dir_okay=False), multiple=True,
              help="File of words and phrases never to flag, one a line (repeatable); merged with "
                   "[tool.repair] ignore-words.")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Models folder (default: [tool.repair] model-dir, $REPAIR_MODEL_DIR or the shipped models/).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Detector threshold (default: [tool.repair] threshold, else the model's).")
@language_model_options
@click.option("--restart", is_flag=True, help="Discard an earlier run in the output folder and start over.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no closing line.")
def command(src, dst, mode, max_spin, include, text_field, id_field, jobs, batch_size, engine, max_bytes,
            markup, ignore_words, model_dir, threshold, rerank, verify, restart, quiet):
    """Repair, score or filter a corpus SRC into DST.

    SRC is a folder of text files, a JSONL file, or a folder of JSONL/Parquet shards. Rerunning
    the same command after a crash or Ctrl-C continues where it stopped. Exit status: 0 all
    well, 1 some documents failed (or, with --mode flag, some are over --max-spin), 2 bad usage.
    """
    from ..batch import BatchConfig, BatchError, RepairerSpec, run_batch
    from ..components import ComponentError

    config_file = _config()
    markup, words = _markup_and_ignore_words(config_file, markup, ignore_words)
    model_dir = config_file.pick("model-dir", model_dir)
    threshold = config_file.pick("threshold", threshold)
    config = BatchConfig(mode=mode, text_field=text_field, id_field=id_field, include=tuple(include),
                         max_spin=max_spin, max_bytes=max_bytes, jobs=jobs or os.cpu_count() or 1,
                         batch_size=batch_size, engine=engine, markup=markup, ignore_words=words)
    factory = RepairerSpec(model_dir, threshold, rerank=config_file.pick("rerank", rerank, "none"),
                           verify=config_file.pick("verify", verify, "none"))
    try:
        stats = run_batch(src, dst, config, factory, restart=restart, progress=None if not quiet else False)
    except (BatchError, ComponentError) as error:
        raise click.ClickException(str(error)) from None
    if not quiet:
        summary = stats.summary
        verdicts = ", ".join(f"{count} {verdict}" for verdict, count in summary["verdicts"].items())
        click.echo(
            f"repair batch: {summary['documents']} documents, {summary['edits']} edits, "
            f"{summary['failures']} failed, {summary['spin_score']['flagged']} flagged, "
            f"{summary['spin_score']['rejected']} rejected; "
            f"{verdicts}; "
            f"this run {stats.processed} documents in "
            f"{stats.seconds:.1f}s ({summary['throughput']['words_per_second'] or 0:,.0f} words/s) -> {dst}",
            err=True,
        )
    return stats.exit_code


def _config():
    """[tool.repair] from the nearest pyproject.toml: flags win over it, as in check and fix."""
    from ..config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as error:
        raise click.ClickException(f"config: {error}") from None


def _markup_and_ignore_words(config, markup: str | None, files: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """--markup and --ignore-words merged with [tool.repair] as check and fix merge them.

    The files are read here, once: workers (and Ray actors on other machines) get the words.
    """
    from ..ignore import IgnoreFileError, IgnoreRules

    try:
        rules = IgnoreRules.from_sources(words=config.get("ignore-words", ()), files=files)
    except IgnoreFileError as error:
        raise click.ClickException(f"ignore-words: {error}") from None
    return config.pick("markup", markup, "auto"), rules.entries
