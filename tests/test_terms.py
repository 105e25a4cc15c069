"""Term images (repair/terms.py): a word whose thesaurus neighbour makes a known term beside it."""
import math
from dataclasses import replace
from pathlib import Path

import pytest

from repair.detect import WordScore
from repair.edits import Span
from repair.lexicon import Lexicon
from repair.terms import TermImages, TermSettings

LEXICON = Path(__file__).resolve().parent.parent / "models" / "lexicon"
SPUN = "She paid with her credit menu at the shop. The kids ate ice lotion after lunch."
CLEAN = ("She paid with her credit card at the shop. The kids ate ice cream after lunch. "
         "The council voted to repair the bridge within the next twelve months, officials said.")


@pytest.fixture(scope="module")
def terms() -> TermImages:
    return TermImages(Lexicon.load(LEXICON), TermSettings(min_strength=-1.0))


def _scores_for(text, spin):
    import re

    return [WordScore(m.start(), m.end(), spin(m.group(0)), 1.0) for m in re.finditer(r"\w+", text)]


def test_a_spun_word_of_a_term_is_found_with_the_term_word_as_its_image(terms):
    found = {(SPUN[i.start:i.end], i.image) for i in terms.images(SPUN)}
    assert found == {("menu", "card"), ("lotion", "cream")}
    assert all(i.strength >= -1.0 for i in terms.images(SPUN))


def test_clean_terms_and_plain_prose_give_no_images(terms):
    assert terms.images(CLEAN) == []


def test_names_are_not_terms(terms):
    assert terms.images("She met Credit Menu at the shop.") == []


def test_spans_carry_the_image_as_suggestion_and_respect_the_tagger_floor():
    terms = TermImages(Lexicon.load(LEXICON), TermSettings(min_strength=-1.0, min_spin=0.02))
    sure_clean = _scores_for(SPUN, lambda w: 0.001)
    assert terms.extend(SPUN, [], sure_clean) == []
    unsure = _scores_for(SPUN, lambda w: 0.03 if w in ("menu", "lotion") else 0.001)
    spans = terms.extend(SPUN, [], unsure)
    assert [(s.text, s.source, s.suggestions, s.score) for s in spans] == [("menu", "term", ("card",), 0.03),
                                                                           ("lotion", "term", ("cream",), 0.03)]
    # a word the detector has already marked is left to it
    taken = Span(SPUN.index("menu"), SPUN.index("menu") + 4, "menu", 0.9, "tagger")
    spans = terms.extend(SPUN, [taken], unsure)
    assert [(s.text, s.source) for s in spans] == [("menu", "tagger"), ("lotion", "term")]


def test_a_stricter_setting_finds_fewer(terms):
    strict = TermImages(terms.lexicon, TermSettings(min_strength=-0.8))
    assert {i.image for i in strict.images(SPUN)} == {"cream"}  # "credit card" is the weaker pair


def test_compounds_only_keeps_terms_and_skips_verbs_and_adverbs():
    from repair.terms import reads_as_compound

    prose = "Trade was greatly stimulated by the treaty."
    loose = TermImages(Lexicon.load(LEXICON), TermSettings(min_strength=-1.5))
    assert [prose[i.start:i.end] for i in loose.images(prose)] == ["stimulated"]
    compounds = TermImages(loose.lexicon, TermSettings(min_strength=-1.5, compounds_only=True))
    assert compounds.images(prose) == []
    assert {i.image for i in compounds.images(SPUN)} == {"card", "cream"}
    assert reads_as_compound("credit", "menu") and reads_as_compound("running", "time")
    assert not reads_as_compound("greatly", "stimulated") and not reads_as_compound("entirely", "free")
    assert reads_as_compound("tanh", "work")  # a word lemminflect does not know may be a name
    assert TermSettings(min_strength=-1.5, compounds_only=True).signature == ">=-1.5/v1/z0/nc@0"


def test_the_detector_names_the_term_settings_in_its_signature():
    from repair.detect import TaggerDetector

    detector = TaggerDetector.__new__(TaggerDetector)
    detector.name, detector.gate, detector.vouch, detector.baseline = "tagger", None, None, None
    detector.unsure = None
    detector.terms = TermImages(Lexicon.load(LEXICON), TermSettings(min_strength=-1.0, min_spin=0.02))
    spans = detector.spans(SPUN, _scores_for(SPUN, lambda w: 0.03), 0.65)
    assert [s.text for s in spans] == ["menu", "lotion"]
    assert detector.signature_settings == {"terms": ">=-1/v1/z0@0.02"}
    assert TermSettings(min_strength=-1.3, both_min_strength=-1.0).signature == ">=-1.3/v1/z0/both>=-1@0"


def test_the_shipped_models_restore_a_spun_term_and_leave_the_clean_one():
    from repair import Repairer

    repairer = Repairer.from_pretrained()
    spun = "She paid with her credit menu at the shop."
    result = repairer.repair(spun)
    assert result.repaired == "She paid with her credit card at the shop."
    assert "|terms:" in result.signature
    assert repairer.repair("She paid with her credit card at the shop.").edits == ()


def test_the_thesaurus_terms_count_as_known_pairs_only_where_the_settings_read_them(terms):
    lexicon = terms.lexicon
    assert lexicon.is_thesaurus_term("heart", "attack") and not lexicon.is_thesaurus_term("heart", "assault")
    spun = "The patient suffered a heart assault last year."
    # "heart attack" is too rare a pair in the tables' own figures to be an image at -1.5 ...
    assert TermImages(lexicon, TermSettings(min_strength=-1.5)).images(spun) == []
    # ... but the thesaurus lists it as a term
    reading = TermImages(lexicon, TermSettings(min_strength=-1.5, thesaurus_terms=-1.0))
    assert [(spun[i.start:i.end], i.image, i.strength) for i in reading.images(spun)] == [("assault", "attack", -1.0)]
    # a written pair that is itself a thesaurus term is not spun, and a stronger table figure is kept
    assert reading.images("The patient suffered a heart attack last year.") == []
    assert reading.pair_strength("nervous", "system") == lexicon.known_pair_logp("nervous", "system") > -1.0
    assert TermSettings(min_strength=-1.5, thesaurus_terms=-1.0, min_spin=0.02).signature == ">=-1.5/v1/z0/th-1@0.02"


def test_a_lexicon_built_before_the_terms_table_has_no_thesaurus_terms(tmp_path):
    for table in LEXICON.iterdir():
        if table.name != "terms.tsv.gz":
            (tmp_path / table.name).symlink_to(table)
    assert not Lexicon(tmp_path).is_thesaurus_term("heart", "attack")


def test_the_terms_table_keeps_two_word_terms_of_content_words(tmp_path, monkeypatch):
    import gzip
    import json
    import sys

    sys.path.insert(0, str(LEXICON.parent.parent / "scripts"))
    import build_lexicon

    mythes = tmp_path / "th_en_US_v2.dat"
    mythes.write_text("UTF-8\nheart attack|1\n(noun)|coronary|attack (generic term)\nHague Convention|1\n(noun)|treaty\n"
                      "out of order|1\n(adj)|broken\nin fact|1\n(adv)|actually\nsea level|1\n(noun)|level\n"
                      "attack|1\n(noun)|onslaught\n", encoding="utf-8")
    monkeypatch.setattr(build_lexicon, "MYTHES", mythes)
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "component.json").write_text(json.dumps({"type": "lexicon", "counts": {}}))
    assert build_lexicon.main(["--out", str(tmp_path / "lexicon"), "--terms-only"]) == 0
    with gzip.open(tmp_path / "lexicon" / "terms.tsv.gz", "rt") as handle:
        assert handle.read().splitlines() == ["heart\tattack", "sea\tlevel"]
    config = json.loads((tmp_path / "lexicon" / "component.json").read_text())
    assert config["counts"]["thesaurus_terms"] == 2


def test_images_only_the_thesaurus_vouches_for_can_need_a_higher_tagger_floor(terms):
    text = "The patient suffered a heart assault. She paid with her credit menu."
    settings = TermSettings(min_strength=-1.5, min_spin=0.02, thesaurus_terms=-1.0, thesaurus_min_spin=0.1)
    reading = TermImages(terms.lexicon, settings)
    assert [(i.image, i.vouched_by) for i in reading.images(text)] == [("attack", "thesaurus"), ("card", "tables")]
    unsure = _scores_for(text, lambda w: 0.05 if w in ("assault", "menu") else 0.001)
    assert [s.suggestions for s in reading.extend(text, [], unsure)] == [("card",)]
    surer = _scores_for(text, lambda w: 0.2 if w in ("assault", "menu") else 0.001)
    assert [s.suggestions for s in reading.extend(text, [], surer)] == [("attack",), ("card",)]
    assert settings.signature == ">=-1.5/v1/z0/th-1:0.1@0.02"


def test_the_shipped_models_restore_a_term_only_the_thesaurus_knows_well():
    from repair import Repairer

    repairer = Repairer.from_pretrained()
    assert "/th" in repairer.detector.terms.settings.signature
    assert not TermImages(repairer.detector.terms.lexicon, TermSettings(min_strength=-1.5)).images(
        "rising ocean level")  # the pair tables alone know "sea level" too weakly
    spun = "Coastal towns worry about rising ocean level each winter."
    assert repairer.repair(spun).repaired == "Coastal towns worry about rising sea level each winter."
    assert repairer.repair("Coastal towns worry about rising sea level each winter.").edits == ()


def _lexicon_with_table(folder: Path, name: str, rows: list[str] | None) -> Lexicon:
    """The shipped lexicon with table ``name`` holding ``rows`` instead (None: without it)."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    for table in LEXICON.iterdir():
        if table.name != name:
            (folder / table.name).symlink_to(table)
    if rows is not None:
        with gzip.open(folder / name, "wt", encoding="utf-8") as handle:
            handle.write("".join(row + "\n" for row in rows))
    return Lexicon(folder)


def test_pairs_our_documents_use_count_as_known_only_where_the_settings_read_them(tmp_path):
    # "package manager" is in neither pair table; in this table "manager" mostly follows "package"
    lexicon = _lexicon_with_table(tmp_path, "corpus_pairs.tsv.gz", ["package\tmanager\t-1.69\t-0.96\t15"])
    assert lexicon.known_pair_logp("package", "manager") is None
    assert lexicon.corpus_pair_logp("package", "manager") == (-1.69, -0.96)
    assert lexicon.corpus_pair_logp("manager", "package") is None
    spun = "Install it with the package commandant of your system."
    base = dict(min_strength=-1.5, min_spin=0.02)
    assert TermImages(lexicon, TermSettings(**base)).images(spun) == []
    # read forward (as the other tables are) the pair is too weak an image at -1.5 ...
    assert TermImages(lexicon, TermSettings(**base, corpus_pairs="forward")).images(spun) == []
    # ... read in either direction it is strong enough
    either = TermImages(lexicon, TermSettings(**base, corpus_pairs="either"))
    assert [(spun[i.start:i.end], i.image, i.strength, i.vouched_by) for i in either.images(spun)] == [
        ("commandant", "manager", -0.96, "corpus")]
    # such an image can need a higher tagger floor of its own
    unsure = _scores_for(spun, lambda w: 0.03 if w == "commandant" else 0.001)
    assert [s.suggestions for s in either.extend(spun, [], unsure)] == [("manager",)]
    careful = TermImages(lexicon, TermSettings(**base, corpus_pairs="either", corpus_min_spin=0.05))
    assert careful.extend(spun, [], unsure) == []
    assert careful.settings.signature == ">=-1.5/v1/z0/corpus-either:0.05@0.02"
    # the written term itself is known, so not spun
    assert either.images("Install it with the package manager of your system.") == []
    assert TermSettings(**base, corpus_pairs="either").signature == ">=-1.5/v1/z0/corpus-either@0.02"


def test_a_lexicon_built_before_the_corpus_table_counts_no_pairs(tmp_path):
    lexicon = _lexicon_with_table(tmp_path, "corpus_pairs.tsv.gz", None)
    assert lexicon.corpus_pair_logp("standard", "deviation") is None
    reading = TermImages(lexicon, TermSettings(min_strength=-1.5, corpus_pairs="either"))
    assert reading.pair_strength("package", "manager") is None


def test_the_corpus_table_counts_train_documents_only_in_both_directions(tmp_path, monkeypatch):
    import gzip
    import json
    import sys
    from types import SimpleNamespace

    sys.path.insert(0, str(LEXICON.parent.parent / "scripts"))
    import build_corpus_pairs

    train = SimpleNamespace(id="a", domain="science", paragraphs=(
        "Use a package manager. A package manager installs. Managers install the package first.",
        "The package manager of the package manager, a package manager-like tool."))
    held = SimpleNamespace(id="b", domain="science", paragraphs=("A neural network. A neural network. A neural network.",))
    monkeypatch.setattr(build_corpus_pairs.build_data, "load_sources", lambda moby, domains: [train, held])
    monkeypatch.setattr(build_corpus_pairs.build_data, "split_of", lambda doc_id, seed: "train" if doc_id == "a" else "test")
    (tmp_path / "component.json").write_text(json.dumps({"type": "lexicon", "counts": {}, "sources": {}}))
    assert build_corpus_pairs.main(["--lexicon", str(tmp_path), "--min-count", "3"]) == 0
    with gzip.open(tmp_path / "corpus_pairs.tsv.gz", "rt") as handle:
        rows = handle.read().splitlines()
    # "package" 6 times, "manager" 5 times (the one glued by a hyphen is not a pair); "neural network" is not train's
    assert rows == ["package\tmanager\t-0.18\t-0.10\t4"]
    config = json.loads((tmp_path / "component.json").read_text())
    assert config["counts"]["corpus_pairs"] == 1 and "science 1" in config["sources"]["corpus_pairs"]


def test_the_shipped_models_find_a_term_only_our_documents_know():
    from repair import Repairer

    repairer = Repairer.from_pretrained()
    assert "/corpus-" in repairer.detector.terms.settings.signature
    lexicon = repairer.detector.terms.lexicon
    assert lexicon.known_pair_logp("package", "manager") is None and not lexicon.is_thesaurus_term("package", "manager")
    spun = "The manual explains the package commandant in detail."
    [span] = repairer.detect(spun)
    assert (spun[span.start:span.end], span.source, span.suggestions) == ("commandant", "term", ("manager",))
    # the keep margin restores it; the shipped vetting model (stop 46) keeps it, since "officer" runs the image
    # close and a term span's narrow win is right less often than a tagger span's (rewriter card)
    margin_only = replace(repairer.rewriter.decide, vet=None)
    decisions = repairer.rewriter.score_spans(spun, [span])
    [edit] = repairer.rewriter.edits_for(spun, decisions, margin_only)
    assert edit.replacement == "manager"
    assert repairer.repair("The manual explains the package manager in detail.").edits == ()


def test_pairs_the_lm_expects_in_a_paper_count_as_known_only_where_the_settings_read_them(tmp_path):
    lexicon = _lexicon_with_table(tmp_path / "with", "paper_collocations.tsv.gz", ["disk\tquota\t-0.80\tspace\t-0.9"])
    assert lexicon.paper_pair_logp("disk", "quota") == -0.8
    assert lexicon.paper_pair_logp("quota", "disk") is None
    spun = "Each user has a disk ration of ten gigabytes."
    base = dict(min_strength=-1.5, min_spin=0.02)
    # neither pair table nor our documents know "disk quota"
    assert TermImages(lexicon, TermSettings(**base, corpus_pairs="either")).images(spun) == []
    reading = TermImages(lexicon, TermSettings(**base, paper_pairs=True))
    assert [(spun[i.start:i.end], i.image, i.strength, i.vouched_by) for i in reading.images(spun)] == [
        ("ration", "quota", -0.8, "paper")]
    unsure = _scores_for(spun, lambda w: 0.1 if w == "ration" else 0.001)
    assert [s.suggestions for s in reading.extend(spun, [], unsure)] == [("quota",)]
    careful = TermImages(lexicon, TermSettings(**base, paper_pairs=True, paper_min_spin=0.2))
    assert careful.extend(spun, [], unsure) == []
    assert careful.settings.signature == ">=-1.5/v1/z0/paper:0.2@0.02"
    assert reading.images("Each user has a disk quota of ten gigabytes.") == []
    # a lexicon without the table knows no such pair, and that is not an error
    assert _lexicon_with_table(tmp_path / "without", "paper_collocations.tsv.gz", None).paper_pair_logp(
        "disk", "quota") is None


def test_an_image_made_of_common_words_side_by_side_is_no_term():
    lexicon = Lexicon.load(LEXICON)
    base = dict(min_strength=-1.5, min_spin=0.02, corpus_pairs="either")
    loose, strict = (TermImages(lexicon, TermSettings(**base, min_association=m)) for m in (None, 2.5))
    # "went back" is a strong pair only because "back" follows almost anything
    ordinary = "The door flew back and the wind came in."
    assert [(ordinary[i.start:i.end], i.image) for i in loose.images(ordinary)] == [("flew", "went")]
    assert strict.images(ordinary) == []
    # "package manager" occurs far more often than its words would by chance
    term = "Install it with the package commandant of your system."
    assert [i.image for i in strict.images(term)] == ["manager"]
    assert strict.settings.signature == ">=-1.5/v1/z0/corpus-either/pmi2.5@0.02"


def test_an_image_rarer_than_the_written_word_is_found_only_below_a_zero_zipf_gain():
    lexicon = Lexicon.load(LEXICON)
    base = dict(min_strength=-1.5, min_spin=0.02, corpus_pairs="either")
    plain, rarer = (TermImages(lexicon, TermSettings(**base, min_zipf_gain=gain)) for gain in (0.0, -1.0))
    # a spinner may trade a term's word for a commoner synonym: "loss" is rarer than "death"
    text = "Clearing the forest is the main cause of habitat death for these birds."
    at = text.index("death")
    assert lexicon.zipf("loss") < lexicon.zipf("death")
    assert not [i for i in plain.images(text) if i.start == at]
    assert [(text[i.start:i.end], i.image) for i in rarer.images(text) if i.start == at] == [("death", "loss")]
    assert rarer.settings.signature == ">=-1.5/v1/z-1/corpus-either@0.02"


def test_a_long_text_the_tagger_finds_clean_throughout_admits_no_image_and_a_short_one_still_does():
    settings = TermSettings(min_strength=-1.0, min_spin=0.02, quiet_words=40, quiet_spin=0.01)
    terms = TermImages(Lexicon.load(LEXICON), settings)
    filler = " The council voted to repair the old bridge next year, officials said." * 4
    long_text = SPUN + filler
    assert len(_scores_for(long_text, lambda w: 0)) >= 40 > len(_scores_for(SPUN, lambda w: 0))

    def spins(w):  # the written words are unsure, everything else clean
        return 0.03 if w in ("menu", "lotion") else 0.001

    assert terms.extend(long_text, [], _scores_for(long_text, spins)) == []
    assert [s.text for s in terms.extend(SPUN, [], _scores_for(SPUN, spins))] == ["menu", "lotion"]
    # the same long text with spins raised throughout, as in a spun document, is judged word by word again
    spun_throughout = _scores_for(long_text, lambda w: 0.3 if w in ("menu", "lotion") else 0.02)
    assert [s.text for s in terms.extend(long_text, [], spun_throughout)] == ["menu", "lotion"]
    assert "/quiet<0.01~40w" in settings.signature
    assert "quiet" not in TermSettings(min_strength=-1.0).signature


def _term_vet(weights: dict, threshold: float) -> dict:
    """A term vet's config that weighs only ``weights`` (standardised by nothing), as fit_term_vet.py writes one."""
    names = list(weights)
    return {"features": names, "weights": list(weights.values()), "bias": 0.0, "means": [0.0] * len(names),
            "scales": [1.0] * len(names), "threshold": threshold}


def test_a_term_vet_admits_images_by_their_evidence_instead_of_the_tagger_floor():
    """With a vet the floors no longer decide: an image the tagger half suspects is taken where the model's probability
    reaches the threshold, and one it calls clean is not, whatever floor the settings name."""
    from repair.terms import TERM_FEATURES

    lexicon = Lexicon.load(LEXICON)
    vetted = TermImages(lexicon, TermSettings(min_strength=-1.0, min_spin=0.9, vet=_term_vet({"spin_logit": 1.0}, 0.5)))
    unsure = _scores_for(SPUN, lambda w: 0.7 if w == "menu" else 0.2 if w == "lotion" else 0.001)
    spans = vetted.extend(SPUN, [], unsure)
    assert [(s.text, s.source, s.suggestions) for s in spans] == [("menu", "term", ("card",))]
    found = {SPUN[i.start:i.end]: i for i in vetted.images(SPUN)}
    row = dict(zip(TERM_FEATURES, vetted.features(SPUN, found["menu"], unsure)))
    assert len(row) == len(TERM_FEATURES)
    assert row["spin_logit"] == pytest.approx(math.log(0.7 / 0.3)) and row["both"] == 0.0
    assert row["strength"] == found["menu"].strength and row["zipf_gain"] > 0  # "card" is commoner than "menu"
    assert row["compound"] == 1.0  # "credit menu" reads as a noun compound
    assert vetted.settings.signature.endswith("/vet>=0.5")
    with pytest.raises(ValueError, match="term_images.vet"):
        TermImages(lexicon, TermSettings(vet=_term_vet({"a feature no version computes": 1.0}, 0.5)))


def test_a_term_image_records_its_pair_as_written_and_as_imaged(terms):
    found = {SPUN[i.start:i.end]: i for i in terms.images(SPUN)}
    assert found["menu"].written_pair == ("credit", "menu") and found["menu"].image_pair == ("credit", "card")
    assert found["lotion"].written_pair == ("ice", "lotion") and found["lotion"].image_pair == ("ice", "cream")


def test_fit_term_vet_counts_images_in_text_order_as_the_stage_takes_them():
    """The fitting script's report admits images the way ``TermImages.extend`` does: at the threshold, in text order,
    never one that overlaps an image already taken in the same text."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from fit_term_vet import admitted, figures
    from repair.terms import TermImage

    class ByFirstValue:
        def probability(self, row):
            return row[0]

    text, other_text = "credit menu lotion", "ice lotion"
    found = [(text, TermImage(0, 6, "card", -1.0), [0.9], "gold", 3),
             (text, TermImage(0, 11, "credit card", -1.5), [0.8], "other", 3),  # overlaps the first: not taken
             (text, TermImage(12, 18, "cream", -1.0), [0.3], "gold", 3),        # under the threshold
             (other_text, TermImage(0, 3, "nice", -1.2), [0.7], "clean", 2)]
    counts = admitted(found, ByFirstValue(), 0.5)
    assert (counts["gold"], counts["other"], counts["clean"]) == (1, 0, 1)
    assert figures(counts, 2000) == {"gold": 1, "other": 0, "clean": 1, "clean_per_1k": 0.5, "precision": 0.5}


def test_a_term_vet_that_only_adds_keeps_what_the_floors_admit():
    lexicon = Lexicon.load(LEXICON)
    floors = {"min_strength": -1.0, "min_spin": 0.5}
    scores = _scores_for(SPUN, lambda w: 0.7 if w == "menu" else 0.2 if w == "lotion" else 0.001)
    # the vet wants a spin the text never has; alone it admits nothing, adding to the floors it keeps their "menu"
    strict = _term_vet({"spin_logit": 1.0}, 0.99)
    alone = TermImages(lexicon, TermSettings(min_strength=-1.0, vet=strict))
    assert alone.extend(SPUN, [], scores) == []
    adding = TermImages(lexicon, TermSettings(min_strength=-1.0, vet=strict, vet_adds=True, floor_settings=floors))
    assert [s.text for s in adding.extend(SPUN, [], scores)] == ["menu"]
    # a vet that takes "lotion" too adds it beside the floors' "menu"
    lenient = TermImages(lexicon, TermSettings(min_strength=-1.0, vet=_term_vet({"spin_logit": 1.0}, 0.1),
                                               vet_adds=True, floor_settings=floors))
    # the floors' image keeps the stage's source; the one the vet added says so, for the rewriter's own bar
    assert [(s.text, s.source) for s in lenient.extend(SPUN, [], scores)] == [("menu", "term"), ("lotion", "term-vet")]
    assert "/vet>=0.1/vet+>=-1/v1/z0@0.5" in lenient.settings.signature


def test_a_term_vet_judges_only_texts_up_to_its_word_limit():
    lexicon = Lexicon.load(LEXICON)
    floors = {"min_strength": -1.0, "min_spin": 0.5}
    scores = _scores_for(SPUN, lambda w: 0.7 if w == "menu" else 0.2 if w == "lotion" else 0.001)
    lenient = _term_vet({"spin_logit": 1.0}, 0.1)

    def stage(limit):
        return TermImages(lexicon, TermSettings(min_strength=-1.0, vet=lenient, vet_adds=True, floor_settings=floors,
                                                vet_max_words=limit))

    assert [s.text for s in stage(len(scores)).extend(SPUN, [], scores)] == ["menu", "lotion"]
    # one word longer than the limit: the floors' image alone, as in a whole document
    assert [(s.text, s.source) for s in stage(len(scores) - 1).extend(SPUN, [], scores)] == [("menu", "term")]
    assert f"/vet>=0.1~<={len(scores) - 1}w/vet+" in stage(len(scores) - 1).settings.signature
