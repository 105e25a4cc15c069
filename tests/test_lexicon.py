"""The compiled reverse thesaurus and its bigram model (models/lexicon)."""
from pathlib import Path

import pytest

from repair.lexicon import Candidate, Lexicon

LEXICON = Path(__file__).resolve().parent.parent / "models" / "lexicon"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load(LEXICON)


def texts(candidates):
    return [c.text for c in candidates]


def test_load_is_cached(lexicon):
    assert Lexicon.load(LEXICON) is lexicon


@pytest.mark.parametrize("substitute, original", [("automobile", "car"), ("utilize", "use"), ("lengthy", "long")])
def test_generic_substitutes_map_back_to_a_more_frequent_word(lexicon, substitute, original):
    candidates = lexicon.originals_for(substitute)
    assert all(isinstance(c, Candidate) for c in candidates)
    assert original in texts(candidates[:3])
    assert lexicon.zipf(original) > lexicon.zipf(substitute)
    assert all(lexicon.zipf(c.text) > lexicon.zipf(substitute) for c in candidates)
    assert abs(sum(c.weight for c in candidates) - 1.0) < 1e-6


def test_lookup_ignores_case_and_spacing(lexicon):
    assert texts(lexicon.originals_for("Automobile")) == texts(lexicon.originals_for(" automobile "))


def test_inflected_forms_are_looked_up_by_lemma_and_reinflected(lexicon):
    assert "used" in texts(lexicon.originals_for("utilized")[:3])
    assert "decisions" in texts(lexicon.originals_for("selections"))
    assert "cars" in texts(lexicon.originals_for("automobiles")[:3])


def test_phrases_are_kept_both_ways(lexicon):
    phrase_keys = [key for key in lexicon._reverse if " " in key]
    assert len(phrase_keys) > 1000
    assert lexicon.originals_for(phrase_keys[0])
    assert any(" " in c.text for key in list(lexicon._reverse)[:2000] for c in lexicon.originals_for(key))


def test_unknown_word_has_no_candidates(lexicon):
    assert lexicon.originals_for("qzxv") == []
    assert lexicon.zipf("qzxv") < lexicon.zipf("car")


def test_bigrams_prefer_the_usual_neighbour(lexicon):
    assert lexicon.bigram_count("credit", "card") > 0
    assert lexicon.bigram_logp("credit", "card") > lexicon.bigram_logp("acknowledgment", "card")
    assert lexicon.fit("her", "credit", "card") > lexicon.fit("her", "acknowledgment", "card")
    assert lexicon.fit(None, "long term", None) > lexicon.fit(None, "lengthy term", None)


def test_span_candidates_combine_word_by_word(lexicon):
    candidates = lexicon.span_candidates(["lengthy", "term"], "the", "effects")
    assert candidates[0].text == "long term"
    assert "lengthy term" not in texts(candidates)
    assert abs(sum(c.weight for c in candidates) - 1.0) < 1e-6


def test_neighbours_keep_rarer_words_that_originals_drop(lexicon):
    # a spinner may swap a common word for a rarer one or a rarer for a common one
    assert "job" in lexicon.neighbours_for("occupation")
    assert "occupation" in lexicon.neighbours_for("job")
    assert "occupation" not in texts(lexicon.originals_for("job"))
    assert all(votes >= 1 for votes in lexicon.neighbours_for("job").values())
    assert lexicon.neighbours_for("qzxv") == {}


def test_neighbours_in_context_are_ranked_by_votes_and_fit_and_inflected(lexicon):
    assert lexicon.neighbours_in_context(["inventory"], "the", "market", 3)[0] == ("stock",)
    assert ("cars",) in lexicon.neighbours_in_context(["automobiles"], "new", "are", 3)
    assert lexicon.neighbours_in_context(["lengthy"], "the", "run", 1) == [("long",)]


def test_neighbours_in_context_swap_every_word_of_a_stretch(lexicon):
    pairs = lexicon.neighbours_in_context(["inventory", "exchange"], "the", "is", 5)
    assert pairs[0] == ("stock", "market")
    assert all(len(p) == 2 and p[0] != "inventory" and p[1] != "exchange" for p in pairs)
    assert lexicon.neighbours_in_context(["inventory", "qzxv"], "the", "is") == []


def test_side_fits_cut_the_bigram_fit_in_three(lexicon):
    candidates = [("stock",), ("take", "stock"), ("qzxv",)]
    for (before, inner, after), pieces in zip(lexicon.side_fits("the", candidates, "market"), candidates):
        assert before + inner + after == pytest.approx(lexicon.fit("the", " ".join(pieces), "market"), abs=1e-9)
    (before, inner, after), = lexicon.side_fits(None, [("stock", "market")], None)
    assert before == after == 0.0 and inner == pytest.approx(lexicon.bigram_logp("stock", "market"))


def test_collocations_from_the_lm_raise_pairs_the_google_bigrams_rate_low(lexicon):
    # the distilled table is shipped beside the bigrams; where it knows a pair better it wins
    assert lexicon.collocation_logp("climate", "change") > lexicon.bigram_logp("climate", "change")
    assert lexicon.collocation_logp("ice", "cream") > lexicon.bigram_logp("ice", "cream")
    # and never lowers what the bigrams say
    for w1, w2 in [("the", "city"), ("credit", "card"), ("inventory", "market")]:
        assert lexicon.collocation_logp(w1, w2) >= lexicon.bigram_logp(w1, w2)


def test_features_keep_the_google_fit_and_ranking_takes_the_collocations(lexicon):
    # the detector was trained on ``fit``: it must not change under it
    google_only = lexicon.bigram_logp("the", "ice") + lexicon.bigram_logp("ice", "cream") + lexicon.bigram_logp("cream", "is")
    assert lexicon.fit("the", "ice cream", "is") == pytest.approx(google_only)
    assert lexicon.context_fit("the", "ice cream", "is") > lexicon.fit("the", "ice cream", "is")
    with_lm = lexicon.neighbours_in_context(["inventory"], "the", "market", 5)
    without = lexicon.neighbours_in_context(["inventory"], "the", "market", 5, collocations=False)
    assert with_lm[0] == without[0] == ("stock",)


def test_a_term_swapped_word_by_word_is_found_among_the_pairs_the_tables_know(lexicon):
    # neither word's own shortlist leads back to the term; the known pairs of their neighbours do
    assert ("climate", "change") in lexicon.neighbours_in_context(["atmosphere", "modification"], "the", "is", 5)
    assert ("climate", "change") not in lexicon.neighbours_in_context(["atmosphere", "modification"], "the", "is", 5,
                                                                        collocations=False)
