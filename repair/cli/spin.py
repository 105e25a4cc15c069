"""``repair spin``: spin clean text with a synthetic spinner profile (for test data)."""
from __future__ import annotations

import json
import sys
import click

from ..textio import write_text_atomic

PROFILE_NAMES = ("light", "heavy", "phrase")


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise click.UsageError(f"cannot read {source}: {error.strerror if isinstance(error, OSError) else 'not UTF-8 text'}")


def _write_atomically(path: str, content: str) -> None:
    try:
        write_text_atomic(path, content)
    except OSError as error:
        raise click.UsageError(f"cannot write {path}: {error.strerror}")


@click.command("spin")
@click.argument("source", default="-", metavar="FILE|-")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="light", show_default=True,
              help="light: 10-20% fluent swaps; heavy: word by word, 30-50%; phrase: connectives and set phrases.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which tool: each seed draws its own fixed dictionary.")
@click.option("--edits", "edits_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the edits (offsets in spun and original text) as JSON to this path.")
def command(source: str, profile: str, seed: int, edits_path: str | None) -> int:
    """Spin FILE (or stdin) the way an article spinner would and print the spun text."""
    from ..spinner import Spinner

    text = _read(source)
    result = Spinner(profile, seed).spin(text)
    if edits_path:
        payload = {"profile": result.profile, "seed": seed, "edits": [e.to_dict() for e in result.edits]}
        _write_atomically(edits_path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    click.echo(result.spun, nl=False)
    return 0
