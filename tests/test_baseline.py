"""The lexicon baseline in both roles, alone and behind the Repairer façade."""
from pathlib import Path

import pytest

from repair.baseline import LexiconBaseline
from repair.edits import Span, apply_edits
from repair.repairer import Repairer

MODELS = Path(__file__).resolve().parent.parent / "models"
SPUN = "She paid with her acknowledgment card at the shop. They spent a huge quantity of cash on the wedding."
CLEAN = "She paid with her credit card at the shop. They spent a huge amount of cash on the wedding."


@pytest.fixture(scope="module")
def baseline() -> LexiconBaseline:
    return LexiconBaseline.from_pretrained(MODELS / "lexicon")


def test_flags_and_repairs_a_spun_sentence(baseline):
    spans = baseline.detect(SPUN, 0.5)
    assert [s.text for s in spans] == ["acknowledgment", "quantity"]
    assert all(0.5 <= s.score <= 1.0 and s.source == "lexicon" for s in spans)
    edits = baseline.rewrite(SPUN, spans)
    assert [e.replacement for e in edits] == ["credit", "amount"]
    assert all(e.source == "lexicon" and e.alternatives[0].text == e.replacement for e in edits)
    assert apply_edits(SPUN, edits) == CLEAN


def test_clean_sentences_stay_untouched(baseline):
    for text in (CLEAN, "The committee met on Tuesday to discuss the budget for next year.",
                 "We parked the car in the garage and walked home."):
        assert baseline.detect(text, 0.5) == []


def test_casing_is_kept(baseline):
    text = "Acknowledgment card fees rose."
    edits = baseline.rewrite(text, baseline.detect(text, 0.5))
    assert [(e.original, e.replacement) for e in edits] == [("Acknowledgment", "Credit")]
    shouted = "THE LENGTHY TERM EFFECTS"
    edits = baseline.rewrite(shouted, [Span(4, 16, "LENGTHY TERM", 0.9, "other")])
    assert [e.replacement for e in edits] == ["LONG TERM"]


def test_inflection_is_kept(baseline):
    text = "The shop sells used automobiles and trucks."
    edits = baseline.rewrite(text, baseline.detect(text, 0.5))
    assert [(e.original, e.replacement) for e in edits] == [("automobiles", "cars")]
    text = "They spent huge quantities of cash."
    edits = baseline.rewrite(text, [Span(16, 26, "quantities", 0.9, "other")])
    assert [e.replacement for e in edits] == ["amounts"]


def test_names_and_numbers_are_skipped(baseline):
    text = "Mr. Quantity met 3000 voters in Lengthy Falls."
    assert baseline.detect(text, 0.0) == []


def test_rewrite_handles_a_multiword_span_from_elsewhere(baseline):
    text = "The lengthy term effects are unclear."
    span = Span(4, 16, "lengthy term", 0.9, "other")
    edits = baseline.rewrite(text, [span])
    assert [e.replacement for e in edits] == ["long term"]


def test_repairer_uses_the_lexicon_in_both_roles(tmp_path):
    # a models folder holding only the lexicon: it then fills both roles (the trained models,
    # when present beside it, take precedence)
    (tmp_path / "lexicon").symlink_to(MODELS / "lexicon", target_is_directory=True)
    repairer = Repairer.from_pretrained(model_dir=tmp_path)
    assert repairer.detector is repairer.rewriter
    assert repairer.signature.startswith("detector:lexicon@")
    result = repairer.repair(SPUN + "\n\n" + CLEAN)
    assert result.repaired == CLEAN + "\n\n" + CLEAN
    assert result.words_changed == 2
