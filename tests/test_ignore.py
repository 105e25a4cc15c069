"""Ignore lists: words and phrases never flagged, in any case and inflection."""
import re

import pytest

from repair.edits import Edit, Span, match_case
from repair.ignore import DEFAULT_IGNORE_WORDS, IgnoreFileError, IgnoreRules, read_ignore_file
from repair.markup import protected_ranges
from repair.repairer import Repairer

RESTORE = {"firm": "company", "firms": "companies", "inventory": "stock", "lengthy": "long",
           "ran": "walked", "data lake": "data store", "data lakes": "data stores"}
FLAGGED = re.compile(r"\b(" + "|".join(sorted(RESTORE, key=len, reverse=True)) + r")\b", re.IGNORECASE)


class ToyDetector:
    name = "toy-detector"

    def detect(self, text, threshold):
        return [Span(m.start(), m.end(), m.group(0), 1.0, "toy") for m in FLAGGED.finditer(text)]


class ToyRewriter:
    name = "toy-rewriter"

    def rewrite(self, text, spans):
        return [Edit(s.start, s.end, s.text, match_case(s.text, RESTORE[s.text.lower()]), 1.0) for s in spans]


def repairer(rules=None):
    return Repairer(ToyDetector(), ToyRewriter(), ignore=rules)


def test_shipped_default_list_is_empty_and_merged():
    assert DEFAULT_IGNORE_WORDS == ()
    rules = IgnoreRules.from_sources(words=["firm"], defaults=["lengthy"])
    assert rules.entries == ("lengthy", "firm")


def test_ignored_word_is_never_flagged_in_any_case_or_inflection():
    rules = IgnoreRules.from_sources(words=["Firm"])
    text = "The firm, two FIRMS and a Firm keep a lengthy inventory."
    result = repairer(rules).repair(text)
    assert result.repaired == "The firm, two FIRMS and a Firm keep a long stock."
    assert {s.text for s in result.spans} == {"lengthy", "inventory"}


def test_verb_inflections_are_ignored_too():
    rules = IgnoreRules.from_sources(words=["run"])
    assert rules.matches("ran") and rules.matches("Running") and rules.matches("runs")
    assert not rules.matches("rune")
    assert repairer(rules).repair("She ran home.").repaired == "She ran home."
    assert repairer().repair("She ran home.").repaired == "She walked home."


def test_phrases_match_whole_and_across_hyphens_but_not_across_sentences():
    rules = IgnoreRules.from_sources(words=["data lake"])
    text = "Our Data-Lakes and the data lake grow. A data. Lake firm."
    spans = [(m.start(), m.end()) for m in re.finditer(r"(?i)data[- ]lakes?", text)]
    assert rules.ranges(text) == spans
    result = repairer(rules).repair("Our data lakes and a lengthy data lake.")
    assert result.repaired == "Our data lakes and a long data lake."
    # a span touching part of an ignored phrase is dropped as well (precision first)
    assert rules.filter("big data lake", [Span(4, 13, "data lake", 1.0), Span(0, 3, "big", 1.0)]) == [
        Span(0, 3, "big", 1.0)]


def test_curly_apostrophes_match_straight_ones():
    rules = IgnoreRules.from_sources(words=["o'reilly"])
    assert rules.matches("O’Reilly")


def test_ignore_file_and_config_merge(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\ufeff# house style\nfirm   # our own word\n\n  lengthy  \nfirm\n", encoding="utf-8")
    assert read_ignore_file(path) == ["firm", "lengthy", "firm"]
    rules = IgnoreRules.from_sources(words=["inventory", "FIRM"], files=[path])
    assert rules.entries == ("inventory", "FIRM", "firm", "lengthy")
    text = "A firm with a lengthy inventory ran."
    assert repairer(rules).repair(text).repaired == "A firm with a lengthy inventory walked."


def test_missing_or_bad_ignore_file_is_one_clear_error(tmp_path):
    with pytest.raises(IgnoreFileError, match="not found"):
        IgnoreRules.from_sources(files=[tmp_path / "nope.txt"])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(IgnoreFileError, match="cannot read"):
        read_ignore_file(bad)
    with pytest.raises(IgnoreFileError, match="strings"):
        IgnoreRules.from_sources(words=[3])


def test_empty_rules_change_nothing_including_the_signature():
    plain = repairer()
    empty = repairer(IgnoreRules.from_sources())
    assert not IgnoreRules.from_sources()
    assert plain.signature == empty.signature
    text = "A firm with a lengthy inventory."
    assert plain.repair(text) == empty.repair(text)


def test_signature_names_the_ignore_list():
    one = repairer(IgnoreRules.from_sources(words=["firm"])).signature
    other = repairer(IgnoreRules.from_sources(words=["lengthy"])).signature
    assert "ignore:" in one and one != other
    assert one == repairer(IgnoreRules.from_sources(words=["FIRM"])).signature


def test_detect_honours_ignore_rules_and_markup_together():
    rules = IgnoreRules.from_sources(words=["inventory"])
    text = "The firm `firm` keeps inventory.\n"
    result = repairer(rules).repair(text, skip=protected_ranges(text, "markdown"))
    assert result.repaired == "The company `firm` keeps inventory.\n"
    assert [s.text for s in repairer(rules).detect("firm inventory")] == ["firm"]


class ToyComponent(ToyDetector, ToyRewriter):
    name = "toy"

    @classmethod
    def from_pretrained(cls, folder, **options):
        return cls()


def test_from_pretrained_forwards_ignore_rules(tmp_path, monkeypatch):
    from repair import components

    monkeypatch.setitem(components.COMPONENT_TYPES, "toy", f"{__name__}:ToyComponent")
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "component.json").write_text('{"type": "toy"}')
    rules = IgnoreRules.from_sources(words=["firm"])
    loaded = Repairer.from_pretrained(tmp_path, ignore=rules)
    assert loaded.repair("A firm ran.").repaired == "A firm walked."
