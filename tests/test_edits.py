"""Applying edits changes only the edited ranges, whatever the text around them looks like."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repair import Repairer
from repair.edits import Edit, OverlappingEditsError, apply_edits, check_edits, map_offset, match_case

# text made of the awkward things real documents hold: CRLF, lone CR, curly quotes, double
# spaces, tabs, non-breaking spaces, accents, CJK, emoji (astral plane) and combining marks
AWKWARD = st.sampled_from(
    ["\r\n", "\n", "\r", "\n\n", "  ", "\t", "\u00a0", "“", "”", "’", "‘", "—", "é", "ß", "日本", "😀", "👩‍💻",
     "e\u0301", "motorcar", "Eatery", "PUPILS", "commence", " ", ".", ",", "\ufeff"]
)
TEXT = st.lists(st.one_of(AWKWARD, st.text(max_size=6)), max_size=40).map("".join)


@st.composite
def text_and_edits(draw):
    text = draw(TEXT)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    edits = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        replacement = draw(st.one_of(AWKWARD, st.text(max_size=5)))
        edits.append(Edit(start, end, text[start:end], replacement, 0.9))
    return text, edits


@given(text_and_edits())
def test_apply_edits_changes_only_edited_ranges(case):
    text, edits = case
    repaired = apply_edits(text, edits)
    position, shift = 0, 0
    for edit in sorted(edits, key=lambda e: e.start):
        # everything between edits survives byte for byte, shifted by the edits before it
        kept = text[position:edit.start]
        assert repaired[position + shift:edit.start + shift] == kept
        assert map_offset(edits, edit.end) == edit.end + shift + len(edit.replacement) - (edit.end - edit.start)
        new_start = edit.start + shift
        assert repaired[new_start:new_start + len(edit.replacement)] == edit.replacement
        shift += len(edit.replacement) - (edit.end - edit.start)
        position = edit.end
    tail = text[position:]
    assert repaired.endswith(tail)
    assert len(repaired) == len(text) + sum(len(e.replacement) - (e.end - e.start) for e in edits)
    # undoing the edits gives the input back exactly
    undo, shift = [], 0
    for edit in sorted(edits, key=lambda e: e.start):
        start = edit.start + shift
        undo.append(Edit(start, start + len(edit.replacement), edit.replacement, edit.original, 1.0))
        shift += len(edit.replacement) - (edit.end - edit.start)
    assert apply_edits(repaired, undo) == text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(text=TEXT)
def test_repairer_changes_only_flagged_words(toy_repairer, text):
    result = toy_repairer.repair(text)
    assert result.repaired == apply_edits(text, result.edits)
    for edit in result.edits:
        assert text[edit.start:edit.end] == edit.original
        assert edit.original.lower() in toy_repairer.detector.table
    # remove every edited range from both sides: what is left is identical
    outside_input, outside_output, position, shift = [], [], 0, 0
    for edit in result.edits:
        outside_input.append(text[position:edit.start])
        position = edit.end
    outside_input.append(text[position:])
    position = 0
    for edit in result.edits:
        start = edit.start + shift
        outside_output.append(result.repaired[position:start])
        position = start + len(edit.replacement)
        shift += len(edit.replacement) - len(edit.original)
    outside_output.append(result.repaired[position:])
    assert outside_input == outside_output


# words of at most 8 characters between whitespace, so any block limit of 10 or more can cut
# between words (a run of characters longer than the limit has to be cut inside)
SPACED = st.lists(
    st.tuples(st.one_of(AWKWARD, st.text(max_size=6)), st.sampled_from([" ", "  ", "\r\n", "\n\n", "\t"])),
    max_size=40,
).map(lambda pairs: "".join(word + gap for word, gap in pairs))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(text=SPACED, block_chars=st.integers(10, 40))
def test_small_blocks_give_the_same_repair(toy, text, block_chars):
    whole = Repairer(toy, toy, threshold=0.5, block_chars=10_000).repair(text)
    blocked = Repairer(toy, toy, threshold=0.5, block_chars=block_chars).repair(text)
    assert blocked.repaired.count("\n") == text.count("\n")
    assert apply_edits(text, blocked.edits) == blocked.repaired
    # cutting at whitespace never splits a flagged word, so the edits are the same
    assert [(e.start, e.original) for e in blocked.edits] == [(e.start, e.original) for e in whole.edits]


def test_repair_keeps_paragraph_structure_and_quotes(toy_repairer):
    text = "“The motorcar,” she said.\r\n\r\n\tIts  eatery’s PUPILS — 😀 commence\u00a0now.\n\n\n"
    result = toy_repairer.repair(text)
    assert result.repaired == "“The car,” she said.\r\n\r\n\tIts  restaurant’s STUDENTS — 😀 begin\u00a0now.\n\n\n"
    assert [e.source for e in result.edits] == ["toy-wordlist"] * 4


def test_threshold_controls_what_is_changed(toy_model_dir):
    text = "The canine and the motorcar."
    assert Repairer.from_pretrained(toy_model_dir).repair(text).repaired == "The canine and the car."
    low = Repairer.from_pretrained(toy_model_dir, threshold=0.4).repair(text)
    assert low.repaired == "The dog and the car."
    assert "threshold:0.4" in low.signature


def test_edit_score_is_the_detectors_confidence():
    """Whatever score a rewriter puts on its edits, an Edit carries its span's detector score (what
    --threshold compares); a span the rewriter widened (a/an) keeps it too."""
    from repair.edits import Alternative, Span

    class Detector:
        def detect(self, text, threshold):
            return [Span(text.index("eatery"), text.index("eatery") + 6, "eatery", 0.72)]

    class Rewriter:
        def rewrite(self, text, spans):
            (span,) = spans
            return [Edit(span.start - 3, span.end, text[span.start - 3:span.end], "a restaurant", 0.99,
                         (Alternative("a restaurant", 0.99),))]

    result = Repairer(Detector(), Rewriter()).repair("We ate at an eatery.")
    assert result.repaired == "We ate at a restaurant."
    assert [(e.score, e.alternatives[0].score) for e in result.edits] == [(0.72, 0.99)]


@pytest.mark.parametrize(
    "template, replacement, expected",
    [
        ("Vitality", "energy", "Energy"),
        ("VITALITY", "energy", "ENERGY"),
        ("vitality", "energy", "energy"),
        ("Motorcar Exports", "car exports", "Car Exports"),
        ("eatery", "NASA canteen", "NASA canteen"),
        ("A", "the", "The"),
    ],
)
def test_match_case_follows_the_replaced_span(template, replacement, expected):
    assert match_case(template, replacement) == expected


def test_overlapping_and_stale_edits_are_refused():
    text = "one two three"
    with pytest.raises(OverlappingEditsError):
        check_edits(text, [Edit(0, 7, "one two", "x", 1), Edit(4, 7, "two", "y", 1)])
    with pytest.raises(ValueError, match="says"):
        apply_edits(text, [Edit(0, 3, "two", "x", 1)])
    with pytest.raises(ValueError, match="outside"):
        apply_edits(text, [Edit(10, 20, "three", "x", 1)])


class _ReadsALexicon:
    """A stage that, like the tagger and the rewriter, reads a lexicon folder beside its own."""

    def __init__(self, stage, lexicon_folder):
        self.stage, self.name = stage, stage.name
        self.lexicon = type("Tables", (), {"folder": lexicon_folder})()

    def detect(self, text, threshold):
        return self.stage.detect(text, threshold)

    def rewrite(self, text, spans):
        return self.stage.rewrite(text, spans)


def test_the_signature_names_the_lexicon_the_stages_read(toy_model_dir, tmp_path, monkeypatch):
    import shutil

    from repair import repairer as repairer_module

    tables = tmp_path / "tables"
    shutil.copytree(toy_model_dir / "lexicon", tables)
    loaded = repairer_module.load_component
    monkeypatch.setattr(repairer_module, "load_component", lambda folder: _ReadsALexicon(loaded(folder), tables))
    before = Repairer.from_pretrained(toy_model_dir).signature
    assert "|lexicon:lexicon@" in before
    (tables / "words.tsv").write_text("motorcar\tauto\t0.9\t\n", encoding="utf-8")
    after = Repairer.from_pretrained(toy_model_dir).signature
    assert after != before and after.split("|lexicon:")[0] == before.split("|lexicon:")[0]
    # a stage that is the lexicon itself is named once, as the stage
    monkeypatch.setattr(repairer_module, "load_component", loaded)
    assert "|lexicon:" not in Repairer.from_pretrained(toy_model_dir).signature
