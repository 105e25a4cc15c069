"""The rewriter's vetting model: fitting, its config round trip, and deciding instead of the keep margin."""
from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from repair.rewrite import CandidatePick, DecideConfig, candidate_picks, consistent_choices
from repair.vet import FEATURES, Vetting, features, fit
from test_rewrite import _decision

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def _rows_where_a_sure_detector_and_a_clear_lead_mean_right(count: int = 200):
    """Candidates whose rightness follows the detector's spin and the lead over keep, as on dev."""
    rows, labels = [], []
    for i in range(count):
        spin = 0.05 + 0.9 * ((i * 37) % 100) / 100
        lead = ((i * 53) % 40) / 4.0 - 2.0
        decision = _decision(0, "firm", -lead, {"company": 0.0, "business": -3.0}, spin=spin, source="tagger")
        rows.append(features(CandidatePick(decision, decision.ranked[0], lead, 1)))
        labels.append(spin * 10 + lead > 9.0)
    return rows, labels


def test_fitted_model_ranks_clear_sure_rewrites_above_doubtful_ones():
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right()
    model = fit(rows, labels, l2=1.0, threshold=0.5)
    sure = _decision(0, "firm", -8.0, {"company": 0.0}, spin=0.95)
    doubtful = _decision(0, "firm", -0.5, {"company": 0.0}, spin=0.1)
    high = model.probability(features(CandidatePick(sure, sure.ranked[0], 8.0, 1)))
    low = model.probability(features(CandidatePick(doubtful, doubtful.ranked[0], 0.5, 1)))
    assert high > 0.8 > 0.2 > low
    predicted = [model.probability(r) >= 0.5 for r in rows]
    assert sum(p == y for p, y in zip(predicted, labels)) / len(labels) > 0.9


def test_config_round_trips_and_refuses_other_features():
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right(60)
    model = fit(rows, labels, threshold=0.3)
    config = model.to_config()
    again = Vetting.from_config(config)
    assert again.threshold == 0.3 and len(again.weights) == len(FEATURES)
    assert abs(again.probability(rows[0]) - model.probability(rows[0])) < 1e-4
    assert Vetting.from_config(None) is None
    with pytest.raises(ValueError, match="features"):
        Vetting.from_config({**config, "features": config["features"][:-1]})
    with pytest.raises(ValueError, match="features"):
        Vetting.from_config({**config, "features": [*config["features"][:-1], "a feature no version computes"]})


def test_a_model_fitted_on_fewer_features_reads_them_by_name():
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right(60)
    kept = [i for i, name in enumerate(FEATURES) if "unsure" not in name]
    model = fit([[r[i] for i in kept] for r in rows], labels, threshold=0.3)
    older = Vetting.from_config({**model.to_config(), "features": [FEATURES[i] for i in kept]})
    assert older.names == tuple(FEATURES[i] for i in kept) and len(kept) < len(FEATURES)
    for row in rows[:5]:
        z = model.bias + sum(w * (row[i] - m) / s for w, i, m, s in zip(model.weights, kept, model.means, model.scales))
        assert older.probability(row) == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-4)


def test_vetting_decides_instead_of_the_keep_margin():
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right()
    model = fit(rows, labels)
    # a lead of 3 misses a keep margin of 5, but from a sure detector the model finds it likely right
    sure = _decision(0, "firm", -3.0, {"company": 0.0}, spin=0.99)
    unsure = _decision(10, "huge", -3.0, {"big": 0.0}, spin=0.06)
    margin_only = DecideConfig(keep_margin=5.0)
    assert consistent_choices([sure, unsure], margin_only) == {}
    vetted = replace(margin_only, vet=replace(model, threshold=0.5).to_config())
    chosen = consistent_choices([sure, unsure], vetted)
    assert chosen[(0, 4)].text == "company" and (10, 14) not in chosen
    nothing = replace(margin_only, vet=replace(model, threshold=1.0).to_config())
    assert consistent_choices([sure, unsure], nothing) == {}


def test_unsure_spans_are_kept_unless_their_own_vetting_model_accepts_them():
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right()
    model = fit(rows, labels)
    flagged = _decision(0, "firm", -8.0, {"company": 0.0}, spin=0.95, source="tagger")
    unsure = _decision(10, "huge", -8.0, {"big": 0.0}, spin=0.95, source="unsure")
    general = DecideConfig(keep_margin=5.0, vet=replace(model, threshold=0.5).to_config())
    # the same evidence: the general model takes the tagger's span, but an unsure one waits for its own model
    assert set(consistent_choices([flagged, unsure], general)) == {(0, 4)}
    assert set(consistent_choices([flagged, unsure], replace(general, vet=None))) == {(0, 4)}
    with_own = replace(general, vet_unsure=replace(model, threshold=0.5).to_config())
    assert set(consistent_choices([flagged, unsure], with_own)) == {(0, 4), (10, 14)}
    strict = replace(general, vet_unsure=replace(model, threshold=1.0).to_config())
    assert set(consistent_choices([flagged, unsure], strict)) == {(0, 4)}


def test_candidate_picks_carry_the_group_lead_and_repeats():
    first = _decision(0, "firm", -6.0, {"company": -0.5, "business": -1.0}, spin=0.9)
    second = _decision(30, "firm", -6.0, {"business": -0.8, "company": -1.2}, spin=0.9)
    picks = candidate_picks([first, second], DecideConfig(consistency_margin=3.0))
    assert [p.pick.text for p in picks] == ["company", "company"]
    assert all(p.repeats == 2 for p in picks)
    assert picks[1].lead == pytest.approx(max((5.5 + 4.8) / 2, 4.8))


def test_original_words_of_a_span_follow_the_gold_edits():
    from calibrate_vet import original_words
    from repair.evaluate import pair_from_dict

    pair = pair_from_dict({"spun": "the inventory market fell", "original": "the stock market fell",
                           "edits": [{"spun_start": 4, "spun_end": 20, "original": "stock market"}]})
    assert original_words(pair, 4, 20) == "stock market"
    assert original_words(pair, 4, 13) == "stock"  # one word of a swap that kept its word count
    assert original_words(pair, 21, 25) is None  # not spun
    assert original_words(pair, 0, 13) == ""  # only partly a swap: nothing restores it


def test_signature_names_the_vetting_threshold():
    from repair.rewrite import ModelConfig, Seq2SeqRewriter

    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right(60)
    rewriter = Seq2SeqRewriter.fresh(ModelConfig(encoder_layers=1, decoder_layers=1), target_texts=["company"])
    assert rewriter.signature_settings == {}
    rewriter.decide = DecideConfig(vet=fit(rows, labels, threshold=0.3).to_config())
    assert rewriter.signature_settings == {"vet": ">=0.3"}


def test_term_spans_follow_their_own_vetting_model_where_there_is_one():
    """A lone spun term needs a clearer win than a word of a document spun throughout: with ``vet_term`` the term
    images' spans are judged by it alone; without it the general model judges them as before."""
    rows, labels = _rows_where_a_sure_detector_and_a_clear_lead_mean_right()
    model = fit(rows, labels)
    flagged = _decision(0, "firm", -8.0, {"company": 0.0}, spin=0.95, source="tagger")
    term = _decision(10, "huge", -8.0, {"big": 0.0}, spin=0.95, source="term")
    general = DecideConfig(keep_margin=5.0, vet=replace(model, threshold=0.5).to_config())
    assert set(consistent_choices([flagged, term], general)) == {(0, 4), (10, 14)}
    strict = replace(general, vet_term=replace(model, threshold=1.0).to_config())
    assert set(consistent_choices([flagged, term], strict)) == {(0, 4)}
    lenient_for_terms = replace(general, vet=replace(model, threshold=1.0).to_config(),
                                vet_term=replace(model, threshold=0.5).to_config())
    assert set(consistent_choices([flagged, term], lenient_for_terms)) == {(10, 14)}
    # judging only the spans a term vet added, it leaves the floors' term spans to the general model
    added_only = replace(lenient_for_terms, vet_term_source="term-vet")
    assert set(consistent_choices([flagged, term], added_only)) == set()
    added = _decision(20, "huge", -8.0, {"big": 0.0}, spin=0.95, source="term-vet")
    assert set(consistent_choices([flagged, term, added], added_only)) == {(20, 24)}
    from repair.rewrite import ModelConfig, Seq2SeqRewriter

    rewriter = Seq2SeqRewriter.fresh(ModelConfig(encoder_layers=1, decoder_layers=1), target_texts=["company"])
    rewriter.decide = strict
    assert rewriter.signature_settings == {"vet": ">=0.5", "vet-term": ">=1"}
