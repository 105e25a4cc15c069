"""Markup awareness on real-looking documents: only prose changes, everything else is byte-identical.

A toy detector flags every whole-word occurrence of a few spinner words; a toy rewriter restores
them. Each document plants those words in prose (which must be repaired) and inside code, math,
URLs, link targets, attributes, commands, citation keys and switched-off regions (which must not).
Templates mark the prose occurrences as ``<<firm>>``: the input has ``firm`` there, the expected
output ``company``; every unmarked ``firm`` must come out as it went in.
"""
import re

import pytest

from repair.edits import Edit, Span, match_case
from repair.markup import (
    LineIndex,
    MarkupError,
    line_col,
    markup_for_path,
    protected_ranges,
    prose_ranges,
    read_document,
    resolve_markup,
    write_document,
)
from repair.repairer import Repairer

RESTORE = {"firm": "company", "inventory": "stock", "lengthy": "long"}
FLAGGED = re.compile(r"\b(" + "|".join(RESTORE) + r")\b", re.IGNORECASE)


class ToyDetector:
    name = "toy-detector"

    def detect(self, text, threshold):
        return [Span(m.start(), m.end(), m.group(0), 1.0, "toy") for m in FLAGGED.finditer(text)]


class ToyRewriter:
    name = "toy-rewriter"

    def rewrite(self, text, spans):
        return [Edit(s.start, s.end, s.text, match_case(s.text, RESTORE[s.text.lower()]), 1.0) for s in spans]


def render(template: str) -> tuple[str, str]:
    """(input, expected output) of a template whose prose spinner words are marked <<word>>."""
    marked = re.compile(r"<<(\w+)>>")
    return (marked.sub(lambda m: m.group(1), template),
            marked.sub(lambda m: match_case(m.group(1), RESTORE[m.group(1).lower()]), template))


def repair(text: str, markup: str):
    return Repairer(ToyDetector(), ToyRewriter()).repair(text, skip=protected_ranges(text, markup))


README = """\
---
title: firm handbook
tags: [inventory, firm]
---
# The <<firm>> handbook

The <<firm>> keeps its <<inventory>> in one place. Install it with `pip install firm` and
read [the <<firm>> guide](https://docs.example.com/firm/guide "firm guide") or the
[<<inventory>> notes][firm-notes]. Write to <mailto:firm@example.com> or firm@example.org,
browse https://example.com/inventory/lengthy-page or <https://firm.example.net/>.

![firm logo](images/firm.png "firm")

```python
firm = load_inventory("lengthy")  # firm code is never prose
```

    indented firm code block

| Column | <<Firm>> value |
|--------|----------------|
| `firm` | <<lengthy>> run |

<div class="firm" title="inventory">A <<lengthy>> wait at the <<firm>>.</div>

<!-- repair: off -->
This firm paragraph is switched off, its inventory too.
<!-- repair: on -->

<!-- repair: ignore-next-line -->
A firm line nobody may touch.
And a <<lengthy>> line that is checked again.

Inline `firm` code and **<<firm>>** emphasis &amp; an entity in a <<firm>> sentence.

[firm-notes]: https://notes.example.com/firm "firm notes"
"""

LATEX = r"""\documentclass{article}
\usepackage{firm}
\newcommand{\firm}{\textsc{firm}}
\begin{document}
\section{The <<firm>> model}\label{sec:firm}
The <<firm>> holds an <<inventory>> $I_{firm} = \sum_t firm_t$ as shown by
\citet{firm2019} and \cite[p.~4]{lengthy2020}, see Section~\ref{sec:firm} and \eqref{eq:firm}.
\begin{equation}
  \label{eq:firm}
  \mathrm{firm} = \frac{inventory}{lengthy}
\end{equation}
A \emph{<<lengthy>>} proof uses \( firm \) and \[ firm^2 \] and $$ inventory $$ only.
% a firm comment about inventory
% repair: off
The firm is switched off here.
% repair: on
% repair: ignore-next-line
One firm line skipped.
Back to the <<firm>>: \href{https://firm.example.com}{the <<firm>> site}, \url{https://x.org/firm},
\verb|firm| and \texttt{firm}, 100\% <<firm>>.\footnote{A <<firm>> note.}
\begin{verbatim}
firm inventory
\end{verbatim}
\end{document}
"""

HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <title>The <<firm>> page</title>
  <meta name="description" content="firm inventory">
  <style>.firm { color: red; } /* inventory */</style>
  <script>var firm = "lengthy"; // inventory</script>
</head>
<body class="firm">
  <h1 id="firm">Our <<firm>></h1>
  <p>The <<firm>> &amp; its <<inventory>> &mdash; see <a href="https://firm.example.com/inventory" title="firm">the
  <<firm>> site</a>.</p>
  <pre>firm   inventory</pre>
  <p>Run <code>firm --lengthy</code> in a <<lengthy>> shell.</p>
  <img src="firm.png" alt="firm">
  <!-- repair: off -->
  <p>A firm paragraph switched off.</p>
  <!-- repair: on -->
  <!-- repair: ignore-next-line -->
  <p>A firm line skipped.</p>
  <p>A <<firm>> line checked.</p>
</body>
</html>
"""

PLAIN = """The <<firm>> grew its <<inventory>>.
See https://firm.example.com/inventory for details.
repair: off
A firm region switched off.
# repair: on
# repair: ignore-next-line
A firm line skipped.
The <<lengthy>> end.
"""

DOCUMENTS = {"markdown": README, "latex": LATEX, "html": HTML, "plain": PLAIN}


@pytest.mark.parametrize("markup", sorted(DOCUMENTS))
def test_only_prose_changes(markup):
    source, expected = render(DOCUMENTS[markup])
    result = repair(source, markup)
    assert result.repaired == expected
    assert result.edits, "prose occurrences must be repaired"


@pytest.mark.parametrize("markup", sorted(DOCUMENTS))
def test_nothing_protected_is_flagged(markup):
    source, _ = render(DOCUMENTS[markup])
    protected = protected_ranges(source, markup)
    result = repair(source, markup)
    for span in result.spans:
        assert not any(span.start < b and span.end > a for a, b in protected), span
    # planted words really sit in protected ranges (the test would prove nothing otherwise)
    planted = [m for m in FLAGGED.finditer(source) if any(a <= m.start() < b for a, b in protected)]
    assert len(planted) >= (4 if markup == "plain" else 8)


@pytest.mark.parametrize("markup", sorted(DOCUMENTS))
@pytest.mark.parametrize("variant", ["crlf", "bom", "bom+crlf"])
def test_line_endings_and_bom_are_kept(markup, variant):
    source, expected = render(DOCUMENTS[markup])
    if "crlf" in variant:
        source, expected = source.replace("\n", "\r\n"), expected.replace("\n", "\r\n")
    if "bom" in variant:
        source, expected = "\ufeff" + source, "\ufeff" + expected
    assert repair(source, markup).repaired == expected


def test_markdown_link_label_is_prose_but_target_and_title_are_not():
    text = 'Read [the firm guide](https://x.com/firm "firm") now.'
    prose = "".join(text[a:b] for a, b in prose_ranges(text, "markdown"))
    assert prose == "Read the firm guide now."


def test_directive_inside_code_does_not_switch_anything_off():
    text = "Intro <<firm>>.\n\n```\n<!-- repair: off -->\n```\n\nStill a <<firm>> here.\n"
    source, expected = render(text)
    assert repair(source, "markdown").repaired == expected


def test_unclosed_off_runs_to_the_end():
    source = "The firm.\n% repair: off\nThe firm.\n\nAnd the firm.\n"
    result = repair(source, "latex")
    assert result.repaired == "The company.\n% repair: off\nThe firm.\n\nAnd the firm.\n"


def test_unbalanced_latex_group_protects_rest_of_paragraph_only():
    source, expected = render("\\textbf{a firm\n\nThe <<firm>>.\n")
    assert repair(source, "latex").repaired == expected


def test_ranges_are_sorted_and_disjoint():
    for markup, template in DOCUMENTS.items():
        source, _ = render(template)
        ranges = protected_ranges(source, markup)
        assert all(a < b <= c for (a, b), (c, _) in zip(ranges, ranges[1:]))
        assert all(0 <= a < b <= len(source) for a, b in ranges)


def test_markup_choice():
    assert markup_for_path("README.md") == "markdown"
    assert markup_for_path("notes.MARKDOWN") == "markdown"
    assert markup_for_path("paper.tex") == "latex"
    assert markup_for_path("index.htm") == "html"
    assert markup_for_path("story.txt") == "plain"
    assert markup_for_path(None) == "plain"
    assert resolve_markup("auto", "a.html") == "html"
    assert resolve_markup(None, "a.tex") == "latex"
    assert resolve_markup("Markdown", "a.txt") == "markdown"
    with pytest.raises(MarkupError, match="unknown markup"):
        resolve_markup("rst", "a.rst")
    with pytest.raises(MarkupError):
        protected_ranges("x", "auto")


def test_line_col_counts_characters_not_bytes_or_utf16_units():
    text = "a😀b\r\ncafe\u0301 x\r\n\U0001F468\u200D\U0001F469 firm\nlast"
    index = LineIndex(text)
    assert index.line_col(0) == (1, 1)
    assert index.line_col(text.index("b")) == (1, 3)          # the emoji is one character
    assert index.line_col(text.index("\r")) == (1, 4)
    assert index.line_col(text.index("cafe")) == (2, 1)      # CRLF is one line break
    assert index.line_col(text.index(" x")) == (2, 6)        # e + combining acute = two characters
    assert index.line_col(text.index("firm")) == (3, 5)      # ZWJ sequence = three characters
    assert index.line_col(text.index("last")) == (4, 1)
    assert index.line_col(len(text)) == (4, 5)
    assert line_col("a\rb", 2) == (2, 1)                      # old Mac line ends too
    with pytest.raises(ValueError):
        index.line_col(len(text) + 1)


def test_line_col_ignores_bom_column():
    text = "\ufeffHi\r\nthere"
    assert line_col(text, 1) == (1, 1)
    assert line_col(text, text.index("there")) == (2, 1)


def test_offsets_survive_non_bmp_text_through_a_repair():
    source, expected = render("😀🎉 The <<firm>> 👩‍👩‍👧 ships `firm` 𝔘𝔫𝔦 <<inventory>>.\r\n")
    result = repair("\ufeff" + source, "markdown")
    assert result.repaired == "\ufeff" + expected
    for edit in result.edits:
        assert result.text[edit.start:edit.end] == edit.original
    assert line_col(result.text, result.edits[0].start) == (1, 8)


def test_read_and_write_keep_every_byte(tmp_path):
    raw = "\ufeffThe firm\r\nsecond 😀 line\rthird\n".encode("utf-8")
    path = tmp_path / "doc.md"
    path.write_bytes(raw)
    text = read_document(path)
    assert text.startswith("\ufeff") and "\r\n" in text
    write_document(path, text)
    assert path.read_bytes() == raw
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_read_refuses_non_utf8(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(MarkupError, match="not UTF-8"):
        read_document(path)


def test_before_after_example_in_docs_is_true():
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "markup.md").read_text(encoding="utf-8")
    before, after = re.findall(r"^````markdown\n(.*?)^````$", docs, re.DOTALL | re.MULTILINE)
    result = repair(before, "markdown")
    assert result.repaired == after
    assert (len(result.edits), result.words, result.verdict) == (7, 59, "heavily spun")


def test_inline_comment_directive_counts_but_one_in_inline_code_does_not():
    source, expected = render(
        "A <<firm>> `<!-- repair: off -->` and <<firm>>. <!-- repair: ignore-next-line -->\n"
        "firm skipped\n<<firm>> again\n")
    assert repair(source, "markdown").repaired == expected


from hypothesis import given, settings, strategies as st  # noqa: E402

MARKUP_ALPHABET = st.sampled_from(list("ab firm\n\r\t`*_[]()<>!#$%\\{}&;:/\"'=-|~^\ufeff😀\u0301") + [
    "<!-- repair: off -->", "<!-- repair: on -->", "% repair: ignore-next-line", "```", "\\begin{equation}",
    "\\end{equation}", "\\cite{", "<pre>", "</pre>", "https://x.y/firm", "---\n", "    ", "\r\n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(MARKUP_ALPHABET, max_size=60).map("".join), st.sampled_from(sorted(DOCUMENTS)))
def test_any_text_gives_valid_ranges_and_protected_text_survives(text, markup):
    ranges = protected_ranges(text, markup)
    assert all(0 <= a < b <= len(text) for a, b in ranges)
    assert all(b < c for (_, b), (c, _) in zip(ranges, ranges[1:]))
    result = repair(text, markup)
    for edit in result.edits:
        assert not any(edit.start < b and edit.end > a for a, b in ranges)
