"""Small but real components for tests (no trained model needed), importable by worker processes.

``ToyWordList``: flags words from a word list in its model folder (tests/fixtures/toy_models/lexicon/),
used by the CLI and façade tests. ``ToyTable``: a word table in component.json, with hooks that make
a document crash or kill its worker, used by the batch tests. Both play both roles, like the lexicon
baseline, and their words are invented for tests, unrelated to the evaluation set.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from repair.components import COMPONENT_TYPES
from repair.edits import WORD, Alternative, Edit, Span, match_case

TYPE_NAME = "toy-wordlist"
MODEL_DIR = Path(__file__).parent / "fixtures" / "toy_models"


class ToyWordList:
    name = "toy-wordlist"

    def __init__(self, table: dict[str, tuple[str, float, tuple[str, ...]]]):
        self.table = table
        words = sorted(table, key=len, reverse=True)
        self.pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)

    @classmethod
    def from_pretrained(cls, folder):
        folder = Path(folder)
        config = json.loads((folder / "component.json").read_text(encoding="utf-8"))
        table = {}
        for line in (folder / config["words"]).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            spun, original, score, alternatives = (line.split("\t") + [""] * 4)[:4]
            table[spun.lower()] = (original, float(score), tuple(a for a in alternatives.split(",") if a))
        return cls(table)

    def detect(self, text: str, threshold: float) -> list[Span]:
        spans = []
        for match in self.pattern.finditer(text):
            score = self.table[match.group().lower()][1]
            if score >= threshold:
                spans.append(Span(match.start(), match.end(), match.group(), score, self.name))
        return spans

    def rewrite(self, text: str, spans) -> list[Edit]:
        edits = []
        for span in spans:
            original, score, alternatives = self.table[span.text.lower()]
            edits.append(Edit(
                span.start, span.end, span.text, match_case(span.text, original), score,
                tuple(Alternative(match_case(span.text, a), round(score / 2, 2)) for a in alternatives),
                self.name,
            ))
        return edits


TOY_TYPE = "toy-table"
TOY_TABLE = {"automobile": "car", "commence": "begin", "utilize": "use", "purchase": "buy",
             "enormous": "big", "assist": "help"}
CRASH_WORD = "KABOOM"  # a document containing it makes the detector raise
DIE_WORD = "FLATLINE"  # ... makes a worker process die outright (as a segfault or OOM kill would)


def register() -> None:
    COMPONENT_TYPES[TOY_TYPE] = "toy_components:ToyTable"


class ToyTable:
    name = "toy-table"

    def __init__(self, table: dict[str, str], delay: float = 0.0, cpu_rounds: int = 0):
        self.table = table
        self.delay = delay
        self.cpu_rounds = cpu_rounds  # CPU work per word, so benchmarks can stand in for a model

    @classmethod
    def from_pretrained(cls, folder):
        config = json.loads((Path(folder) / "component.json").read_text())
        return cls(config["table"], config.get("delay", 0.0), config.get("cpu_rounds", 0))

    def detect(self, text: str, threshold: float) -> list[Span]:
        if CRASH_WORD in text:
            raise RuntimeError("toy detector cannot read this document")
        if DIE_WORD in text and multiprocessing.parent_process() is not None:
            os._exit(3)  # only ever in a worker: never take the test runner down
        if self.delay:
            time.sleep(self.delay)
        if self.cpu_rounds:
            for word in WORD.findall(text):
                digest = word.encode()
                for _ in range(self.cpu_rounds):
                    digest = hashlib.blake2b(digest, digest_size=16).digest()
        return [Span(m.start(), m.end(), m.group(), 0.9, self.name)
                for m in WORD.finditer(text) if m.group().lower() in self.table]

    def rewrite(self, text: str, spans) -> list[Edit]:
        return [Edit(s.start, s.end, s.text, match_case(s.text, self.table[s.text.lower()]), s.score,
                     source=self.name) for s in spans]


def make_model_dir(folder: Path, delay: float = 0.0, cpu_rounds: int = 0) -> Path:
    """A models folder whose ``lexicon`` component is the toy table."""
    component = Path(folder) / "lexicon"
    component.mkdir(parents=True, exist_ok=True)
    config = {"type": TOY_TYPE, "threshold": 0.5, "table": TOY_TABLE, "delay": delay, "cpu_rounds": cpu_rounds}
    (component / "component.json").write_text(json.dumps(config))
    return Path(folder)


@dataclass(frozen=True)
class ToyFactory:
    """Picklable: each worker process registers the toy type, then loads it like any model."""

    model_dir: str

    def __call__(self):
        from repair.repairer import Repairer

        register()
        return Repairer.from_pretrained(self.model_dir)
