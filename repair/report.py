"""Showing what a repair changed: check lines, word and unified diffs, JSON and HTML reports.

A library module (no click): the CLI and other tools decide where the strings go. Everything
works block by block so that a 50 MB file can be reported on without holding it twice;
only the HTML report, which shows the whole text, needs the text kept.
"""
from __future__ import annotations

import bisect
import difflib
import html
import json
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from . import __version__
from .chunks import Block
from .density import SpinDensity
from .edits import Edit, RepairResult, apply_edits, check_edits

FORCE_FLUSH_CHARS = 1_000_000
ANSI = {"delete": "\x1b[31m", "insert": "\x1b[32m", "hunk": "\x1b[36m", "header": "\x1b[1m", "reset": "\x1b[0m"}


@dataclass(frozen=True)
class LocatedEdit:
    """An edit with absolute offsets into the whole input, and where an editor shows it (1-based)."""

    edit: Edit
    line: int
    column: int

    def to_dict(self) -> dict:
        data = self.edit.to_dict()
        data["line"], data["column"] = self.line, self.column
        return data


@dataclass(frozen=True)
class FileReport:
    name: str
    signature: str
    words: int
    edits: tuple[LocatedEdit, ...]
    text: str | None = field(default=None, repr=False)
    text_start: int = 0  # input offset of text[0]: 1 after a kept UTF-8 BOM, which text leaves out

    @property
    def words_changed(self) -> int:
        return RepairResult("", tuple(e.edit for e in self.edits), "", "").words_changed

    @property
    def density(self) -> SpinDensity:
        return SpinDensity.of(self.words, self.words_changed)

    @property
    def spin_per_1000(self) -> float:
        return self.density.per_1000

    def to_dict(self) -> dict:
        return {
            "path": self.name,
            "signature": self.signature,
            "words": self.words,
            "words_changed": self.words_changed,
            "spin_per_1000": round(self.spin_per_1000, 2),
            "verdict": self.density.verdict,
            "edits": [e.to_dict() for e in self.edits],
        }


def line_starts(text: str) -> list[int]:
    """Offsets at which each line begins; lines end after ``\\n`` (so CRLF counts once)."""
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


class FileReportBuilder:
    """Collects block results of one input into a ``FileReport`` with lines and columns."""

    def __init__(self, name: str, keep_text: bool = False, keep_edits: bool = True):
        self.name = name
        self.keep_text = keep_text
        self.keep_edits = keep_edits  # off when only counts are needed: a huge file has many edits
        self.edit_count = 0
        self.words_changed = 0
        self.signature = ""
        self.words = 0
        self.edits: list[LocatedEdit] = []
        self.pieces: list[str] = []
        self.text_start: int | None = None  # where the first block starts (after a BOM)
        self._line = 1  # line number at the start of the next block
        self._column = 0  # characters already on that line before the block starts

    def add(self, block: Block, result: RepairResult) -> list[LocatedEdit]:
        """Record one block's result; returns its edits, located, in order."""
        self.signature = result.signature
        self.words += result.words
        if self.text_start is None:
            self.text_start = block.start
        if self.keep_text:
            self.pieces.append(block.text)
        starts = line_starts(block.text)
        located = []
        for edit in sorted(result.edits, key=lambda e: e.start):
            index = bisect.bisect_right(starts, edit.start) - 1
            column = edit.start - starts[index] + 1 + (self._column if index == 0 else 0)
            located.append(LocatedEdit(edit.shifted(block.start), self._line + index, column))
        self.edit_count += len(located)
        self.words_changed += result.words_changed
        if self.keep_edits:
            self.edits += located
        if len(starts) > 1:
            self._line += len(starts) - 1
            self._column = len(block.text) - starts[-1]
        else:
            self._column += len(block.text)
        return located

    def finish(self) -> FileReport:
        text = "".join(self.pieces) if self.keep_text else None
        return FileReport(self.name, self.signature, self.words, tuple(self.edits), text, self.text_start or 0)


def file_report(name: str, result: RepairResult, keep_text: bool = True) -> FileReport:
    builder = FileReportBuilder(name, keep_text)
    builder.add(Block(0, result.text), result)
    return builder.finish()


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def check_line(name: str, located: LocatedEdit) -> str:
    """``path:line:col: "vitality" -> "energy" (0.93)`` - the compiler-style line editors jump to."""
    edit = located.edit
    return (f"{name}:{located.line}:{located.column}: "
            f"{_quote(edit.original)} -> {_quote(edit.replacement)} ({edit.score:.2f})")


# ---------------------------------------------------------------------------------------------
# Diffs


def _paint(text: str, role: str, color: bool) -> str:
    return f"{ANSI[role]}{text}{ANSI['reset']}" if color and text else text


def _word_markup(text: str, edits: Sequence[Edit], color: bool) -> str:
    """The text with each edit shown as ``[-old-]{+new+}`` (git --word-diff=plain)."""
    pieces, position = [], 0
    for edit in edits:
        pieces.append(text[position:edit.start])
        if edit.original:
            pieces.append(_paint(f"[-{edit.original}-]", "delete", color))
        if edit.replacement:
            pieces.append(_paint(f"{{+{edit.replacement}+}}", "insert", color))
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


def word_diff(text: str, edits: Sequence[Edit], color: bool = False) -> str:
    """The whole text with every edit marked inline (for short texts and tests)."""
    return _word_markup(text, check_edits(text, list(edits)), color)


def _split_lines(text: str) -> list[str]:
    starts = line_starts(text)
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]) if a < b]


def _range(first: int, count: int) -> str:
    return f"{first},{count}" if count != 1 else f"{first}"


class DiffRenderer:
    """Streams a diff of one input: feed it blocks of the text with their edits, then close.

    Block boundaries may fall inside a line (long paragraphs are cut at sentences), so the
    unfinished last line is carried over and hunks are only ever built from whole lines.
    ``style`` is "word" (``[-old-]{+new+}`` inline, git --word-diff) or "unified" (difflib).
    """

    def __init__(self, name: str, style: str = "word", color: bool = False, context: int | None = None):
        if style not in RENDERERS:
            raise ValueError(f"unknown diff style {style!r}; known: {', '.join(RENDERERS)}")
        self.name = name
        self.style = style
        self.color = color
        self.context = DEFAULT_CONTEXT[style] if context is None else context
        self._render = RENDERERS[style]
        self._old_line = 1
        self._new_line = 1
        self._text = ""
        self._edits: list[Edit] = []
        self._header_done = False

    def feed(self, text: str, edits: Iterable[Edit]) -> str:
        """Add the next stretch of the input and its (stretch-local) edits; returns output ready now."""
        offset = len(self._text)
        self._text += text
        self._edits += [e.shifted(offset) for e in edits]
        cut = self._safe_cut()
        return self._flush(cut) if cut else ""

    def _safe_cut(self) -> int:
        """The last line start where cutting cannot change the hunks: the ``context`` lines on
        each side of it and the line itself are complete and unchanged (so no hunk reaches
        across, and difflib would split there too). Past ``FORCE_FLUSH_CHARS`` of pending
        text any line start no edit crosses will do, keeping memory bounded."""
        starts = line_starts(self._text)
        complete = len(starts) - 1  # lines that end with a line break
        changed: set[int] = set()
        for edit in self._edits:
            first = bisect.bisect_right(starts, edit.start) - 1
            last = bisect.bisect_right(starts, max(edit.end - 1, edit.start)) - 1
            changed.update(range(first, last + 1))
        c = self.context
        for line in range(complete - 1 - c, max(c, 1) - 1, -1):
            if not any(i in changed for i in range(line - c, line + c + 1)):
                return starts[line]
        if len(self._text) > FORCE_FLUSH_CHARS:
            for line in range(complete, 0, -1):
                if not any(e.start < starts[line] < e.end for e in self._edits):
                    return starts[line]
        return 0

    def close(self) -> str:
        return self._flush(len(self._text), final=True)

    def _flush(self, cut: int, final: bool = False) -> str:
        text, rest = self._text[:cut], self._text[cut:]
        edits, later = [], []
        for edit in self._edits:
            now = final or (edit.end <= cut and not edit.start == edit.end == cut)
            (edits if now else later).append(edit if now else edit.shifted(-cut))
        self._text, self._edits = rest, later
        output = self._render(self, text, sorted(edits, key=lambda e: e.start), final) if text else ""
        old_lines = text.count("\n")
        self._old_line += old_lines
        self._new_line += old_lines + sum(e.replacement.count("\n") - e.original.count("\n") for e in edits)
        if output and not self._header_done:
            self._header_done = True
            header = "".join(_paint(line, "header", self.color) + "\n"
                             for line in (f"--- a/{self.name}", f"+++ b/{self.name}"))
            output = header + output
        return output

    def _hunk_header(self, old_first: int, old_count: int, new_first: int, new_count: int) -> str:
        return _paint(f"@@ -{_range(old_first, old_count)} +{_range(new_first, new_count)} @@", "hunk",
                      self.color) + "\n"

    def _render_word(self, text: str, edits: list[Edit], final: bool) -> str:
        if not edits:
            return ""
        starts = line_starts(text)
        if starts[-1] == len(text) and len(starts) > 1:
            starts.pop()  # text ends with a line break: no empty last line
        last_line = len(starts) - 1

        def line_of(offset: int) -> int:
            return bisect.bisect_right(starts, offset) - 1

        touched: list[tuple[int, int]] = []
        for edit in edits:
            touched.append((max(line_of(edit.start) - self.context, 0),
                            min(line_of(max(edit.end - 1, edit.start)) + self.context, last_line)))
        groups: list[list[int]] = []
        for first, last in touched:
            if groups and first <= groups[-1][1] + 1:
                groups[-1][1] = max(groups[-1][1], last)
            else:
                groups.append([first, last])
        out, delta, index = [], 0, 0
        for first, last in groups:
            start = starts[first]
            end = starts[last + 1] if last + 1 < len(starts) else len(text)
            while index < len(edits) and edits[index].end <= start and edits[index].start < start:
                delta += edits[index].replacement.count("\n") - edits[index].original.count("\n")
                index += 1
            inside = [e.shifted(-start) for e in edits if start <= e.start and e.end <= end]
            chunk = text[start:end]
            new_count = (last - first + 1) + sum(e.replacement.count("\n") - e.original.count("\n")
                                                 for e in inside)
            out.append(self._hunk_header(self._old_line + first, last - first + 1,
                                         self._new_line + first + delta, new_count))
            body = _word_markup(chunk, inside, self.color)
            out.append(body if body.endswith("\n") else body + "\n")
        return "".join(out)

    def _render_unified(self, text: str, edits: list[Edit], final: bool) -> str:
        if not edits:
            return ""
        old = _split_lines(text)
        new = _split_lines(apply_edits(text, edits))
        out = []
        for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(self.context):
            i1, j1, i2, j2 = group[0][1], group[0][3], group[-1][2], group[-1][4]
            out.append(self._hunk_header(self._old_line + i1, i2 - i1, self._new_line + j1, j2 - j1))
            for tag, a1, a2, b1, b2 in group:
                if tag == "equal":
                    out += [_diff_line(" ", line, None, False) for line in old[a1:a2]]
                    continue
                out += [_diff_line("-", line, "delete", self.color) for line in old[a1:a2]]
                out += [_diff_line("+", line, "insert", self.color) for line in new[b1:b2]]
        return "".join(out)


def _diff_line(mark: str, line: str, role: str | None, color: bool) -> str:
    ended = line.endswith("\n")
    content = mark + (line[:-1] if ended else line)
    body = _paint(content, role, color) if role else content
    return body + "\n" + ("" if ended else "\\ No newline at end of file\n")


RENDERERS = {"word": DiffRenderer._render_word, "unified": DiffRenderer._render_unified}
DEFAULT_CONTEXT = {"word": 0, "unified": 3}


def unified_diff(name: str, text: str, edits: Sequence[Edit], color: bool = False, context: int = 3) -> str:
    renderer = DiffRenderer(name, "unified", color, context)
    return renderer.feed(text, edits) + renderer.close()


def word_diff_hunks(name: str, text: str, edits: Sequence[Edit], color: bool = False, context: int = 0) -> str:
    renderer = DiffRenderer(name, "word", color, context)
    return renderer.feed(text, edits) + renderer.close()


# ---------------------------------------------------------------------------------------------
# JSON and HTML reports


def json_report(files: Sequence[FileReport]) -> dict:
    return {"tool": "spun-repair", "version": __version__, "files": [f.to_dict() for f in files]}


def render_json(files: Sequence[FileReport]) -> str:
    return json.dumps(json_report(files), ensure_ascii=False, indent=2) + "\n"


def _edit_title(located: LocatedEdit) -> str:
    edit = located.edit
    parts = [f"score {edit.score:.2f}", f"line {located.line}, column {located.column}"]
    if edit.alternatives:
        parts.append("alternatives: " + ", ".join(f"{a.text} ({a.score:.2f})" for a in edit.alternatives))
    if edit.source:
        parts.append(f"source: {edit.source}")
    return f"{edit.original!r} → {edit.replacement!r}\n" + "\n".join(parts)


def _html_text(report: FileReport, file_index: int) -> str:
    text = report.text or ""
    pieces, position = [], 0
    for number, located in enumerate(report.edits, 1):
        edit = located.edit.shifted(-report.text_start)
        pieces.append(html.escape(text[position:edit.start]))
        pieces.append(
            f'<span class="edit" id="f{file_index}e{number}" tabindex="0" '
            f'title="{html.escape(_edit_title(located), quote=True)}">'
            f'<del>{html.escape(edit.original)}</del><ins>{html.escape(edit.replacement)}</ins></span>'
        )
        position = edit.end
    pieces.append(html.escape(text[position:]))
    return "".join(pieces)


def _html_edit_rows(report: FileReport, file_index: int) -> str:
    rows = []
    for number, located in enumerate(report.edits, 1):
        edit = located.edit
        alternatives = ", ".join(f"{a.text} ({a.score:.2f})" for a in edit.alternatives) or "—"
        rows.append(
            f'<tr><td><a href="#f{file_index}e{number}">{located.line}:{located.column}</a></td>'
            f"<td><del>{html.escape(edit.original)}</del></td><td><ins>{html.escape(edit.replacement)}</ins></td>"
            f'<td class="num">{edit.score:.2f}</td><td>{html.escape(alternatives)}</td>'
            f"<td>{html.escape(edit.source)}</td></tr>"
        )
    return "\n".join(rows)


HTML_STYLE = """
:root { --del: #fbe0e0; --del-text: #9b1c1c; --ins: #dff5e3; --ins-text: #14622b; --line: #d8dde3; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       margin: 0 auto; max-width: 980px; padding: 24px 28px 60px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #59636e; margin: 0 0 18px; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .sig { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.controls { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid var(--line);
            font-size: 13px; z-index: 2; }
.controls label { margin-right: 14px; cursor: pointer; }
.doc { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--line); border-radius: 6px;
       padding: 16px 18px; background: #fcfcfd; font-size: 15px; }
del { background: var(--del); color: var(--del-text); text-decoration: line-through; border-radius: 3px;
      padding: 0 2px; }
ins { background: var(--ins); color: var(--ins-text); text-decoration: none; border-radius: 3px; padding: 0 2px; }
.edit { cursor: help; border-radius: 3px; }
.edit:hover, .edit:focus, .edit.flash { outline: 2px solid #0969da; outline-offset: 1px; }
.edit ins { margin-left: 2px; }
body.view-repaired .doc del, body.view-original .doc ins { display: none; }
body.view-repaired .doc ins, body.view-original .doc del { background: none; color: inherit;
      text-decoration: none; margin: 0; padding: 0; }
body.view-repaired .doc .edit, body.view-original .doc .edit { border-bottom: 2px dotted #0969da; }
.empty { color: #59636e; font-style: italic; }
"""

HTML_SCRIPT = """
document.querySelectorAll('input[name=view]').forEach(function (radio) {
  radio.addEventListener('change', function () {
    document.body.className = radio.value === 'both' ? '' : 'view-' + radio.value;
  });
});
document.querySelectorAll('a[href^="#f"]').forEach(function (link) {
  link.addEventListener('click', function () {
    var target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    target.classList.add('flash');
    setTimeout(function () { target.classList.remove('flash'); }, 1500);
  });
});
"""


def render_html(files: Sequence[FileReport], title: str = "spun-repair report") -> str:
    """A self-contained page (inline CSS and JS, nothing fetched) showing every change."""
    summary = "\n".join(
        f"<tr><td><a href=\"#file{i}\">{html.escape(f.name)}</a></td><td class=\"num\">{len(f.edits)}</td>"
        f"<td class=\"num\">{f.words:,}</td><td class=\"num\">{f.words_changed}</td>"
        f"<td class=\"num\">{f.spin_per_1000:.1f}</td><td>{html.escape(f.density.verdict)}</td><td class=\"sig\">{html.escape(f.signature)}</td></tr>"
        for i, f in enumerate(files)
    )
    sections = []
    for i, f in enumerate(files):
        edits_table = (
            "<table><thead><tr><th>where</th><th>was</th><th>now</th><th class=\"num\">score</th>"
            f"<th>alternatives</th><th>source</th></tr></thead><tbody>{_html_edit_rows(f, i)}</tbody></table>"
            if f.edits else '<p class="empty">No changes.</p>'
        )
        sections.append(
            f'<section id="file{i}"><h2>{html.escape(f.name)}</h2>'
            f'<div class="doc">{_html_text(f, i)}</div>'
            f"<h2>Changes in {html.escape(f.name)}</h2>{edits_table}</section>"
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{HTML_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="sub">spun-repair {html.escape(__version__)} · hover or focus a change for its score and alternatives</p>
<table>
<thead><tr><th>file</th><th class="num">edits</th><th class="num">words</th><th class="num">words changed</th>
<th class="num">spin per 1000</th><th>verdict</th><th>signature</th></tr></thead>
<tbody>
{summary}
</tbody>
</table>
<div class="controls">show:
<label><input type="radio" name="view" value="both" checked> changes</label>
<label><input type="radio" name="view" value="repaired"> repaired text</label>
<label><input type="radio" name="view" value="original"> original text</label>
</div>
{"".join(sections)}
<script>{HTML_SCRIPT}</script>
</body>
</html>
"""


# report file suffix -> renderer of a list of FileReports
REPORT_WRITERS = {".json": render_json, ".html": render_html, ".htm": render_html}
