"""A small, real detector/rewriter for batch tests, until the lexicon baseline lands.

It reads a word table from its model folder: a word in the table is "spun" and the rewriter
restores the table's word (keeping the case). The words are invented for these tests and
have nothing to do with the evaluation set. Importable by worker processes (PYTHONPATH), so
pools and Ray actors load it the same way ``Repairer.from_pretrained`` loads a real model.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path

from repair.components import COMPONENT_TYPES
from repair.edits import WORD, Edit, Span, match_case

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
