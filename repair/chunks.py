"""Cut long text into blocks at paragraph, then sentence, then word boundaries.

Blocks bound the memory one repair step needs and are the unit a detector sees as "the
document". Cutting never drops or alters a character: the blocks joined are the input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

PARAGRAPH_BREAK = re.compile(r"(?:\r?\n|\r)[ \t]*(?:\r?\n|\r)\s*")
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
WHITESPACE = re.compile(r"\s+")

DEFAULT_BLOCK_CHARS = 100_000


@dataclass(frozen=True)
class Block:
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def sentence_ends(text: str) -> list[int]:
    """Where each sentence or paragraph of ``text`` ends (after its trailing space), in order."""
    return sorted({m.end() for m in SENTENCE_END.finditer(text)} | {m.end() for m in PARAGRAPH_BREAK.finditer(text)})


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or paragraph of ``text``, in order, covering all of it."""
    cuts = sorted({0, len(text), *sentence_ends(text)})
    return list(zip(cuts, cuts[1:]))


def _cut_points(text: str, pattern: re.Pattern) -> list[int]:
    return [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]


def _pack(text: str, cuts: list[int], limit: int) -> list[tuple[int, int]]:
    """Greedily group the pieces between cuts into ranges of at most ``limit`` characters."""
    ranges, start, last = [], 0, 0
    for cut in cuts + [len(text)]:
        if cut - start > limit and last > start:
            ranges.append((start, last))
            start = last
        last = cut
    ranges.append((start, len(text)))
    return ranges


def split_blocks(text: str, limit: int = DEFAULT_BLOCK_CHARS, offset: int = 0) -> list[Block]:
    """Blocks of at most ``limit`` characters where the text allows; they cover ``text`` exactly."""
    if len(text) <= limit:
        return [Block(offset, text)] if text else []
    blocks: list[Block] = []
    for pattern in (PARAGRAPH_BREAK, SENTENCE_END, WHITESPACE):
        cuts = _cut_points(text, pattern)
        if cuts:
            for start, end in _pack(text, cuts, limit):
                piece = text[start:end]
                if len(piece) > limit and pattern is not WHITESPACE:
                    blocks.extend(split_blocks(piece, limit, offset + start))
                else:
                    blocks.append(Block(offset + start, piece))
            return blocks
    # one unbroken run of characters longer than the limit: cut it where it must be cut
    return [Block(offset + i, text[i:i + limit]) for i in range(0, len(text), limit)]


def stream_blocks(pieces: Iterable[str], limit: int = DEFAULT_BLOCK_CHARS) -> Iterator[Block]:
    """Blocks from a stream of text pieces (file reads), holding about ``2 * limit`` characters.

    A block ends at the last paragraph break seen once the buffer is full, so paragraphs are
    never cut unless one alone is longer than ``limit``.
    """
    buffer, consumed = "", 0
    for piece in pieces:
        buffer += piece
        while len(buffer) > 2 * limit:
            head = buffer[:2 * limit]
            breaks = [m.end() for m in PARAGRAPH_BREAK.finditer(head) if m.end() < len(head)]
            cut = breaks[-1] if breaks else None
            if cut is None or cut < limit // 2:
                blocks = split_blocks(head, limit)
                cut = blocks[0].end if len(blocks) > 1 else len(head)
            for block in split_blocks(buffer[:cut], limit, consumed):
                yield block
            buffer, consumed = buffer[cut:], consumed + cut
    for block in split_blocks(buffer, limit, consumed):
        yield block
