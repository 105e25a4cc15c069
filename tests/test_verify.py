"""--verify lm: a causal LM re-reads the words the tagger was unsure of and admits those a thesaurus
original reads far better in; the tagger's own spans and confident judgements are never changed."""
from __future__ import annotations

import re

import pytest

from repair.components import ComponentError
from repair.detect import WordScore, spans_from_scores
from repair.verify import LMVerifiedDetector, VerifySettings


class PhraseCountingScorer:
    """Log-probability = the sum of the known good phrases' values in the text (4 each when given
    as a list): a stand-in for the LM."""

    name = "phrase-counter"

    def __init__(self, phrases):
        self.phrases = phrases if isinstance(phrases, dict) else {p: 4.0 for p in phrases}
        self.seen: list[str] = []

    def logprobs(self, texts):
        self.seen += texts
        return [sum(v for p, v in self.phrases.items() if p in t.lower()) for t in texts]


class Original:
    def __init__(self, text):
        self.text = text


class ReverseThesaurus:
    def __init__(self, table):
        self.table = table

    def originals_for(self, word):
        return [Original(o) for o in self.table.get(word.lower(), ())]

    def neighbours_in_context(self, words, left, right, limit=30):
        import itertools

        lists = [self.table.get(w.lower(), ()) for w in words]
        return list(itertools.product(*lists))[:limit] if all(lists) else []


class FixedSpinTagger:
    """Per-word spins from a table (0 elsewhere), spans at the threshold like the real tagger."""

    name = "tagger"
    signature_settings = {"doc-gate": "off"}

    def __init__(self, spins, table):
        self.spins = spins
        self.features = type("Features", (), {"lexicon": ReverseThesaurus(table)})()

    def word_scores_many(self, texts):
        return [[WordScore(m.start(), m.end(), self.spins.get(m.group().lower(), 0.0), 1.0)
                 for m in re.finditer(r"\w+", text)] for text in texts]

    def spans(self, text, scores, threshold):
        return spans_from_scores(text, scores, threshold)


TABLE = {"profound": ["deep", "serious"], "learning": ["knowledge"], "counterfeit": ["fake", "artificial"],
         "consciousness": ["awareness", "intelligence"], "firm": ["company"]}


def verified(spins, phrases, settings=None):
    tagger = FixedSpinTagger(spins, TABLE)
    scorer = PhraseCountingScorer(phrases)
    return LMVerifiedDetector(tagger, scorer, settings or VerifySettings(min_gain=4.0)), scorer


def test_an_unsure_word_whose_original_reads_far_better_is_admitted_with_a_suggestion():
    detector, _ = verified({"profound": 0.2}, ["deep learning"])
    text = "We train the model with profound learning on images."
    [span] = detector.detect(text, 0.65)
    assert text[span.start:span.end] == "profound"
    assert span.source == "lm-verify" and span.score == pytest.approx(0.2)  # the tagger's own score
    assert span.suggestions[0] == "deep"


def test_words_the_tagger_scored_below_the_floor_or_without_originals_are_never_read():
    detector, scorer = verified({"profound": 0.01, "images": 0.5}, ["deep learning"])
    assert detector.detect("We train the model with profound learning on images.", 0.65) == []
    assert scorer.seen == []  # no LM pass at all: nothing was worth re-reading


def test_a_small_gain_is_not_enough():
    detector, _ = verified({"firm": 0.3}, ["company said"], VerifySettings(min_gain=6.0))
    assert detector.detect("The firm said so.", 0.65) == []  # 4 nats < 6


def test_the_taggers_own_spans_are_kept_and_not_read_again():
    detector, scorer = verified({"firm": 0.9, "profound": 0.2}, ["deep learning", "company said"])
    text = "The firm said it uses profound learning."
    spans = detector.detect(text, 0.65)
    assert [(text[s.start:s.end], s.source) for s in spans] == [("firm", "tagger"), ("profound", "lm-verify")]
    assert not any("company" in t for t in scorer.seen)


def test_adjacent_admitted_words_become_one_span_restored_together():
    detector, _ = verified({"counterfeit": 0.1, "consciousness": 0.1}, ["artificial intelligence"])
    text = "Work on counterfeit consciousness grows."
    [span] = detector.detect(text, 0.65)
    assert span.text == "counterfeit consciousness"
    assert span.suggestions[0] == "artificial intelligence"  # neither word alone gains anything


def test_a_word_below_the_floor_is_read_beside_a_doubted_neighbour_only_with_a_pair_floor():
    spins = {"counterfeit": 0.1, "consciousness": 0.01}  # the tagger doubts only one word of the term
    text = "Work on counterfeit consciousness grows."
    plain, _ = verified(spins, ["artificial intelligence"])
    assert plain.detect(text, 0.65) == []
    # such a pair needs its own, larger gain: 4 nats pass min_gain but not pair_floor_gain
    strict, _ = verified(spins, ["artificial intelligence"], VerifySettings(min_gain=4.0, pair_floor=0.0,
                                                                                     pair_floor_gain=6.0))
    assert strict.detect(text, 0.65) == []
    paired, scorer = verified(spins, ["artificial intelligence"], VerifySettings(min_gain=4.0, pair_floor=0.0,
                                                                                     pair_floor_gain=4.0))
    [span] = paired.detect(text, 0.65)
    assert span.text == "counterfeit consciousness" and span.suggestions[0] == "artificial intelligence"
    # the low word is never read on its own (that would keep "counterfeit" and change it alone)
    assert not any(f"counterfeit {o}" in t for t in scorer.seen for o in ("awareness", "intelligence"))
    assert any("fake consciousness" in t for t in scorer.seen)  # its doubted neighbour is
    assert paired.signature_settings["verify"] == "phrase-counter>=4@0.05/0>=4"
    assert plain.signature_settings["verify"] == "phrase-counter>=4@0.05"


def test_the_signature_names_the_verifier_and_its_settings():
    detector, _ = verified({}, [])
    assert detector.signature_settings == {"doc-gate": "off", "verify": "phrase-counter>=4@0.05"}


def test_candidates_come_from_the_neighbours_unless_the_originals_are_asked_for():
    """The neighbours may be rarer than the written word ("deep" stands for "profound" here); the
    stop-17 source offers only the reverse thesaurus's more frequent originals."""
    text = "We train the model with profound learning on images."

    class Split(ReverseThesaurus):
        def originals_for(self, word):
            return []  # as if every neighbour of "profound" were rarer than it

    detector, _ = verified({"profound": 0.2}, ["deep learning"])
    detector.lexicon = Split(TABLE)
    assert [s.suggestions[0] for s in detector.detect(text, 0.65)] == ["deep"]
    old, _ = verified({"profound": 0.2}, ["deep learning"], VerifySettings(min_gain=4.0, candidates="originals"))
    old.lexicon = Split(TABLE)
    assert old.detect(text, 0.65) == []
    assert old.signature_settings["verify"] == "phrase-counter>=4@0.05~originals"


def test_verify_needs_a_detector_with_word_scores(toy_model_dir):
    from repair.repairer import Repairer

    with pytest.raises(ComponentError, match="--verify lm needs the tagger"):
        Repairer.from_pretrained(toy_model_dir, verify="lm")


def test_the_rewriter_weighs_the_suggestions(tmp_path):
    """A suggested restoration reaches the seq2seq rewriter's candidates even when its own
    candidate sources would not offer it."""
    from repair.edits import Span
    from repair.rewrite import Seq2SeqRewriter

    rewriter = Seq2SeqRewriter.fresh()
    text = "They fixed the zorblat quickly."
    start = text.index("zorblat")
    plain = Span(start, start + 7, "zorblat", 0.2, "lm-verify")
    [without] = rewriter.score_spans(text, [plain])
    [with_it] = rewriter.score_spans(text, [Span(start, start + 7, "zorblat", 0.2, "lm-verify", ("engine",))])
    assert "engine" not in {c.text for c in without.ranked}
    assert "engine" in {c.text for c in with_it.ranked}


def test_cli_verify_with_a_detector_that_cannot_is_one_line_exit_2(toy_model_dir, tmp_path, capsys):
    from repair.cli import main

    text = tmp_path / "a.txt"
    text.write_text("The motorcar stopped by the eatery.\n", encoding="utf-8")
    assert main(["fix", "--model-dir", str(toy_model_dir), "--verify", "lm", str(text)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--verify lm needs the tagger detector" in err
    assert main(["fix", "--model-dir", str(toy_model_dir), "--verify", "none", str(text)]) == 0


def test_verify_can_be_set_in_pyproject(tmp_path, monkeypatch):
    from repair.config import ConfigError, load_config

    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nverify = "lm"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_config().pick("verify", None, "none") == "lm"
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nverify = "gpt"\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config()


def test_a_clean_word_beside_a_spun_one_is_not_changed_with_it():
    """The pair "novel profound" -> "new deep" reads a little better than "deep" alone, not clearly:
    the gain is "profound"'s, so "novel" stays."""
    detector, _ = verified({"novel": 0.2, "profound": 0.2}, {"deep learning": 4.0, "new deep": 1.0})
    TABLE["novel"] = ["new"]
    try:
        text = "We propose a novel profound learning method."
        [span] = detector.detect(text, 0.65)
    finally:
        del TABLE["novel"]
    assert text[span.start:span.end] == "profound"


# --verify terms: the LM judges the term images (repair.terms) instead of the tagger floors

LEXICON = __import__("pathlib").Path(__file__).resolve().parent.parent / "models" / "lexicon"
SPUN_TERMS = "She paid with her credit menu at the shop. The kids ate ice lotion after lunch."


class TermTagger(FixedSpinTagger):
    """A tagger with the real lexicon's term images behind it, their floors at ``floor``."""

    def __init__(self, spins, floor):
        from repair.lexicon import Lexicon
        from repair.terms import TermImages, TermSettings

        super().__init__(spins, TABLE)
        self.terms = TermImages(Lexicon.load(LEXICON), TermSettings(min_strength=-1.0, min_spin=floor))

    def spans(self, text, scores, threshold):
        return self.terms.extend(text, spans_from_scores(text, scores, threshold), scores)


def terms_verified(spins, phrases, floor=0.5, **settings):
    from repair.verify import VERIFY_MODES

    scorer = PhraseCountingScorer(phrases)
    mode = VerifySettings(**{**VERIFY_MODES["terms"].__dict__, "term_gain": 4.0, **settings})
    return LMVerifiedDetector(TermTagger(spins, floor), scorer, mode), scorer


def test_a_term_image_the_tagger_doubts_too_little_is_admitted_where_the_lm_reads_the_term_far_better():
    detector, scorer = terms_verified({}, ["credit card"])
    spans = detector.detect(SPUN_TERMS, 0.65)
    assert [(s.text, s.source, s.suggestions) for s in spans] == [("menu", "term-lm", ("card",))]
    # only the images were read, each as written and with the image in place: no unsure word, no other candidate
    assert sorted(scorer.seen) == sorted(["She paid with her credit menu at the shop.",
                                          "She paid with her credit card at the shop.",
                                          "The kids ate ice lotion after lunch.", "The kids ate ice cream after lunch."])


def test_a_floor_image_the_lm_admits_becomes_its_span_and_one_it_does_not_stays_the_floors():
    spins = {"menu": 0.6, "lotion": 0.6}
    detector, _ = terms_verified(spins, ["credit card"])
    spans = detector.detect(SPUN_TERMS, 0.65)
    assert [(s.text, s.source, s.score) for s in spans] == [("menu", "term-lm", 0.6), ("lotion", "term", 0.6)]


def test_term_images_are_read_only_in_short_texts():
    long_text = SPUN_TERMS + " " + " ".join(["The council met again."] * 20)
    detector, scorer = terms_verified({}, ["credit card"])
    assert detector.detect(long_text, 0.65) == [] and scorer.seen == []
    unlimited, _ = terms_verified({}, ["credit card"], term_max_words=None)
    assert [s.text for s in unlimited.detect(long_text, 0.65)] == ["menu"]


def test_the_signature_names_what_the_lm_reads():
    from repair.config import VERIFY_CHOICES
    from repair.verify import VERIFY_MODES

    terms_only, _ = terms_verified({}, [], term_gain=15.0)
    assert terms_only.signature_settings["verify"] == "phrase-counter/terms>=15~<=80w"
    both, _ = verified({}, [], VerifySettings(min_gain=4.0, term_gain=10.0, term_max_words=None))
    assert both.signature_settings["verify"] == "phrase-counter>=4@0.05/terms>=10"
    assert VERIFY_CHOICES == ("none", *VERIFY_MODES)


def test_verify_terms_needs_a_detector_with_word_scores(toy_model_dir):
    from repair.repairer import Repairer

    with pytest.raises(ComponentError, match="--verify terms needs the tagger"):
        Repairer.from_pretrained(toy_model_dir, verify="terms")


def test_the_calibration_takes_a_gain_only_where_every_split_keeps_its_precision_and_clean_text_its_limit():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from calibrate_verify_terms import qualifies

    def row(precisions, clean):
        return {"splits": {f"s{k}": {"f0.5": 0.3, "precision": p} for k, p in enumerate(precisions)},
                "clean_per_1k": {"fiction": clean}}

    reference = row([0.70, 0.60], 1.0)
    assert qualifies(row([0.71, 0.60], 1.9), reference, limit=2.0, slack=0.0)
    assert not qualifies(row([0.69, 0.90], 1.0), reference, limit=2.0, slack=0.0)  # one split lost precision
    assert qualifies(row([0.69, 0.90], 1.0), reference, limit=2.0, slack=0.02)
    assert not qualifies(row([0.80, 0.80], 2.5), reference, limit=2.0, slack=0.0)  # too much clean text changed
    assert qualifies(row([None, 0.6], 1.0), row([None, 0.6], 1.0), limit=2.0, slack=0.0)  # no edits on either side
