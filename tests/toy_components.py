"""A tiny but real component for tests: flags words from a word list in its model folder.

It plays both roles (like the lexicon baseline) so the CLI and the façade can be tested end
to end without trained models. The word list lives in tests/fixtures/toy_models/lexicon/.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from repair.edits import Alternative, Edit, Span, match_case

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
