"""Which characters of a document are prose, and which must come out byte-for-byte as they went in.

``protected_ranges(text, markup)`` returns the character ranges a repair must never read or touch:
code, URLs, link targets, tags and attributes, LaTeX commands, math, citation keys, comments, and
every region switched off by an inline ``repair: off`` / ``repair: ignore-next-line`` directive.
``Repairer.repair(text, skip=ranges)`` blanks these ranges for the detector and never edits them.

Each markup has its own scanner, built on the field's parser where one exists: markdown-it-py for
Markdown (block token line maps plus instrumented inline rules for positions), the standard
library's ``html.parser`` for HTML, and a small scanner for LaTeX. Every scanner errs towards
protecting: text it cannot place exactly is left alone rather than risked.

Offsets are character offsets into the decoded text (a UTF-8 BOM, when present, is character 0).
"""
from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

MARKUPS = ("plain", "markdown", "latex", "html")
MARKUP_CHOICES = ("auto",) + MARKUPS
SUFFIX_MARKUP = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".tex": "latex",
    ".html": "html",
    ".htm": "html",
}

LINE_BREAK = re.compile(r"\r\n|\r|\n")
BOM = "\ufeff"

# bare URLs, www. hosts and e-mail addresses: protected in every markup, prose included
URL = re.compile(
    r"""(?:\b[a-zA-Z][a-zA-Z0-9+.\-]*://|\bwww\.|\bmailto:)[^\s<>"'`{}\\\]]*[^\s<>"'`{}\\\].,;:!?)]"""
    r"""|\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b"""
)

DIRECTIVE_WORD = r"repair:[ \t]*(off|on|ignore-next-line)"
DIRECTIVE_TEXT = re.compile(rf"^\s*{DIRECTIVE_WORD}\s*$")  # the inside of a comment
HTML_COMMENT_DIRECTIVE = re.compile(rf"^<!--\s*{DIRECTIVE_WORD}\s*-->$")
# plain text: a line holding only the directive, optionally after a comment leader
PLAIN_DIRECTIVE = re.compile(
    rf"^[ \t]*(?:#|//|%|<!--)?[ \t]*{DIRECTIVE_WORD}[ \t]*(?:-->)?[ \t\r]*$", re.MULTILINE
)


class TextRange(NamedTuple):
    """Characters ``text[start:end]``; unpacks like the ``(start, end)`` pairs ``Repairer`` takes."""

    start: int
    end: int


@dataclass(frozen=True)
class Directive:
    """An inline ``repair: off|on|ignore-next-line`` comment found at ``text[start:end]``."""

    kind: str
    start: int
    end: int


class MarkupError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------
# choosing a markup, reading and writing documents, line/column positions


def markup_for_path(path: os.PathLike | str | None) -> str:
    if path is None:
        return "plain"
    return SUFFIX_MARKUP.get(Path(path).suffix.lower(), "plain")


def resolve_markup(choice: str | None, path: os.PathLike | str | None = None) -> str:
    """``auto`` (or nothing) picks by file suffix: .md/.markdown, .tex, .html/.htm, else plain."""
    choice = (choice or "auto").lower()
    if choice == "auto":
        return markup_for_path(path)
    if choice not in MARKUPS:
        raise MarkupError(f"unknown markup {choice!r} (choose from {', '.join(MARKUP_CHOICES)})")
    return choice


def read_document(path: os.PathLike | str) -> str:
    """Decode a UTF-8 file keeping everything: BOM, CRLF/CR line ends (``newline=""``)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise MarkupError(f"{path}: not UTF-8 text (byte {error.start})") from None


def write_document(path: os.PathLike | str, text: str) -> None:
    """Write all of ``text`` or nothing: a temporary file in the same folder replaces the target."""
    from .textio import write_text_atomic

    write_text_atomic(path, text)


class LineIndex:
    """1-based (line, column) of character offsets; CRLF is one line break, columns count characters.

    A leading BOM is invisible to editors, so it does not count as a column of line 1.
    """

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)]
        self.bom = text.startswith(BOM)

    def line_col(self, offset: int) -> tuple[int, int]:
        if not 0 <= offset <= len(self.text):
            raise ValueError(f"offset {offset} lies outside a text of {len(self.text)} characters")
        line = bisect_right(self.starts, offset) - 1
        column = offset - self.starts[line] + 1
        if line == 0 and self.bom and offset > 0:
            column -= 1
        return line + 1, column


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based ``(line, column)`` of a character offset (see ``LineIndex`` for many offsets)."""
    return LineIndex(text).line_col(offset)


# ---------------------------------------------------------------------------------------------
# range arithmetic


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[TextRange]:
    merged: list[TextRange] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = TextRange(merged[-1].start, end)
        else:
            merged.append(TextRange(start, end))
    return merged


def complement(ranges: Iterable[tuple[int, int]], start: int, end: int) -> list[TextRange]:
    """The parts of ``[start, end)`` that no range covers."""
    gaps, position = [], start
    for a, b in merge_ranges(ranges):
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if a > position:
            gaps.append(TextRange(position, a))
        position = max(position, b)
    if position < end:
        gaps.append(TextRange(position, end))
    return gaps


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in LINE_BREAK.finditer(text)]


def _line_end(text: str, position: int) -> int:
    """Offset of the line break (or end of text) ending the line that holds ``position``."""
    match = LINE_BREAK.search(text, position)
    return match.start() if match else len(text)


def _next_line_break_end(text: str, position: int) -> int:
    match = LINE_BREAK.search(text, position)
    return match.end() if match else len(text)


# ---------------------------------------------------------------------------------------------
# inline directives -> switched-off regions


def directive_regions(text: str, directives: Sequence[Directive]) -> list[TextRange]:
    """``off`` .. ``on`` (both comments included; no ``on`` = to the end) and
    ``ignore-next-line`` (the comment through the end of the line after it)."""
    regions: list[TextRange] = []
    off_since: int | None = None
    for directive in sorted(directives, key=lambda d: d.start):
        if directive.kind == "off" and off_since is None:
            off_since = directive.start
        elif directive.kind == "on" and off_since is not None:
            regions.append(TextRange(off_since, directive.end))
            off_since = None
        elif directive.kind == "ignore-next-line":
            next_line = _next_line_break_end(text, directive.end)
            regions.append(TextRange(directive.start, _line_end(text, next_line)))
    if off_since is not None:
        regions.append(TextRange(off_since, len(text)))
    return regions


@dataclass(frozen=True)
class Scan:
    """What a markup scanner found: ranges never to touch and the directives it trusts."""

    protected: tuple[TextRange, ...]
    directives: tuple[Directive, ...] = ()


# ---------------------------------------------------------------------------------------------
# plain text


def scan_plain(text: str) -> Scan:
    directives = tuple(
        Directive(m.group(1), m.start(), m.start() + len(m.group(0).rstrip("\r")))
        for m in PLAIN_DIRECTIVE.finditer(text)
    )
    return Scan((), directives)


# ---------------------------------------------------------------------------------------------
# HTML (standard library parser; getpos() gives line/column of each event)

# elements whose text is code, data or program, not prose
HTML_NON_PROSE = frozenset({"script", "style", "pre", "code", "kbd", "samp", "var", "tt", "textarea",
                            "math", "svg", "template"})


class _ProseCollector(HTMLParser):
    def __init__(self, text: str, base: int):
        super().__init__(convert_charrefs=False)
        self.text = text
        self.base = base
        self.newline_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.open_non_prose: dict[str, int] = {}
        self.prose: list[TextRange] = []
        self.directives: list[Directive] = []

    def _offset(self) -> int:
        line, column = self.getpos()  # html.parser counts "\n" only, as newline_starts does
        return self.newline_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag in HTML_NON_PROSE:
            self.open_non_prose[tag] = self.open_non_prose.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if self.open_non_prose.get(tag):
            self.open_non_prose[tag] -= 1

    def handle_data(self, data):
        if any(self.open_non_prose.values()):
            return
        start = self._offset()
        if self.text[start:start + len(data)] == data:  # only text placed exactly counts as prose
            self.prose.append(TextRange(self.base + start, self.base + start + len(data)))

    def handle_comment(self, data):
        match = DIRECTIVE_TEXT.match(data)
        if match:
            start = self._offset()
            end = self.text.find("-->", start)
            end = len(self.text) if end < 0 else end + 3
            self.directives.append(Directive(match.group(1), self.base + start, self.base + end))


def _html_prose(text: str, base: int = 0) -> tuple[list[TextRange], list[Directive]]:
    collector = _ProseCollector(text, base)
    collector.feed(text)
    collector.close()
    return collector.prose, collector.directives


def scan_html(text: str) -> Scan:
    prose, directives = _html_prose(text)
    return Scan(tuple(complement(prose, 0, len(text))), tuple(directives))


# ---------------------------------------------------------------------------------------------
# Markdown (markdown-it-py)

# inline rules whose whole match is never prose
MD_PROTECTED_INLINE = frozenset({"backticks", "autolink", "html_inline", "image", "entity", "escape", "linkify"})

_markdown_parser = None


def _record(name, fn):
    """Wrap an inline rule so that each match's source range lands in ``state.env``."""

    def rule(state, silent):
        start = state.pos
        matched = fn(state, silent)
        recorder = state.env.get("repair_ranges") if isinstance(state.env, dict) else None
        if matched and not silent and recorder is not None:
            recorder.append((name, start, state.pos, state))
        return matched

    return rule


def _markdown():
    global _markdown_parser
    if _markdown_parser is None:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
        md.disable("inline")  # core rule: inline content is parsed per token below, with positions
        for rule in md.inline.ruler.__rules__:
            rule.fn = _record(rule.name, rule.fn)
        md.inline.ruler.__cache__ = None
        _markdown_parser = md
    return _markdown_parser


def _inline_protected(md, content: str, env: dict) -> list[tuple[str, TextRange]]:
    """``(rule, range)`` of ``content`` (one inline token's source) that are code, link targets, HTML..."""
    from markdown_it.helpers import parseLinkLabel

    recorded: list = []
    md.inline.parse(content, md, {**env, "repair_ranges": recorded}, [])
    protected: list[tuple[str, TextRange]] = []
    for name, start, end, state in recorded:
        if name in MD_PROTECTED_INLINE:
            protected.append((name, TextRange(start, end)))
        elif name == "link":
            # the label is prose; "[" and "](target "title")" / "][ref]" are not
            saved = state.pos, state.posMax
            state.posMax = end
            label_end = parseLinkLabel(state, start, True)
            state.pos, state.posMax = saved
            if label_end < 0:
                protected.append((name, TextRange(start, end)))
            else:
                protected += [(name, TextRange(start, start + 1)), (name, TextRange(label_end, end))]
    return protected


def _front_matter_end(text: str) -> int:
    """End of a leading YAML/TOML front-matter block (``---``/``+++`` fenced), or 0."""
    start = 1 if text.startswith(BOM) else 0
    for fence in ("---", "+++"):
        first = LINE_BREAK.match(text, start + 3)
        if text.startswith(fence, start) and first:
            closing = re.compile(rf"^(?:{re.escape(fence)}|\.\.\.)[ \t]*(?=\r\n|\r|\n|\Z)", re.MULTILINE)
            for match in closing.finditer(text, first.end()):
                return _line_end(text, match.start())
    return 0


def scan_markdown(text: str) -> Scan:
    md = _markdown()
    front = _front_matter_end(text)
    # same lines, same columns: CR/CRLF become LF (as markdown-it would do), front matter blank
    source = LINE_BREAK.sub("\n", text).replace("\0", "\ufffd")
    if text.startswith(BOM):
        source = " " + source[1:]
    if front:
        front_lines = LINE_BREAK.sub("\n", text[:front])
        source = re.sub(r"[^\n]", " ", front_lines) + source[len(front_lines):]
    source_lines = source.split("\n")
    doc_starts = _line_starts(text)
    cursor = [0] * len(source_lines)  # where the next search on each line may begin (table cells)

    prose: list[TextRange] = []
    directives: list[Directive] = []
    env: dict = {}  # the block pass stores reference definitions here for [label][ref] links
    for token in md.parse(source, env):
        if token.map is None:
            continue
        first, last = token.map
        if token.type == "html_block":
            start, end = doc_starts[first], _line_end(text, doc_starts[last - 1])
            block_prose, block_directives = _html_prose(text[start:end], start)
            prose += block_prose
            directives += block_directives
            continue
        if token.type != "inline":
            continue
        content = token.content
        found = _inline_protected(md, content, env)
        protected = merge_ranges(r for _, r in found)
        protected_starts = [a for a, _ in protected]
        comments = [(d.group(1), a, b) for name, (a, b) in found if name == "html_inline"
                    for d in [HTML_COMMENT_DIRECTIVE.match(content[a:b])] if d]
        position = 0
        for number, line in enumerate(content.split("\n")):
            line_no = first + number
            line_start, position = position, position + len(line) + 1
            if line_no >= len(source_lines) or not line:
                continue
            column = source_lines[line_no].find(line, cursor[line_no])
            if column < 0:
                continue  # could not place this line exactly (tabs, escaped pipes): leave it alone
            cursor[line_no] = column + len(line)
            shift = doc_starts[line_no] + column - line_start
            line_end = line_start + len(line)
            # only the merged ranges that can reach this line (long paragraphs stay linear)
            nearby = protected[max(bisect_right(protected_starts, line_start) - 1, 0):
                               bisect_right(protected_starts, line_end)]
            for a, b in complement(nearby, line_start, line_end):
                prose.append(TextRange(a + shift, b + shift))
            for kind, a, b in comments:
                if line_start <= a and b <= line_end:
                    directives.append(Directive(kind, a + shift, b + shift))
    return Scan(tuple(complement(prose, 0, len(text))), tuple(directives))


# ---------------------------------------------------------------------------------------------
# LaTeX (a scanner: commands, arguments, math, environments, comments)

# commands whose brace arguments are prose ("p") or keys/targets ("k"), in order; every other
# command's adjacent [options] and {arguments} are protected (labels, keys, files, lengths...)
LATEX_ARGUMENTS = {
    **{name: "p" for name in (
        "textbf", "textit", "textsl", "textsc", "textup", "textmd", "textrm", "textsf", "textnormal",
        "emph", "underline", "uline", "mbox", "fbox", "enquote", "footnote", "footnotetext", "marginpar",
        "caption", "title", "subtitle", "thanks", "part", "chapter", "section", "subsection",
        "subsubsection", "paragraph", "subparagraph", "frametitle")},
    **{name: "" for name in (
        "item", "noindent", "par", "newline", "centering", "maketitle", "medskip", "bigskip",
        "smallskip", "newpage", "clearpage", "indent", "raggedright", "raggedleft")},
    "href": "kp",
}
# environments whose whole body is math, code or drawing
LATEX_PROTECTED_ENVIRONMENTS = frozenset({
    "equation", "equation*", "align", "align*", "alignat", "alignat*", "gather", "gather*",
    "multline", "multline*", "flalign", "flalign*", "eqnarray", "eqnarray*", "math", "displaymath",
    "split", "verbatim", "verbatim*", "Verbatim", "lstlisting", "minted", "comment", "tikzpicture",
    "filecontents", "filecontents*", "algorithmic", "pgfpicture",
})
LATEX_NAME = re.compile(r"[A-Za-z@]+\*?")
LATEX_ENVIRONMENT = re.compile(r"\s*\{([^{}]*)\}")
PARAGRAPH_END = re.compile(r"(?:\r?\n|\r)[ \t]*(?:\r?\n|\r)")


class _LatexScanner:
    def __init__(self, text: str):
        self.text = text
        self.protected: list[TextRange] = []
        self.directives: list[Directive] = []

    def protect(self, start: int, end: int) -> int:
        self.protected.append(TextRange(start, end))
        return end

    def paragraph_end(self, position: int) -> int:
        match = PARAGRAPH_END.search(self.text, position)
        return match.start() if match else len(self.text)

    def group_end(self, start: int, limit: int) -> int | None:
        """Offset after the group opening at ``start`` (``{..}`` or ``[..]``, nesting and escapes kept)."""
        text, closing = self.text, "}" if self.text[start] == "{" else "]"
        depth, i = 0, start + 1
        while i < limit:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return i + 1 if closing == "}" else None
                depth -= 1
            elif c == closing and depth == 0:
                return i + 1
            elif c == "%":
                i = _line_end(text, i)
                continue
            i += 1
        return None

    def skip_blanks(self, position: int, limit: int) -> int:
        while position < limit and self.text[position] in " \t":
            position += 1
        return position

    def arguments(self, position: int, limit: int, spec: str | None) -> int:
        """Consume a command's arguments; ``spec`` None = every adjacent group, all protected."""
        prose_args = list(spec) if spec is not None else None
        while True:
            at = self.skip_blanks(position, limit)
            if at >= limit or self.text[at] not in "[{":
                return position
            if self.text[at] == "{" and prose_args is not None and not prose_args:
                return position
            end = self.group_end(at, limit)
            if end is None:  # unbalanced: leave the rest of the paragraph alone
                return self.protect(position, self.paragraph_end(at))
            kind = "k" if self.text[at] == "[" or prose_args is None else prose_args.pop(0)
            if kind == "p":
                self.protect(position, at + 1)
                self.scan(at + 1, end - 1)
                self.protect(end - 1, end)
            else:
                self.protect(position, end)
            position = end

    def command(self, start: int, limit: int) -> int:
        text = self.text
        match = LATEX_NAME.match(text, start + 1, limit)
        if not match:  # control symbol: \%, \&, \\, \(, \[ ...
            symbol = text[start + 1:start + 2]
            if symbol in "([":
                closing = "\\)" if symbol == "(" else "\\]"
                end = text.find(closing, start + 2, limit)
                return self.protect(start, end + 2 if end >= 0 else self.paragraph_end(start))
            end = self.protect(start, min(start + 2, limit))
            if symbol == "\\" and end < limit and text[end] == "[":
                group = self.group_end(end, limit)
                end = self.protect(end, group) if group else end
            return end
        name, end = match.group(0), match.end()
        if name in ("verb", "verb*", "lstinline") and end < limit and text[end] not in "{[ \t\r\n":
            close = text.find(text[end], end + 1, limit)
            return self.protect(start, close + 1 if close >= 0 else _line_end(text, end))
        if name in ("begin", "end"):
            environment = LATEX_ENVIRONMENT.match(text, end, limit)
            if not environment:
                return self.protect(start, end)
            end = self.protect(start, environment.end())
            if name == "begin" and environment.group(1) in LATEX_PROTECTED_ENVIRONMENTS:
                closing = "\\end{" + environment.group(1) + "}"
                body_end = text.find(closing, end, limit)
                return self.protect(end, body_end + len(closing) if body_end >= 0 else limit)
            return self.arguments(end, limit, None if name == "begin" else "")
        self.protect(start, end)
        return self.arguments(end, limit, LATEX_ARGUMENTS.get(name.rstrip("*")))

    def math(self, start: int, limit: int) -> int:
        delimiter = "$$" if self.text.startswith("$$", start) else "$"
        i = start + len(delimiter)
        while i < limit:
            i = self.text.find(delimiter, i, limit)
            if i < 0:
                break
            if self.text[i - 1] != "\\":
                return self.protect(start, i + len(delimiter))
            i += 1
        return self.protect(start, self.paragraph_end(start))

    def comment(self, start: int, limit: int) -> int:
        end = min(_line_end(self.text, start), limit)
        match = DIRECTIVE_TEXT.match(self.text[start + 1:end])
        if match:
            self.directives.append(Directive(match.group(1), start, end))
        return self.protect(start, end)

    def scan(self, start: int, limit: int) -> None:
        handlers = {"\\": self.command, "$": self.math, "%": self.comment}
        i = start
        while i < limit:
            handler = handlers.get(self.text[i])
            i = handler(i, limit) if handler else i + 1


def scan_latex(text: str) -> Scan:
    scanner = _LatexScanner(text)
    begin = text.find("\\begin{document}")
    start = 0
    if begin >= 0:  # the preamble is configuration, never prose (its comments may hold directives)
        scanner.scan(0, begin)
        scanner.protected = [TextRange(0, begin)]
        start = begin
    scanner.scan(start, len(text))
    return Scan(tuple(merge_ranges(scanner.protected)), tuple(scanner.directives))


SCANNERS = {"plain": scan_plain, "markdown": scan_markdown, "latex": scan_latex, "html": scan_html}


# ---------------------------------------------------------------------------------------------


def protected_ranges(text: str, markup: str = "plain") -> list[TextRange]:
    """Sorted, merged character ranges of ``text`` that a repair must leave exactly as they are:
    the markup's non-prose parts, URLs and e-mail addresses, regions switched off by inline
    directives, and a leading BOM. ``markup`` is one of ``MARKUPS`` (resolve ``auto`` first)."""
    if markup not in SCANNERS:
        raise MarkupError(f"unknown markup {markup!r} (choose from {', '.join(MARKUPS)})")
    scan = SCANNERS[markup](text)
    ranges = list(scan.protected)
    ranges += directive_regions(text, scan.directives)
    ranges += [TextRange(m.start(), m.end()) for m in URL.finditer(text)]
    if text.startswith(BOM):
        ranges.append(TextRange(0, 1))
    return merge_ranges(ranges)


def prose_ranges(text: str, markup: str = "plain") -> list[TextRange]:
    """The complement of ``protected_ranges``: what a detector may read and a rewriter may change."""
    return complement(protected_ranges(text, markup), 0, len(text))
