"""Reading inputs (files or stdin) safely, and writing files atomically.

``open_source`` validates an input completely before anything is repaired: a file that is
missing, a directory, binary, not decodable, empty, too large or not English raises one
``InputError`` whose message is a single line for the user. Validation reads the file once
in small pieces; ``Source.pieces()`` then streams the decoded text again, so memory stays
bounded whatever the file size. Text is decoded with ``newline=''`` semantics: CRLF, lone
CR and every other character survive exactly.
"""
from __future__ import annotations

import codecs
import contextlib
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

STDIN = "-"
STDIN_NAME = "<stdin>"
DEFAULT_ENCODING = "utf-8"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
READ_BYTES = 64 * 1024
SNIFF_BYTES = 8192
LANGUAGE_SAMPLE_CHARS = 20_000
UTF8_BOM = "\ufeff"

# Bytes that never occur in text files; tab, LF, VT, FF, CR and ESC (ANSI colour) are allowed.
CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}
MAX_CONTROL_SHARE = 0.05

# English function words: they make up roughly 40-50% of running English prose and 20-30%
# of technical English, but almost none of French, German or Spanish text. Words that are
# also common function words in those languages ("a", "in", "on", "die", "son") are left out.
ENGLISH_FUNCTION_WORDS = frozenset(
    """
    the of and to is was for that with as by at from this be are or an it its not but have
    has had were which their they he she his her we you your our them there been will would
    can could should may might must shall than then these those such when where who whom
    whose what why how all any each other some into over under about after before between
    through during without within also only very more most if because so while if up out
    my me him us i do does did done being just both many much well off down here upon
    again against because yet until onto toward towards whether though although
    """.split()
)
MIN_WORDS_FOR_LANGUAGE = 12
MIN_FUNCTION_WORD_SHARE = 0.08
MIN_LATIN_LETTER_SHARE = 0.6
_LETTERS = re.compile(r"[^\W\d_]+")


class InputError(Exception):
    """An input that cannot be repaired; ``str(error)`` is ``"name: reason"``."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Source:
    """A validated input. ``text`` is held only for stdin; files are re-read by ``pieces()``.

    A UTF-8 byte-order mark is not part of the text (so offsets and columns match what an
    editor shows) but ``bom`` records it so that writers put it back.
    """

    name: str
    path: Path | None
    encoding: str
    size: int
    bom: bool = False
    text: str | None = None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    def pieces(self, read_bytes: int = READ_BYTES) -> Iterator[str]:
        """The decoded text in pieces of about ``read_bytes``, without the BOM."""
        if self.text is not None:
            yield self.text
            return
        first = True
        for piece in _decode_stream(self.path, self.encoding, read_bytes, self.name):
            if first and self.bom and piece.startswith(UTF8_BOM):
                piece = piece[1:]
            first = False
            if piece:
                yield piece

    def read_text(self) -> str:
        return "".join(self.pieces())

    @property
    def prefix(self) -> str:
        """What a writer puts before the repaired text (the BOM, when the input had one)."""
        return UTF8_BOM if self.bom else ""


def display_name(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def open_source(
    path: str,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    language_check: bool = True,
    stdin: IO[bytes] | None = None,
) -> Source:
    """Validate ``path`` (or ``"-"`` for stdin) and return a ``Source``, or raise ``InputError``."""
    encoding = encoding or DEFAULT_ENCODING
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(display_name(path), f"unknown encoding {encoding!r}") from None
    if path == STDIN:
        return _open_stdin(stdin, encoding, max_bytes, language_check)
    name = path
    file = Path(path)
    try:
        info = file.stat()
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except PermissionError:
        raise InputError(name, "permission denied") from None
    except OSError as error:
        raise InputError(name, error.strerror or str(error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(name, "is a directory, not a text file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(name, "is not a regular file")
    if info.st_size > max_bytes:
        raise InputError(name, f"is {_megabytes(info.st_size)}, above the {_megabytes(max_bytes)} limit "
                               f"(raise it with --max-bytes)")
    if info.st_size == 0:
        raise InputError(name, "is empty")
    try:
        with open(file, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except PermissionError:
        raise InputError(name, "permission denied") from None
    except OSError as error:
        raise InputError(name, error.strerror or str(error)) from None
    _check_not_binary(name, head, encoding)
    sample: list[str] = []
    sampled, has_text, first, bom = 0, False, True, False
    for piece in _decode_stream(file, encoding, READ_BYTES, name):
        if first:
            bom = _is_utf8(encoding) and piece.startswith(UTF8_BOM)
            piece, first = piece[1:] if bom else piece, False
        has_text = has_text or (bool(piece) and not piece.isspace())
        if sampled < LANGUAGE_SAMPLE_CHARS:
            sample.append(piece[:LANGUAGE_SAMPLE_CHARS - sampled])
            sampled += len(sample[-1])
    if not has_text:
        raise InputError(name, "contains only whitespace")
    if language_check:
        check_english(name, "".join(sample))
    return Source(name=name, path=file, encoding=encoding, size=info.st_size, bom=bom)


def _open_stdin(stdin: IO[bytes] | None, encoding: str, max_bytes: int, language_check: bool) -> Source:
    name = STDIN_NAME
    if stdin is None:
        stdin = sys.stdin.buffer
    data = stdin.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(name, f"is above the {_megabytes(max_bytes)} limit (raise it with --max-bytes)")
    if not data:
        raise InputError(name, "is empty")
    _check_not_binary(name, data[:SNIFF_BYTES], encoding)
    text = "".join(_decode_chunks(name, encoding, [data]))
    bom = _is_utf8(encoding) and text.startswith(UTF8_BOM)
    if bom:
        text = text[1:]
    if not text.strip():
        raise InputError(name, "contains only whitespace")
    if language_check:
        check_english(name, text[:LANGUAGE_SAMPLE_CHARS])
    return Source(name=name, path=None, encoding=encoding, size=len(data), bom=bom, text=text)


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _check_not_binary(name: str, head: bytes, encoding: str) -> None:
    """Refuse files that are not text: NUL bytes, or too many control bytes, near the start."""
    if not _is_utf8(encoding) and codecs.lookup(encoding).name.startswith("utf-16"):
        return  # UTF-16 text is full of NUL bytes by design
    if b"\x00" in head:
        raise InputError(name, "looks binary (NUL bytes in the first 8 KB), not a text file")
    controls = sum(1 for byte in head if byte in CONTROL_BYTES)
    if head and controls / len(head) > MAX_CONTROL_SHARE:
        raise InputError(name, f"looks binary ({controls} control bytes in the first {len(head):,} bytes), "
                               f"not a text file")


def _decode_stream(path: Path, encoding: str, read_bytes: int, name: str) -> Iterator[str]:
    try:
        with open(path, "rb") as handle:
            yield from _decode_chunks(name, encoding, iter(lambda: handle.read(read_bytes), b""))
    except OSError as error:
        raise InputError(name, error.strerror or str(error)) from None


def _decode_chunks(name: str, encoding: str, chunks) -> Iterator[str]:
    """Decode byte chunks incrementally; a bad byte raises ``InputError`` with its file offset."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    for chunk in _with_end(chunks):
        pending = decoder.getstate()[0]
        try:
            piece = decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError as error:
            raise _decode_error(name, encoding, error, consumed - len(pending)) from None
        consumed += len(chunk or b"")
        if piece:
            yield piece


def _with_end(chunks):
    yield from chunks
    yield None


def _decode_error(name: str, encoding: str, error: UnicodeDecodeError, chunk_offset: int) -> InputError:
    """``error.object`` is the undecoded tail held over from the last chunk plus the new chunk."""
    offset = chunk_offset + error.start
    bad = error.object[error.start:error.start + 1]
    byte = f"byte 0x{bad.hex().upper()} " if bad else ""
    hint = " (try --encoding latin-1 or the file's real encoding)" if _is_utf8(encoding) else ""
    label = "UTF-8" if _is_utf8(encoding) else encoding
    return InputError(name, f"is not valid {label}: {byte}at byte offset {offset}{hint}")


def check_english(name: str, sample: str) -> None:
    """Refuse text that is clearly not English; too short to tell means accepted.

    A deliberate, cheap test rather than a language model: English prose, even technical
    prose, is full of a few dozen function words that other languages lack.
    """
    letters = [c for c in sample if c.isalpha()]
    if len(letters) >= 40:
        latin = sum(1 for c in letters if c < "\u0250")
        if latin / len(letters) < MIN_LATIN_LETTER_SHARE:
            raise InputError(name, "does not look like English text (mostly non-Latin script); "
                                   "the models only know English (override with --force)")
    words = [w.lower() for w in _LETTERS.findall(sample)]
    if len(words) < MIN_WORDS_FOR_LANGUAGE:
        return
    share = sum(1 for w in words if w in ENGLISH_FUNCTION_WORDS) / len(words)
    if share < MIN_FUNCTION_WORD_SHARE:
        raise InputError(name, f"does not look like English text (only {share:.0%} common English words); "
                               f"the models only know English (override with --force)")


class AtomicWriter:
    """Write a file completely or not at all.

    Text goes to a temporary file in the same directory (so ``os.replace`` is a rename on one
    file system) which replaces ``path`` only when the ``with`` block ends without an
    exception and without ``discard()``; otherwise it is removed and ``path`` is untouched.
    ``newline=''`` keeps line endings exactly as written; the target's permissions are kept.
    """

    def __init__(self, path: os.PathLike | str, encoding: str = DEFAULT_ENCODING):
        self.path = Path(path)
        self._discarded = False
        self._handle = tempfile.NamedTemporaryFile(
            "w", encoding=encoding, newline="", dir=self.path.parent, prefix=f".{self.path.name}.",
            suffix=".tmp", delete=False,
        )
        self.temp_path = Path(self._handle.name)

    def write(self, text: str) -> None:
        self._handle.write(text)

    def discard(self) -> None:
        """Leave the target as it was (nothing worth writing)."""
        self._discarded = True

    def __enter__(self) -> "AtomicWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None and not self._discarded:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()
                with contextlib.suppress(OSError):
                    os.chmod(self.temp_path, self._target_mode())
                os.replace(self.temp_path, self.path)
                return
        except BaseException:
            self._remove_temp()
            raise
        self._remove_temp()

    def _target_mode(self) -> int:
        """The target's permissions, or for a new file what ``open()`` would give (0666 less umask);
        mkstemp's private 0600 would otherwise leak into every report and output we create."""
        try:
            return stat.S_IMODE(self.path.stat().st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            return 0o666 & ~umask

    def _remove_temp(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp_path)


def write_text_atomic(path: os.PathLike | str, text: str, encoding: str = DEFAULT_ENCODING) -> None:
    with AtomicWriter(path, encoding) as handle:
        handle.write(text)
