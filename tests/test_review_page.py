"""The HTML review page: self-contained, safe with any text, and (in headless Chromium) its
downloads equal what the library produces for the same decisions."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repair.cli import main
from repair.repairer import Repairer
from repair.review import DecisionLog, ReviewSession, apply_decisions
from repair.review_page import page_data, render_review_page

sys.path.insert(0, str(Path(__file__).parent))
from review_helpers import WORD_TABLE, WordTableComponent  # noqa: E402

TESTS = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# where playwright-core may be installed (npm install --prefix DIR playwright-core)
NODE_MODULES = [os.environ.get("PLAYWRIGHT_NODE_MODULES", ""), str(TESTS / "node_modules"),
                str(TESTS.parent / "node_modules"), "/tmp/repair-node/node_modules"]
# a BOM, CRLF, an emoji before the edits (code points vs UTF-16), markup-looking text
TEXT = ("\ufeff😀 Our firm tracks inventory in a lengthy </script><b>spreadsheet</b>.\r\n"
        "The Firm said sales commenced early & the firm grew.\r\n")


@pytest.fixture
def session():
    component = WordTableComponent(WORD_TABLE)
    result = Repairer(component, component, threshold=0.5).repair(TEXT)
    return ReviewSession(TEXT, result.edits, name="article.txt", signature=Repairer(component, component).signature)


def embedded_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_the_page_is_self_contained_and_embeds_the_text_safely(session):
    page = render_review_page(session)
    assert "default-src 'none'" in page                          # the browser may fetch nothing
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert not re.search(r"https?://", page)
    assert page.count("</script>") == 2                          # the document's own "</script>" is escaped
    data = embedded_data(page)
    assert data == page_data(session) and data["text"] == TEXT
    assert [e["original"] for e in data["edits"]] == ["firm", "inventory", "lengthy", "Firm", "commenced", "firm"]
    assert (data["edits"][0]["start"], data["edits"][0]["line"], data["edits"][0]["column"]) == (7, 1, 7)
    assert data["downloads"] == {"text": "article.reviewed.txt", "decisions": "article.txt.decisions.json"}


def test_the_command_writes_the_page(tmp_path, monkeypatch):
    from repair import components
    from review_helpers import write_model_dir

    monkeypatch.setitem(components.COMPONENT_TYPES, "review-test-word-table", "review_helpers:WordTableComponent")
    doc = tmp_path / "article.txt"
    doc.write_bytes(TEXT.encode("utf-8"))
    page = tmp_path / "review.html"
    assert main(["review", "--model-dir", str(write_model_dir(tmp_path / "models")), "--html", str(page), str(doc)]) == 0
    data = embedded_data(page.read_text(encoding="utf-8"))
    assert data["text"] == TEXT and len(data["edits"]) == 6 and doc.read_bytes() == TEXT.encode("utf-8")


def _playwright_node_path() -> str | None:
    node = shutil.which("node")
    if not node or not Path(CHROMIUM).exists():
        return None
    for folder in filter(None, NODE_MODULES):
        if (Path(folder) / "playwright-core" / "package.json").is_file():
            return folder
    return None


NODE_PATH = _playwright_node_path()


@pytest.mark.skipif(NODE_PATH is None, reason="needs node, playwright-core (npm) and chromium at /usr/bin/chromium")
def test_in_chromium_the_downloads_equal_the_library_result(session, tmp_path):
    page = tmp_path / "review.html"
    page.write_text(render_review_page(session), encoding="utf-8")
    actions = [
        {"click": "#change-0 button.accept"},
        {"select": ["#change-1 select", "1"]},             # alternative 1 (accepts it)
        {"click": "#change-2 button.reject"},
        {"click": "#change-3 button.reject"},
        {"click": "#change-3 button.reject"},              # a second click undoes the toggle
        {"fill": ["#bulk-score", "0.9"]},
        {"click": "#bulk-accept"},                         # Firm and the last firm (0.92); commenced stays
    ]
    (tmp_path / "actions.json").write_text(json.dumps(actions), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        ["nice", "node", str(TESTS / "review_page_driver.cjs"), str(page), str(out), str(tmp_path / "actions.json")],
        env={**os.environ, "NODE_PATH": NODE_PATH}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["requests"] == [] and result["errors"] == []
    assert result["suggested"] == {"text": "article.reviewed.txt", "decisions": "article.txt.decisions.json"}
    assert result["counts"] == "5 of 6 decided · 4 applied"

    # the same decisions made through the library
    session.accept()
    session.choose(1)
    session.reject()
    assert session.accept_above(0.9) == 2
    expected = session.result_text()
    assert expected.startswith("\ufeff😀 Our company tracks shares in a lengthy </script>")
    downloaded_log = DecisionLog.from_dict(json.loads((out / "decisions").read_text(encoding="utf-8")))
    assert downloaded_log == session.log()
    assert (out / "text").read_bytes() == expected.encode("utf-8")   # BOM and CRLF survive the Blob
    assert apply_decisions(TEXT, downloaded_log) == expected
    # and the command applies the downloaded decisions to the file
    doc = tmp_path / "article.txt"
    doc.write_bytes(TEXT.encode("utf-8"))
    assert main(["review", "--decisions", str(out / "decisions"), str(doc)]) == 0
    assert doc.read_bytes() == expected.encode("utf-8")
    shutil.copy(out / "screenshot.png", tmp_path / "screenshot.png")
    if os.environ.get("REVIEW_PAGE_SCREENSHOT"):
        shutil.copy(out / "screenshot.png", os.environ["REVIEW_PAGE_SCREENSHOT"])
