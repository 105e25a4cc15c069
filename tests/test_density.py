"""Spin density: a length-normalised document score and its verdict band."""
import json
import random
import re

import pytest

from repair.density import BANDS, VERDICTS, SpinDensity, verdict_for
from repair.edits import Edit, RepairResult, Span
from repair.repairer import Repairer

RESTORE = {"firm": "company", "inventory": "stock", "lengthy": "long"}
FLAGGED = re.compile(r"\b(" + "|".join(RESTORE) + r")\b")
FILLER = ("the report says that our team shipped a new version of the tool to every customer "
          "after weeks of careful testing and review by the people who use it daily").split()


class ToyDetector:
    name = "toy-detector"

    def detect(self, text, threshold):
        return [Span(m.start(), m.end(), m.group(0), 1.0, "toy") for m in FLAGGED.finditer(text)]


class ToyRewriter:
    name = "toy-rewriter"

    def rewrite(self, text, spans):
        return [Edit(s.start, s.end, s.text, RESTORE[s.text], 1.0) for s in spans]


def document(words: int, spun_every: int, seed: int = 7) -> str:
    """``words`` words of ordinary prose with a spinner word at every ``spun_every``-th position."""
    rng = random.Random(seed)
    out = []
    for i in range(1, words + 1):
        out.append(rng.choice(sorted(RESTORE)) if spun_every and i % spun_every == 0 else rng.choice(FILLER))
        if i % 15 == 0:
            out[-1] += "."
    return " ".join(out)


def repair(text):
    return Repairer(ToyDetector(), ToyRewriter()).repair(text)


def test_bands_and_thresholds():
    assert VERDICTS == ("heavily spun", "suspicious", "clean")
    assert verdict_for(0.0, 0) == "clean"
    assert verdict_for(19.99, 50) == "clean"
    assert verdict_for(20.0, 2) == "suspicious"
    assert verdict_for(79.9, 10) == "suspicious"
    assert verdict_for(80.0, 3) == "heavily spun"
    assert [b.min_per_1000 for b in BANDS] == sorted((b.min_per_1000 for b in BANDS), reverse=True)


def test_a_few_flags_in_a_tiny_text_are_not_a_verdict():
    # one flagged word in ten is 100 per 1,000 but one word is no evidence of a spinner
    assert verdict_for(100.0, 1) == "clean"
    assert verdict_for(200.0, 2) == "suspicious"
    result = repair("The firm said nothing else of note today at all.")
    assert result.words_changed == 1 and result.spin_per_1000 == 100.0
    assert result.verdict == "clean"


def test_long_clean_document_does_not_look_spun_because_it_is_long():
    # the same false-alarm rate (1 in 200 words) at 200 and at 40,000 words
    short, long_ = repair(document(200, 200)), repair(document(40_000, 200))
    assert long_.words == 40_000 and long_.words_changed == 200
    assert short.spin_per_1000 == pytest.approx(long_.spin_per_1000) == pytest.approx(5.0)
    assert short.verdict == long_.verdict == "clean"


def test_score_tracks_the_spun_share_not_the_count():
    light, heavy = repair(document(2_000, 30)), repair(document(300, 8))
    assert light.words_changed > heavy.words_changed  # more spun words in all...
    assert light.spin_per_1000 < heavy.spin_per_1000  # ...but a smaller share of the text
    assert light.verdict == "suspicious"
    assert heavy.verdict == "heavily spun"


def test_verdict_in_json_report():
    result = repair(document(300, 8))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "heavily spun"
    assert data["spin_per_1000"] == round(result.spin_per_1000, 2)
    empty = RepairResult("", (), "", "sig")
    assert empty.to_dict()["verdict"] == "clean" and empty.spin_per_1000 == 0.0


def test_spin_density_from_result():
    result = repair(document(1_000, 40))
    density = SpinDensity.from_result(result)
    assert density == SpinDensity(1_000, 25, 25.0, "suspicious")
    assert density.to_dict() == {"words": 1000, "spun_words": 25, "spin_per_1000": 25.0, "verdict": "suspicious"}
