"""``repair fix FILE...|-``: repair text and print it, rewrite files in place, or show a diff.

Files are read, repaired and written block by block, so memory stays bounded on very large
inputs; ``--in-place`` writes a temporary file beside the input and renames it over the
input only once every block succeeded. Exit status: 0 done, 2 an input or the models could
not be used (the other inputs are still processed).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from ..report import REPORT_WRITERS, DiffRenderer, FileReport, FileReportBuilder
from ..textio import STDIN, AtomicWriter, InputError, Source, write_text_atomic
from ._common import (
    EXIT_CLEAN,
    EXIT_INPUT,
    LazyRepairer,
    Settings,
    common_options,
    open_inputs,
    repaired_blocks,
    run_guarded,
    say_error,
)


@click.command(name="fix")
@click.argument("inputs", nargs=-1, required=True, metavar="FILE...|-")
@click.option("-i", "--in-place", is_flag=True, help="Rewrite each file (atomically) instead of printing it.")
@click.option("--diff", type=click.Choice(["word", "unified"]), default=None,
              help="Print a diff instead of the text: word ([-old-]{+new+}) or unified.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Also write a report of every change: PATH.json or PATH.html.")
@common_options
def command(inputs, in_place, diff, report_path, **options):
    """Repair spun text.

    \b
    One input:        the repaired text goes to stdout (nothing else changes).
    --in-place:       each file is rewritten; unchanged files are left alone.
    --diff:           show what would change (several inputs are fine).
    --report PATH:    a JSON or self-contained HTML report of every change.
    """
    if in_place and STDIN in inputs:
        raise click.UsageError("stdin ('-') cannot be rewritten in place; drop --in-place to print the result")
    if list(inputs).count(STDIN) > 1:
        raise click.UsageError("stdin ('-') can be read only once")
    if len(inputs) > 1 and not (in_place or diff or report_path):
        raise click.UsageError(
            f"{len(inputs)} inputs but only one repaired text can go to stdout: "
            "add --in-place to rewrite them, or --diff to see the changes"
        )
    if report_path and Path(report_path).suffix.lower() not in REPORT_WRITERS:
        raise click.BadParameter(f"{report_path!r} must end in .json or .html", param_hint="--report")
    return run_guarded(lambda: _fix(inputs, in_place, diff, report_path, options))


def _fix(inputs, in_place, diff, report_path, options) -> int:
    settings = Settings.resolve(**options)
    repairer = LazyRepairer(settings)
    print_text = not in_place and not diff and len(inputs) == 1
    renderer_of = REPORT_WRITERS[Path(report_path).suffix.lower()] if report_path else None
    keep_text = renderer_of is not None and renderer_of is not REPORT_WRITERS[".json"]
    reports: list[FileReport] = []
    failed = False
    for path, source in open_inputs(settings, inputs):
        if source is None:
            failed = True
            continue
        try:
            report = _fix_one(repairer.get(), source, settings, in_place, diff, print_text, keep_text,
                              keep_edits=renderer_of is not None)
            if renderer_of:
                reports.append(report)
        except InputError as error:  # the file changed or vanished after validation
            say_error(str(error))
            failed = True
        except UnicodeEncodeError as error:
            say_error(f"{source.name}: the repaired text has {error.object[error.start:error.end]!r}, which "
                      f"{source.encoding} cannot encode; file left unchanged")
            failed = True
        except OSError as error:
            say_error(f"{source.name}: cannot write: {error.strerror or error}; file left unchanged")
            failed = True
    if renderer_of and reports:
        try:
            write_text_atomic(report_path, renderer_of(reports))
        except OSError as error:
            say_error(f"{report_path}: cannot write the report: {error.strerror or error}")
            return EXIT_INPUT
    return EXIT_INPUT if failed else EXIT_CLEAN


def _fix_one(repairer, source: Source, settings: Settings, in_place: bool, diff: str | None,
             print_text: bool, keep_text: bool, keep_edits: bool) -> FileReport:
    out = sys.stdout
    builder = FileReportBuilder(source.name, keep_text=keep_text, keep_edits=keep_edits)
    renderer = DiffRenderer(source.name, diff, settings.color) if diff else None
    writer = AtomicWriter(source.path, source.encoding) if in_place else None
    with writer if writer else contextlib.nullcontext():
        for target in (writer if writer else None, out if print_text else None):
            if target is not None:
                target.write(source.prefix)
        for block, result in repaired_blocks(repairer, source, settings.markup):
            builder.add(block, result)
            if writer:
                writer.write(result.repaired)
            if print_text:
                out.write(result.repaired)
            if renderer:
                out.write(renderer.feed(block.text, result.edits))
        if renderer:
            out.write(renderer.close())
        if writer and not builder.edit_count:
            writer.discard()  # nothing changed: keep the file (and its timestamp) as it is
    out.flush()
    return builder.finish()
