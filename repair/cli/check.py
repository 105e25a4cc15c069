"""``repair check FILE...|-``: list suspected spun words with their proposed repair.

Exit status: 0 nothing found, 1 something found, 2 an input or the models could not be used.
"""
from __future__ import annotations

import click

from ..report import FileReportBuilder, check_line, render_json
from ..textio import InputError
from ._common import (
    EXIT_CLEAN,
    EXIT_FOUND,
    EXIT_INPUT,
    LazyRepairer,
    Settings,
    common_options,
    open_inputs,
    repaired_blocks,
    run_guarded,
    say_error,
)

ANSI_PATH, ANSI_RESET = "\x1b[1m", "\x1b[0m"


@click.command(name="check")
@click.argument("inputs", nargs=-1, required=True, metavar="FILE...|-")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default=None,
              help="text: path:line:col lines (default); json: one report of every edit.")
@common_options
def command(inputs, output_format, **options):
    """List suspected spun words and what they would be changed to; changes nothing.

    \b
    Output:  path:line:col: "vitality" -> "energy" (0.93)
    Exit:    0 nothing found, 1 something found, 2 bad input or models.
    """
    return run_guarded(lambda: _check(inputs, output_format, options))


def _check(inputs, output_format, options) -> int:
    settings = Settings.resolve(**options)
    output_format = settings.config.pick("format", output_format, "text")
    repairer = LazyRepairer(settings)
    reports, failed, found = [], False, False
    for path, source in open_inputs(settings, inputs):
        if source is None:
            failed = True
            continue
        builder = FileReportBuilder(source.name, keep_edits=output_format == "json")
        try:
            for block, result in repaired_blocks(repairer.get(), source, settings.markup):
                located = builder.add(block, result)
                if output_format == "text":
                    for edit in located:
                        click.echo(_paint_path(check_line(source.name, edit), source.name, settings.color))
        except InputError as error:  # the file changed or vanished after validation
            say_error(str(error))
            failed = True
            continue
        report = builder.finish()
        found = found or builder.edit_count > 0
        reports.append(report)
    if output_format == "json" and reports:
        click.echo(render_json(reports), nl=False)
    if failed:
        return EXIT_INPUT
    return EXIT_FOUND if found else EXIT_CLEAN


def _paint_path(line: str, name: str, color: bool) -> str:
    return f"{ANSI_PATH}{name}{ANSI_RESET}{line[len(name):]}" if color else line
