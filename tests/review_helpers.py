"""A small real detector/rewriter for the review tests, and a launcher for subprocess tests.

``WordTableComponent`` flags every word of a tab-separated table in its model folder and
proposes the table's original word plus alternatives, so ``Repairer.from_pretrained`` loads it
exactly as it loads a trained model. ``python tests/review_helpers.py review ...`` runs the real
CLI with the type registered (used by the tmux test, where monkeypatching cannot reach).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TYPE_NAME = "review-test-word-table"
TYPE_PATH = "review_helpers:WordTableComponent"

# spun word -> (original, score, alternatives); made up for these tests
WORD_TABLE = {
    "firm": ("company", 0.92, ("business", "enterprise")),
    "inventory": ("stock", 0.81, ("shares",)),
    "lengthy": ("long", 0.64, ()),
    "commenced": ("started", 0.55, ("began",)),
}


class WordTableComponent:
    name = "word-table"

    def __init__(self, table: dict):
        self.table = table
        self.pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(table, key=len, reverse=True))) + r")\b",
                                  re.IGNORECASE)

    @classmethod
    def from_pretrained(cls, folder):
        table = {}
        for line in (Path(folder) / "words.tsv").read_text(encoding="utf-8").splitlines():
            spun, original, score, alternatives = line.split("\t")
            table[spun] = (original, float(score), tuple(a for a in alternatives.split(",") if a))
        return cls(table)

    def detect(self, text, threshold):
        from repair.edits import Span

        return [Span(m.start(), m.end(), m.group(), self.table[m.group().lower()][1], self.name)
                for m in self.pattern.finditer(text) if self.table[m.group().lower()][1] >= threshold]

    def rewrite(self, text, spans):
        from repair.edits import Alternative, Edit, match_case

        edits = []
        for span in spans:
            original, score, alternatives = self.table[span.text.lower()]
            edits.append(Edit(span.start, span.end, span.text, match_case(span.text, original), score,
                              tuple(Alternative(match_case(span.text, a), round(score / 2, 2)) for a in alternatives),
                              self.name))
        return edits


def write_model_dir(root: Path) -> Path:
    """A models folder whose lexicon/ is the word table (found by Repairer.from_pretrained)."""
    folder = root / "lexicon"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "component.json").write_text(json.dumps({"type": TYPE_NAME, "threshold": 0.5}), encoding="utf-8")
    (folder / "words.tsv").write_text(
        "".join(f"{spun}\t{o}\t{s}\t{','.join(a)}\n" for spun, (o, s, a) in WORD_TABLE.items()), encoding="utf-8")
    return root


def register() -> None:
    from repair import components

    components.COMPONENT_TYPES[TYPE_NAME] = TYPE_PATH


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).resolve().parent.parent)]
    register()
    from repair.cli import main

    sys.exit(main(sys.argv[1:]))
