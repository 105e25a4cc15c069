"""Input validation: every way an input can be unusable gives one clear InputError."""
from __future__ import annotations

import io
import os

import pytest

from repair.textio import (
    AtomicWriter,
    InputError,
    _decode_chunks,
    check_english,
    open_source,
    write_text_atomic,
)

ENGLISH = "The committee met on Tuesday and agreed that the new bridge would open to traffic in the spring.\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def reason(path, **options) -> str:
    with pytest.raises(InputError) as caught:
        open_source(path, **options)
    assert "\n" not in str(caught.value)
    return caught.value.reason


def test_missing_file(tmp_path):
    assert reason(str(tmp_path / "nope.txt")) == "no such file"


def test_directory(tmp_path):
    assert "directory" in reason(str(tmp_path))


def test_invalid_utf8_names_the_byte_and_offset(tmp_path):
    path = write(tmp_path, "latin.txt", ENGLISH.encode() + "café".encode("latin-1"))
    message = reason(path)
    assert f"byte 0xE9 at byte offset {len(ENGLISH.encode()) + 3}" in message
    assert "--encoding" in message
    # the override decodes it
    assert open_source(path, encoding="latin-1").read_text().endswith("café")


def test_invalid_byte_offset_is_exact_across_read_boundaries():
    data = "aé€😀".encode() + b"\xff" + b"tail"
    for size in range(1, len(data) + 1):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        with pytest.raises(InputError, match=f"byte 0xFF at byte offset {len(data) - 5}"):
            list(_decode_chunks("x", "utf-8", chunks))
    truncated = "ab".encode() + "€".encode()[:2]
    with pytest.raises(InputError, match="at byte offset 2"):
        list(_decode_chunks("x", "utf-8", [truncated[:3], truncated[3:]]))


def test_unknown_encoding(tmp_path):
    assert "unknown encoding" in reason(write(tmp_path, "a.txt", ENGLISH.encode()), encoding="klingon-8")


def test_binary_nul_bytes(tmp_path):
    assert "binary" in reason(write(tmp_path, "a.bin", b"PK\x03\x04" + b"\x00" * 50 + ENGLISH.encode()))


def test_binary_control_bytes(tmp_path):
    assert "control bytes" in reason(write(tmp_path, "a.bin", bytes(range(1, 9)) * 40 + ENGLISH.encode()))


def test_empty_and_whitespace_only(tmp_path):
    assert reason(write(tmp_path, "empty.txt", b"")) == "is empty"
    assert reason(write(tmp_path, "blank.txt", b" \r\n\t\n  ")) == "contains only whitespace"
    assert reason(write(tmp_path, "bom.txt", b"\xef\xbb\xbf\n\n")) == "contains only whitespace"


def test_huge_file_is_refused_with_the_limit(tmp_path):
    path = write(tmp_path, "big.txt", ENGLISH.encode() * 100)
    message = reason(path, max_bytes=1000)
    assert "above the 1,000 bytes limit" in message and "--max-bytes" in message
    assert open_source(path, max_bytes=100_000).size == len(ENGLISH.encode()) * 100


@pytest.mark.parametrize(
    "text",
    [
        "Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft im Garten neben dem Haus.",
        "Le renard brun rapide saute par-dessus le chien paresseux et le chat dort dans le jardin près de la maison.",
        "El rápido zorro marrón salta sobre el perro perezoso y el gato duerme en el jardín junto a la casa grande.",
        "Быстрая коричневая лиса прыгает через ленивую собаку, а кошка спит в саду рядом с домом у реки.",
        "敏捷的棕色狐狸跳过了懒狗，猫在房子旁边的花园里睡觉。这是一个很长的句子，用来测试语言检查是否有效。",
    ],
)
def test_non_english_is_refused_unless_forced(tmp_path, text):
    path = write(tmp_path, "foreign.txt", text.encode())
    assert "does not look like English" in reason(path)
    assert open_source(path, language_check=False).read_text() == text


@pytest.mark.parametrize(
    "text",
    [
        "Hello!",
        "Quarterly revenue rose sharply.",
        "Call apply_edits() with the text and a list of Edit objects; it returns the new string. "
        "Offsets are character offsets into the decoded input, and overlapping edits raise ValueError.",
        "Set PYTHONPATH, run pytest -q, then check the coverage report in htmlcov/index.html for gaps.",
        "Install the CUDA toolkit (version 12.4 or newer), export LD_LIBRARY_PATH, and rebuild the "
        "extension with make -j8; the kernel needs compute capability 8.0 or above.",
        "Results: accuracy 0.91, precision 0.88, recall 0.79, F1 0.83 on the held-out test split of 2,000 documents.",
    ],
)
def test_short_and_technical_english_passes(text):
    check_english("x", text)


def test_crlf_bom_and_unicode_survive_reading(tmp_path):
    text = "“Quoted,” she said.\r\n\r\nLine two\rwith a lone CR — and 😀 emoji.\n"
    path = write(tmp_path, "a.txt", b"\xef\xbb\xbf" + text.encode())
    source = open_source(path)
    assert source.bom and source.prefix == "\ufeff"
    assert source.read_text() == text
    assert "".join(source.pieces(read_bytes=3)) == text  # multi-byte characters split across reads


def test_stdin(monkeypatch):
    source = open_source("-", stdin=io.BytesIO(ENGLISH.encode()))
    assert source.name == "<stdin>" and source.is_stdin and source.read_text() == ENGLISH
    with pytest.raises(InputError, match="<stdin>: is empty"):
        open_source("-", stdin=io.BytesIO(b""))
    with pytest.raises(InputError, match="<stdin>: is not valid UTF-8"):
        open_source("-", stdin=io.BytesIO(b"abc \xff"))
    with pytest.raises(InputError, match="limit"):
        open_source("-", stdin=io.BytesIO(ENGLISH.encode()), max_bytes=10)


def test_atomic_write_replaces_whole_file_and_keeps_mode(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_text_atomic(path, "new\r\ntext")
    assert path.read_bytes() == b"new\r\ntext"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["a.txt"]


def test_atomic_write_failure_leaves_file_untouched(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with AtomicWriter(path) as writer:
            writer.write("half of the new")
            raise RuntimeError("disk full")
    with pytest.raises(UnicodeEncodeError):
        with AtomicWriter(path, encoding="latin-1") as writer:
            writer.write("no € in latin-1")
    with AtomicWriter(path) as writer:
        writer.write("discarded")
        writer.discard()
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]
