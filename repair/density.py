"""A document-level spin verdict from spun words per 1,000 words.

The score is normalised by length, so a long clean document with the detector's usual handful of
false alarms scores the same as a short one and stays "clean". Bands (see docs/markup.md):

* ``clean``         below 20 spun words per 1,000 (2%), or fewer than 2 spun words in all;
* ``suspicious``    20 up to 80 per 1,000, with at least 2 spun words;
* ``heavily spun``  80 per 1,000 (8%) or more, with at least 3 spun words.

The minimum counts keep a 15-word paragraph with one flagged word from being called spun.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # edits imports this module; the type is for readers only
    from .edits import RepairResult


@dataclass(frozen=True)
class Band:
    verdict: str
    min_per_1000: float
    min_spun_words: int


# highest band first; the first band whose both minimums a document reaches is its verdict
BANDS = (
    Band("heavily spun", 80.0, 3),
    Band("suspicious", 20.0, 2),
    Band("clean", 0.0, 0),
)
VERDICTS = tuple(band.verdict for band in BANDS)


def verdict_for(per_1000: float, spun_words: int) -> str:
    for band in BANDS:
        if per_1000 >= band.min_per_1000 and spun_words >= band.min_spun_words:
            return band.verdict
    return BANDS[-1].verdict


@dataclass(frozen=True)
class SpinDensity:
    words: int
    spun_words: int
    per_1000: float
    verdict: str

    @classmethod
    def of(cls, words: int, spun_words: int) -> "SpinDensity":
        per_1000 = 1000.0 * spun_words / words if words else 0.0
        return cls(words, spun_words, per_1000, verdict_for(per_1000, spun_words))

    @classmethod
    def from_result(cls, result: "RepairResult") -> "SpinDensity":
        return cls.of(result.words, result.words_changed)

    def to_dict(self) -> dict:
        return {"words": self.words, "spun_words": self.spun_words,
                "spin_per_1000": round(self.per_1000, 2), "verdict": self.verdict}
