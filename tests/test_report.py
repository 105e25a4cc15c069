"""Reports: check lines, word/unified diffs (whole and streamed), JSON and HTML."""
from __future__ import annotations

import difflib
import json
import re
from html.parser import HTMLParser

import pytest

from repair.chunks import split_blocks
from repair.edits import Alternative, Edit
from repair.report import (
    DiffRenderer,
    FileReportBuilder,
    check_line,
    file_report,
    render_html,
    render_json,
    unified_diff,
    word_diff,
    word_diff_hunks,
)

TEXT = "The motorcar stopped.\nSecond line here.\r\nThird eatery line\nfour <b>&amp;</b>"


def edit_of(text, word, replacement, score=0.9, alternatives=()):
    start = text.index(word)
    return Edit(start, start + len(word), word, replacement, score, alternatives, "toy")


EDITS = [edit_of(TEXT, "motorcar", "car"), edit_of(TEXT, "eatery", "restaurant", 0.8, (Alternative("diner", 0.4),))]


def test_word_diff_plain_and_coloured():
    assert word_diff(TEXT, EDITS).startswith("The [-motorcar-]{+car+} stopped.")
    coloured = word_diff(TEXT, EDITS, color=True)
    assert "\x1b[31m[-motorcar-]\x1b[0m\x1b[32m{+car+}\x1b[0m" in coloured
    assert re.sub(r"\x1b\[\d*m", "", coloured) == word_diff(TEXT, EDITS)


def test_word_diff_hunks_show_only_changed_lines():
    assert word_diff_hunks("a.txt", TEXT, EDITS) == (
        "--- a/a.txt\n+++ b/a.txt\n"
        "@@ -1 +1 @@\nThe [-motorcar-]{+car+} stopped.\n"
        "@@ -3 +3 @@\nThird [-eatery-]{+restaurant+} line\n"
    )
    assert word_diff_hunks("a.txt", TEXT, []) == ""


def test_unified_diff_matches_difflib():
    from repair.edits import apply_edits

    expected = "".join(difflib.unified_diff(
        TEXT.splitlines(True), apply_edits(TEXT, EDITS).splitlines(True), "a/a.txt", "b/a.txt", n=3))
    ours = unified_diff("a.txt", TEXT, EDITS)
    # difflib leaves a missing final newline unmarked; git and patch want the marker
    assert ours == expected + "\n\\ No newline at end of file\n"


LONG = "".join(f"Line {i} is plain.\n" if i % 10 else f"Line {i} has a motorcar.\n" for i in range(60)) + "end"
LONG_EDITS = [Edit(m.start(), m.end(), "motorcar", "car", 0.9) for m in re.finditer("motorcar", LONG)]


@pytest.mark.parametrize("style, context", [("word", 0), ("word", 1), ("unified", 0), ("unified", 3)])
@pytest.mark.parametrize("limit", [5, 12, 30, 200])
def test_streamed_diff_equals_whole_diff(style, context, limit):
    """Blocks may cut lines in the middle; hunks come out exactly as for the whole text."""
    renderer = DiffRenderer("a.txt", style, context=context)
    streamed, emitted_early = "", False
    for block in split_blocks(LONG, limit):
        inside = [e.shifted(-block.start) for e in LONG_EDITS if block.start <= e.start and e.end <= block.end]
        piece = renderer.feed(block.text, inside)
        emitted_early = emitted_early or bool(piece)
        streamed += piece
    streamed += renderer.close()
    assert emitted_early  # output flows before the end: the text is not held whole
    whole = DiffRenderer("a.txt", style, context=context)
    assert streamed == whole.feed(LONG, LONG_EDITS) + whole.close()
    if style == "unified":
        new = LONG.replace("motorcar", "car")
        expected = "".join(difflib.unified_diff(LONG.splitlines(True), new.splitlines(True),
                                                "a/a.txt", "b/a.txt", n=context))
        assert streamed == expected


def test_line_and_column_across_blocks():
    text = "alpha beta\r\ngamma motorcar delta eatery\n\nmotorcar"
    edits = [edit_of(text, "motorcar", "car"), edit_of(text, "eatery", "restaurant"),
             Edit(text.rindex("motorcar"), len(text), "motorcar", "car", 0.5)]
    for limit in (9, 15, 100):  # no smaller than the longest word
        builder = FileReportBuilder("t.txt")
        for block in split_blocks(text, limit):
            builder.add(block, _result_for(block, edits))
        report = builder.finish()
        assert [(e.line, e.column) for e in report.edits] == [(2, 7), (2, 22), (4, 1)]
        assert [e.edit.start for e in report.edits] == [e.start for e in edits]
    assert check_line("t.txt", report.edits[0]) == 't.txt:2:7: "motorcar" -> "car" (0.90)'


def _result_for(block, edits):
    from repair.edits import RepairResult, apply_edits

    inside = tuple(e.shifted(-block.start) for e in edits if block.start <= e.start and e.end <= block.end)
    return RepairResult(block.text, inside, apply_edits(block.text, inside), "sig")


def test_check_line_escapes_quotes_and_newlines():
    text = 'a "b"\nc'
    report = file_report("x", _result_for(split_blocks(text)[0], [Edit(2, 7, '"b"\nc', "d", 0.5)]))
    assert check_line("x", report.edits[0]) == 'x:1:3: "\\"b\\"\\nc" -> "d" (0.50)'


def test_json_report_has_every_field():
    report = file_report("a.txt", _result_for(split_blocks(TEXT)[0], EDITS))
    data = json.loads(render_json([report]))
    (entry,) = data["files"]
    assert entry["path"] == "a.txt" and entry["signature"] == "sig"
    assert entry["words"] == 13 and entry["words_changed"] == 2
    assert entry["spin_per_1000"] == round(1000 * 2 / 13, 2)
    assert entry["verdict"] == "suspicious"  # 154 per 1,000, but two spun words are too few for "heavily spun"
    second = entry["edits"][1]
    assert (second["line"], second["column"], second["start"]) == (3, 7, TEXT.index("eatery"))
    assert second["alternatives"] == [{"text": "diner", "score": 0.4}]
    assert second["source"] == "toy" and second["score"] == 0.8


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.titles, self.text, self.external = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "title" in attrs and tag == "span":
            self.titles.append(attrs["title"])
        for key in ("src", "href"):
            if attrs.get(key) and not attrs[key].startswith("#"):
                self.external.append(attrs[key])

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_self_contained_escaped_and_complete():
    report = file_report("<evil>.txt", _result_for(split_blocks(TEXT)[0], EDITS))
    page = render_html([report])
    assert "<b>" not in page.split("<body>")[1].replace("<b>", "", 0) or "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page and "&lt;evil&gt;.txt" in page
    parser = _Collector()
    parser.feed(page)
    assert parser.external == []  # no stylesheet, script or font from the network
    assert parser.tags.count("del") >= 2 and parser.tags.count("ins") >= 2
    assert any("score 0.80" in t and "diner (0.40)" in t for t in parser.titles)
    body_text = "".join(parser.text)
    assert "four <b>&amp;</b>" in body_text  # the reader sees the text exactly as it was
    assert "spin per 1000" in body_text and "sig" in body_text
