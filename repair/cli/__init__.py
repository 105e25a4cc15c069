"""The ``repair`` command. The library never imports this package.

Each subcommand lives in its own module (``repair/cli/<name>.py`` exposing ``command``) and
is imported only when invoked, so ``repair --help`` stays instant.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from .. import __version__

# subcommand -> (module, one-line help shown by ``repair --help`` without importing it)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "check": ("repair.cli.check", "List suspected spun spans; exit 1 when any are found."),
    "fix": ("repair.cli.fix", "Repair files or stdin; print, rewrite in place, or show a diff."),
    "eval": ("repair.cli.evaluate", "Score the repairer on spun/original pairs (GEC-style F0.5)."),
    "review": ("repair.cli.review", "Accept or reject each proposed change interactively."),
    "batch": ("repair.cli.batch", "Repair, score or filter a whole corpus, resumably."),
    "spin": ("repair.cli.spin", "Spin clean text with a synthetic spinner profile (test data)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name, (module, _) in SUBCOMMANDS.items() if importlib.util.find_spec(module)]

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        return importlib.import_module(SUBCOMMANDS[name][0]).command

    def format_commands(self, ctx, formatter):
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repair")
def cli():
    """Find and undo the damage an article spinner does to English text."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (0 clean, 1 found/failed, 2 bad usage or input)."""
    try:
        result = cli.main(args=argv, prog_name="repair", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as error:
        error.show()  # click's own form: the usage line, a hint, the error
        return 2
    except click.ClickException as error:
        # a bad input, setting or model: one line, in the form every command uses
        click.echo(f"repair: {error.format_message()}", err=True)
        return 2 if error.exit_code in (1, 2) else error.exit_code
    except click.exceptions.Abort:
        click.echo("repair: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("repair: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
