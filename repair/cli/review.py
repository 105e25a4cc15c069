"""``repair review FILE``: accept or reject each proposed change, in the terminal or a browser.

\b
repair review FILE                         interactive, one change at a time
repair review --decisions D.json FILE      apply a saved review (no model needed)
repair review --html PAGE.html FILE        write a self-contained review page

The terminal review is line-based (a key, then Enter) and rendered with rich: it behaves the
same in a terminal, under tmux and with a scripted stdin. Every decision is saved at once to
FILE.repair-review.json, so Ctrl-C (or a lost terminal) loses nothing: the input stays
untouched and the next ``repair review FILE`` offers to resume.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import click

from ..review import (
    DecisionLog,
    DecisionsError,
    ReviewError,
    ReviewSession,
    apply_decisions,
    edit_context,
    state_path_for,
)
from ..textio import InputError, open_source, write_text_atomic
from ._common import language_model_options, say_error

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130
FINISHED, QUIT, DISCARDED, INTERRUPTED = "finished", "quit", "discarded", "interrupted"


def read_input(path: str, language_check: bool = True) -> str:
    """Validate FILE with ``repair.textio`` and return the whole decoded document.

    A UTF-8 BOM stays in the text as character 0 (as ``repair.markup.read_document`` keeps
    it): the review's offsets and the decisions' hash then cover every byte of the file, and
    writing the text back reproduces the BOM. Raises ``InputError`` (one line for the user).
    """
    source = open_source(path, language_check=language_check)
    return source.prefix + source.read_text()


def load_repairer(model_dir: str | None, threshold: float | None, rerank: str = "none", verify: str = "none"):
    """The real models (torch loads here, only after the input was found readable)."""
    from ..repairer import Repairer

    return Repairer.from_pretrained(model_dir, threshold=threshold, rerank=rerank, verify=verify)


# ---------------------------------------------------------------------------------------------
# the terminal loop


@dataclass(frozen=True)
class Command:
    handler: str
    usage: str
    help: str


# key -> what it does; digits (alternatives) are handled before this table
COMMANDS: dict[str, Command] = {
    "a": Command("accept", "a", "accept the proposed change"),
    "r": Command("reject", "r", "reject it (keep the original words)"),
    "e": Command("custom", "e [TEXT]", "type your own replacement"),
    "u": Command("undo", "u", "undo the last decision"),
    "A": Command("accept_above", "A SCORE", "accept every remaining change scoring at least SCORE"),
    "q": Command("quit", "q", "stop and write the file with the decisions made so far"),
    "x": Command("discard", "x", "stop, write nothing and forget this review"),
    "?": Command("help", "?", "show these keys"),
}


class TerminalReview:
    """Drives a ``ReviewSession`` from lines of ``input``, rendering to a rich console.

    ``on_change`` runs after every decision or undo (the CLI saves the resumable log there),
    so work is kept even if the process is killed.
    """

    def __init__(self, session: ReviewSession, input: TextIO, console, on_change: Callable[[], None] = lambda: None):
        from ..markup import LineIndex

        self.session = session
        self.input = input
        self.console = console
        self.on_change = on_change
        self.lines = LineIndex(session.text)

    def run(self) -> str:
        try:
            while not self.session.done:
                self.show(self.session.current_index)
                outcome = self.handle(self.ask("> "))
                if outcome:
                    return outcome
            return FINISHED
        except (KeyboardInterrupt, EOFError):
            self.console.print()
            return INTERRUPTED

    # -- input
    def ask(self, prompt: str) -> str:
        self.console.print(prompt, end="")
        self.console.file.flush()
        line = self.input.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def confirm(self, question: str, default: bool) -> bool:
        answer = self.ask(f"{question} [{'Y/n' if default else 'y/N'}] ").strip().lower()
        return default if not answer else answer.startswith("y")

    def handle(self, line: str) -> str | None:
        stripped = line.strip()
        if not stripped:
            return None
        key, _, argument = stripped.partition(" ")
        try:
            if key.isdigit():
                self.report(self.session.choose(int(key)))
                self.on_change()
                return None
            command = COMMANDS.get(key)
            if command is None:
                self.console.print(f"unknown key {key!r}; ? shows the keys", style="yellow")
                return None
            return getattr(self, "do_" + command.handler)(argument.strip())
        except ReviewError as error:
            self.console.print(str(error), style="yellow")
            return None

    # -- commands
    def do_accept(self, _: str) -> None:
        self.report(self.session.accept())
        self.on_change()

    def do_reject(self, _: str) -> None:
        self.report(self.session.reject())
        self.on_change()

    def do_custom(self, argument: str) -> None:
        replacement = argument if argument else self.ask("replacement> ")
        if not replacement.strip():
            raise ReviewError("an empty replacement would delete the words; use r to keep them")
        self.report(self.session.custom(replacement))
        self.on_change()

    def do_undo(self, _: str) -> None:
        undone = self.session.undo()
        self.on_change()
        self.console.print(f"undone: {len(undone)} decision{'s' if len(undone) != 1 else ''}", style="cyan")

    def do_accept_above(self, argument: str) -> None:
        text = argument or self.ask("accept every remaining change scoring at least: ")
        try:
            threshold = float(text)
        except ValueError:
            raise ReviewError(f"{text!r} is not a score (a number such as 0.8)") from None
        count = self.session.accept_above(threshold)
        if count:
            self.on_change()
        self.console.print(f"accepted {count} remaining change{'s' if count != 1 else ''} scoring ≥ {threshold:g}", style="cyan")

    def do_quit(self, _: str) -> str:
        return QUIT

    def do_discard(self, _: str) -> str | None:
        if not self.session.decided or self.confirm(f"forget {self.session.decided} decisions?", False):
            return DISCARDED
        return None

    def do_help(self, _: str) -> None:
        self.console.print("  1-9      take alternative N")
        for command in COMMANDS.values():
            self.console.print(f"  {command.usage:<8} {command.help}")
        self.console.print("  Ctrl-C   pause: decisions so far are kept, run the same command to resume")

    # -- output
    def show(self, index: int) -> None:
        from rich.rule import Rule
        from rich.text import Text

        edit = self.session.edits[index]
        line, column = self.lines.line_col(edit.start)
        self.console.print(Rule(
            f"change {index + 1} of {len(self.session.edits)} · line {line}, col {column} · score {edit.score:.2f}",
            style="dim"))
        context = edit_context(self.session.text, edit)
        sentence = Text("  ")
        sentence.append("…" if context.truncated_before else "")
        sentence.append(context.before)
        sentence.append(edit.original, style="bold red strike")
        sentence.append(" → ", style="dim")
        sentence.append(edit.replacement, style="bold green")
        sentence.append(context.after)
        sentence.append("…" if context.truncated_after else "")
        self.console.print(sentence)
        if edit.alternatives:
            choices = Text("  alternatives: ")
            for number, alternative in enumerate(edit.alternatives, 1):
                choices.append(f"{number}) ", style="bold")
                choices.append(alternative.text)
                choices.append(f" ({alternative.score:.2f})  ", style="dim")
            self.console.print(choices)
        count = len(edit.alternatives)
        numbers = f"{'1' if count == 1 else f'1-{count}'} alternative · " if count else ""
        self.console.print(f"  {numbers}a accept · r reject · e edit · u undo · A ≥score · q quit · x discard · ?",
                           style="dim")

    def report(self, decision) -> None:
        from rich.text import Text

        message = Text(f"  {decision.action}: ", style="cyan")
        message.append(decision.original)
        if decision.replacement != decision.original:
            message.append(" → ")
            message.append(decision.replacement)
        self.console.print(message)


# ---------------------------------------------------------------------------------------------
# the command


def make_console(color: str, file: TextIO | None = None):
    from rich.console import Console

    options = {"file": file or sys.stdout, "highlight": False, "soft_wrap": False}
    if color == "never" or (color == "auto" and os.environ.get("NO_COLOR")):
        options["no_color"] = True
        options["color_system"] = None
    elif color == "always":
        options["force_terminal"] = True
    return Console(**options)


def _write_output(target: Path, text: str, original: str, source: Path) -> bool:
    """Write ``text`` to ``target`` (atomically); an unchanged input is not rewritten."""
    if target.resolve() == source.resolve() and text == original:
        return False
    write_text_atomic(target, text)
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _apply_saved(path: str, text: str, decisions_path: str, output: str | None) -> int:
    try:
        log = DecisionLog.load(decisions_path)      # its errors already name the decisions file
    except DecisionsError as error:
        say_error(str(error))
        return EXIT_INPUT
    try:
        repaired = apply_decisions(text, log)
    except DecisionsError as error:
        say_error(f"{path}: {error}")
        return EXIT_INPUT
    target = Path(output or path)
    _write_output(target, repaired, text, Path(path))
    click.echo(f"repair: applied {len(log.applied)} of {len(log.decisions)} decisions to {target}", err=True)
    return EXIT_OK


def _offer_resume(review: TerminalReview, state: Path, path: str) -> None:
    if not state.exists():
        return
    try:
        log = DecisionLog.load(state)
        log.check_input(review.session.text)
    except DecisionsError as error:
        review.console.print(f"ignoring the saved review in {state} ({error}); it will be replaced", style="yellow")
        return
    if not log.decisions:
        return
    if review.confirm(f"resume the interrupted review of {path} ({len(log.decisions)} decisions saved)?", True):
        outcome = review.session.resume(log)
        dropped = f", {outcome.dropped} no longer proposed" if outcome.dropped else ""
        review.console.print(f"resumed {outcome.restored} decisions{dropped}", style="cyan")


def run_review(
    path: str,
    output: str | None = None,
    decisions_out: str | None = None,
    decisions: str | None = None,
    html: str | None = None,
    model_dir: str | None = None,
    threshold: float | None = None,
    markup: str | None = None,
    color: str | None = None,
    force: bool = False,
    ignore_words: tuple[str, ...] = (),
    rerank: str | None = None,
    verify: str | None = None,
    repairer_factory: Callable = load_repairer,
    input: TextIO | None = None,
    console=None,
) -> int:
    from ..markup import MarkupError, protected_ranges, resolve_markup

    try:
        text = read_input(path, language_check=not force)
    except InputError as error:
        say_error(str(error))
        return EXIT_INPUT
    if decisions:
        return _apply_saved(path, text, decisions, output)
    from ..config import ConfigError, load_config
    from ..ignore import IgnoreFileError, IgnoreRules

    try:  # as check and fix read it: flags win over [tool.repair]; ignore-words lists are merged
        config = load_config()
        rules = IgnoreRules.from_sources(words=config.get("ignore-words", ()), files=ignore_words)
    except (ConfigError, IgnoreFileError) as error:
        say_error(f"{'config' if isinstance(error, ConfigError) else 'ignore-words'}: {error}")
        return EXIT_INPUT
    try:
        skip = protected_ranges(text, resolve_markup(config.pick("markup", markup, "auto"), path))
    except MarkupError as error:
        say_error(str(error))
        return EXIT_INPUT
    language_models = {"rerank": config.pick("rerank", rerank, "none"), "verify": config.pick("verify", verify, "none")}
    try:
        repairer = repairer_factory(config.pick("model-dir", model_dir), config.pick("threshold", threshold),
                                    **language_models)
    except (ImportError, OSError, ValueError, RuntimeError) as error:
        say_error(f"model: {error}")
        return EXIT_INPUT
    if rules:
        repairer.ignore = rules
    result = repairer.repair(text, skip=skip)
    session = ReviewSession(text, result.edits, name=Path(path).name, signature=repairer.signature)
    if html:
        from ..review_page import render_review_page

        write_text_atomic(html, render_review_page(session))
        click.echo(f"repair: wrote a review page for {len(session.edits)} changes to {html}", err=True)
        return EXIT_OK

    console = console or make_console(config.pick("color", color, "auto"))
    state = state_path_for(path)
    review = TerminalReview(session, input or sys.stdin, console)

    def save_state() -> None:
        if session.decided:
            session.log(complete=False).save(state)
        else:
            _remove(state)

    review.on_change = save_state
    if not session.edits:
        console.print(f"no changes proposed for {path}")
    else:
        try:
            _offer_resume(review, state, path)
        except (KeyboardInterrupt, EOFError):
            console.print()
            say_error(f"interrupted; {path} is untouched")
            return EXIT_INTERRUPTED
    outcome = review.run()
    if outcome == INTERRUPTED:
        kept = f"{session.decided} decisions kept in {state}; run the same command to resume" if session.decided \
            else "no decisions were made"
        say_error(f"interrupted; {path} is untouched, {kept}")
        return EXIT_INTERRUPTED
    if outcome == DISCARDED:
        _remove(state)
        console.print(f"review discarded; {path} is untouched")
        return EXIT_OK
    target = Path(output or path)
    wrote = _write_output(target, session.result_text(), text, Path(path))
    if decisions_out:
        session.log().save(decisions_out)
    _remove(state)
    applied = sum(d.changes_text for d in session.decisions)
    console.print(
        f"{applied} of {len(session.edits)} changes applied"
        + (f", written to {target}" if wrote else f"; {target} unchanged")
        + (f"; decisions in {decisions_out}" if decisions_out else "")
    )
    return EXIT_OK


@click.command(name="review")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the reviewed text here instead of rewriting FILE.")
@click.option("--decisions-out", type=click.Path(dir_okay=False), default=None,
              help="Also save the decisions as JSON (apply them later with --decisions).")
@click.option("--decisions", type=click.Path(dir_okay=False), default=None,
              help="Apply a saved decisions JSON to FILE without asking (refuses if FILE changed since).")
@click.option("--html", type=click.Path(dir_okay=False), default=None,
              help="Write a self-contained HTML review page instead of reviewing in the terminal.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Folder holding the models (default: $REPAIR_MODEL_DIR or the bundled models/).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Detector score a span needs to be proposed (default: the model's).")
@click.option("--markup", type=click.Choice(["auto", "plain", "markdown", "latex", "html"]), default=None,
              help="How to read FILE; only prose is ever changed (default: [tool.repair] markup, else by suffix).")
@click.option("--color", "--colour", "color", type=click.Choice(["auto", "always", "never"]), default=None,
              help="Colour the terminal review (default: [tool.repair] color, else when writing to a terminal).")
@click.option("--force", is_flag=True, default=False, help="Review even text that does not look English.")
@click.option("--ignore-words", "ignore_words", type=click.Path(dir_okay=False), multiple=True,
              help="File of words and phrases never to propose, one a line (repeatable).")
@language_model_options
@click.pass_context
def command(ctx, path, output, decisions_out, decisions, html, model_dir, threshold, markup, color, force,
            ignore_words, rerank, verify):
    """Accept or reject each proposed change, then write FILE (or -o OUT).

    \b
    Keys (then Enter): a accept, r reject, 1-9 alternative, e TEXT own words,
    u undo, A SCORE accept the rest scoring >= SCORE, q stop and write, x discard.
    Ctrl-C pauses: FILE stays untouched and the decisions so far are kept in
    FILE.repair-review.json; the next `repair review FILE` offers to resume.
    """
    if decisions and (html or decisions_out):
        raise click.UsageError("--decisions applies a saved review; it cannot be combined with --html or --decisions-out")
    if html and (output or decisions_out):
        raise click.UsageError("--html writes only the page; download the text and decisions from it")
    injected = ctx.obj if isinstance(ctx.obj, dict) else {}
    return run_review(
        path, output=output, decisions_out=decisions_out, decisions=decisions, html=html,
        model_dir=model_dir, threshold=threshold, markup=markup, color=color, force=force,
        ignore_words=ignore_words, rerank=rerank, verify=verify,
        repairer_factory=injected.get("repairer_factory", load_repairer),
        input=injected.get("input"), console=injected.get("console"),
    )
