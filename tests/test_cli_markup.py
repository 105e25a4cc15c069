"""check and fix honour markup, inline ignores and ignore-word lists (the toy model flags
"motorcar" -> "car", "eatery" -> "restaurant", "pupils" -> "students")."""
from __future__ import annotations

import json

import pytest

from repair.cli import main

README_MD = """# Motorcar notes

The motorcar stopped by the eatery, see [the motorcar page](https://example.com/motorcar).

```python
motorcar = eatery()  # code is never touched
```

Use `motorcar` in code. <!-- repair: off -->The motorcar here is kept.<!-- repair: on -->

The pupils left.
"""

EXPECTED_MD = """# Car notes

The car stopped by the restaurant, see [the car page](https://example.com/motorcar).

```python
motorcar = eatery()  # code is never touched
```

Use `motorcar` in code. <!-- repair: off -->The motorcar here is kept.<!-- repair: on -->

The students left.
"""


@pytest.fixture
def run(toy_model_dir, capsys, in_tmp):
    def invoke(*argv):
        status = main([argv[0], "--model-dir", str(toy_model_dir), *argv[1:]])
        out, err = capsys.readouterr()
        return status, out, err
    return invoke


def test_fix_markdown_changes_prose_only(run, in_tmp):
    path = in_tmp / "README.md"
    path.write_text(README_MD, encoding="utf-8")
    status, out, err = run("fix", str(path))
    assert (status, err) == (0, "")
    assert out == EXPECTED_MD


def test_markup_plain_overrides_the_suffix(run, in_tmp):
    path = in_tmp / "README.md"
    path.write_text("Use `motorcar` here.\n", encoding="utf-8")
    status, out, _ = run("fix", "--markup", "plain", str(path))
    assert (status, out) == (0, "Use `car` here.\n")


def test_ignore_words_file_and_config_are_merged(run, in_tmp):
    (in_tmp / "pyproject.toml").write_text("[tool.repair]\nignore-words = ['Eatery']\n", encoding="utf-8")
    (in_tmp / "words.txt").write_text("pupil\n", encoding="utf-8")
    path = in_tmp / "a.txt"
    path.write_text("The motorcar stopped by the eatery. The pupils left.\n", encoding="utf-8")
    status, out, err = run("check", "--format", "json", "--ignore-words", "words.txt", str(path))
    assert status == 1, err
    found = [e["original"] for f in json.loads(out)["files"] for e in f["edits"]]
    assert found == ["motorcar"]  # eatery (config) and pupils (file, an inflection of "pupil") are ignored


def test_missing_ignore_file_is_one_clear_line(run, in_tmp):
    path = in_tmp / "a.txt"
    path.write_text("The motorcar stopped.\n", encoding="utf-8")
    status, out, err = run("fix", "--ignore-words", "nope.txt", str(path))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "nope.txt" in err and "Traceback" not in err


def test_offsets_count_a_kept_bom_as_character_zero(run, in_tmp):
    """check's offsets index the decoded file (BOM included), as review and the markup API do."""
    decoded = "\ufeffThe motorcar 😀 stopped.\r\nThe pupils left.\n"
    path = in_tmp / "bom.txt"
    path.write_bytes(decoded.encode("utf-8"))
    status, out, _ = run("check", "--format", "json", str(path))
    assert status == 1
    edits = [e for f in json.loads(out)["files"] for e in f["edits"]]
    assert [decoded[e["start"]:e["end"]] for e in edits] == ["motorcar", "pupils"]
    assert [(e["line"], e["column"]) for e in edits][1] == (2, 5)


def test_html_report_highlights_the_right_words_after_a_bom(run, in_tmp):
    """The page shows the text without its BOM, so the BOM-counting offsets must not shift the marks."""
    path = in_tmp / "bom.txt"
    path.write_bytes("\ufeffThe motorcar 😀 stopped.\r\nThe pupils left.\n".encode("utf-8"))
    assert run("fix", "--report", "r.html", str(path))[0] == 0
    page = (in_tmp / "r.html").read_text(encoding="utf-8")
    assert ">The <span class=\"edit\"" in page and "</span> 😀 stopped." in page
    assert "<del>motorcar</del><ins>car</ins>" in page and "<del>pupils</del><ins>students</ins>" in page
    assert "\ufeff" not in page and "</span> left." in page
