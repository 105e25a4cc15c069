"""Batch corpus repair: outputs, fault isolation, modes, resume after kill -9, engines."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import toy_components
from repair.batch import (
    EDITS,
    MANIFEST,
    REJECTS,
    SUMMARY,
    BatchConfig,
    batch_repairer,
    run_batch,
)
from repair.cli import main
from repair.components import COMPONENT_TYPES
from repair.density import VERDICTS, SpinDensity
from repair.edits import Edit, apply_edits, count_words

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PLAIN = ["The river ran past the old mill.", "Nobody knew the answer.", "She wrote three letters.",
         "We waited for the bus in the rain.", "The report was late again."]
SPUN = ["They commence work at dawn.", "Please utilize the side door.", "He will purchase an automobile.",
        "An enormous crowd came to assist."]


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setitem(COMPONENT_TYPES, toy_components.TOY_TYPE, "toy_components:ToyTable")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), str(ROOT)]))
    return toy_components.make_model_dir(tmp_path / "models")


@pytest.fixture
def factory(models):
    return toy_components.ToyFactory(str(models))


def make_text(rng: random.Random, sentences: int = 12, spun_share: float = 0.3) -> str:
    paragraphs = []
    for _ in range(3):
        picked = [rng.choice(SPUN) if rng.random() < spun_share else rng.choice(PLAIN) for _ in range(sentences // 3)]
        paragraphs.append(" ".join(picked))
    return "\n\n".join(paragraphs) + "\n"


def make_text_corpus(folder: Path, count: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    for i in range(count):
        path = folder / f"part{i % 3}" / f"doc{i:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_text(rng, spun_share=rng.choice([0.0, 0.1, 0.5])), encoding="utf-8")
    (folder / "notes.md").write_text("not included by the default glob")
    return folder


def make_jsonl_corpus(folder: Path, shards: int, per_shard: int, seed: int = 2) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        with open(folder / f"shard-{s:02d}.jsonl", "w", encoding="utf-8") as handle:
            for i in range(per_shard):
                record = {"id": f"s{s}-{i}", "text": make_text(rng, spun_share=rng.choice([0.0, 0.5])), "lang": "en"}
                handle.write(json.dumps(record) + "\n")
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes; the summary without its per-run timing."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST:
            continue  # records the run's history, not its result
        data = path.read_bytes()
        if relative == SUMMARY:
            summary = json.loads(data)
            summary.pop("throughput")
            data = json.dumps(summary, sort_keys=True).encode()
        files[relative] = data
    return files


def edits_entries(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / EDITS).read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- outputs


def test_text_folder_is_mirrored_repaired_and_recorded(tmp_path, factory):
    src = make_text_corpus(tmp_path / "src", 9)
    stats = run_batch(src, tmp_path / "out", BatchConfig(), factory)
    out = tmp_path / "out"
    assert stats.exit_code == 0 and stats.processed == 9
    entries = {e["id"]: e for e in edits_entries(out)}
    assert sorted(entries) == sorted(p.relative_to(src).as_posix() for p in src.rglob("*.txt"))
    assert not (out / "notes.md").exists()
    changed = 0
    for doc_id, entry in entries.items():
        original = (src / doc_id).read_text(encoding="utf-8")
        edits = [Edit.from_dict(e) for e in entry["edits"]]
        # the mirror holds exactly the original with the recorded edits applied
        assert (out / doc_id).read_text(encoding="utf-8") == apply_edits(original, edits)
        assert all(e.original.lower() in toy_components.TOY_TABLE for e in edits)
        assert entry["words"] == count_words(original)
        assert entry["spin_score"] == pytest.approx(entry["words_changed"] / entry["words"], abs=1e-6)
        assert entry["signature"].startswith("detector:toy-table@")
        changed += bool(edits)
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["documents"] == 9 and summary["failures"] == 0
    assert summary["edits"] == sum(len(e["edits"]) for e in entries.values()) > 0
    assert sum(summary["spin_score"]["histogram"].values()) == 9
    assert summary["spin_score"]["histogram"]["0"] == 9 - changed
    assert summary["throughput"]["words_per_second"] > 0


def test_inline_ignores_and_urls_come_out_as_written(tmp_path, factory):
    """Batch honours the plain-text inline directives of check and fix: ignored text is untouched."""
    text = ("They commence work at dawn.\nrepair: off\nPlease utilize the side door.\nrepair: on\n"
            "# repair: ignore-next-line\nHe will purchase it.\nSee https://x.org/commence or assist us.\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text(text, encoding="utf-8")
    assert run_batch(tmp_path / "src", tmp_path / "out", BatchConfig(), factory).exit_code == 0
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == (
        text.replace("commence work", "begin work").replace("assist us", "help us"))
    columns = batch_repairer(factory=factory)({"text": [text]})
    assert columns["repaired"] == [(tmp_path / "out" / "a.txt").read_text(encoding="utf-8")]


README_MD = """\
# Assist notes

We commence at dawn. Run `commence --now` and read [the enormous guide](https://example.com/commence "utilize it").

```bash
commence --utilize > enormous.log
```

<!-- repair: off -->
Please utilize the side door.
<!-- repair: on -->
Please utilize the front door.
"""
# pieces of README_MD that are not prose, with the toy model's words planted in each
MD_PROTECTED = ["`commence --now`", '(https://example.com/commence "utilize it")',
                "```bash\ncommence --utilize > enormous.log\n```",
                "<!-- repair: off -->\nPlease utilize the side door.\n<!-- repair: on -->"]


def _markdown_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "README.md").write_bytes(README_MD.replace("\n", "\r\n").encode("utf-8"))  # CRLF, as on Windows
    (folder / "notes.txt").write_text("Run `commence --now` and utilize it.\n", encoding="utf-8")
    return folder


def test_markdown_folder_repairs_prose_and_leaves_code_and_links_byte_identical(tmp_path, factory, models,
                                                                              monkeypatch):
    src = _markdown_folder(tmp_path / "src")
    stats = run_batch(src, tmp_path / "out", BatchConfig(include=("*.md", "*.txt")), factory)
    assert stats.exit_code == 0
    original = (src / "README.md").read_bytes()
    repaired = (tmp_path / "out" / "README.md").read_bytes()
    expected = README_MD.replace("# Assist", "# Help").replace("We commence", "We begin") \
        .replace("the enormous guide", "the big guide").replace("utilize the front", "use the front")
    assert repaired == expected.replace("\n", "\r\n").encode("utf-8")
    for piece in MD_PROTECTED:
        piece = piece.replace("\n", "\r\n").encode("utf-8")
        assert piece in original and piece in repaired
    # auto picks by suffix: the .txt file is plain text, where backticks are just prose
    assert (tmp_path / "out" / "notes.txt").read_text(encoding="utf-8") == "Run `begin --now` and use it.\n"
    entries = {e["id"]: e for e in edits_entries(tmp_path / "out")}
    assert entries["README.md"]["markup"] == "markdown" and entries["notes.txt"]["markup"] == "plain"
    assert len(entries["README.md"]["edits"]) == 4

    # --markup overrides the suffix, and [tool.repair] markup fills in when the flag is absent
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nmarkup = "plain"\n', encoding="utf-8")
    args = ["--include", "*.md", "--model-dir", str(models), "-j", "1", "-q"]
    assert main(["batch", str(src), "-o", str(tmp_path / "plain")] + args) == 0
    assert b"commence --utilize" not in (tmp_path / "plain" / "README.md").read_bytes()
    assert main(["batch", str(src), "-o", str(tmp_path / "flag"), "--markup", "markdown"] + args) == 0
    assert (tmp_path / "flag" / "README.md").read_bytes() == repaired


def test_records_are_plain_unless_a_markup_is_given(tmp_path, factory):
    src = tmp_path / "corpus.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Run `commence` to commence."}) + "\n", encoding="utf-8")
    run_batch(src, tmp_path / "auto", BatchConfig(), factory)
    run_batch(src, tmp_path / "md", BatchConfig(markup="markdown"), factory)
    assert json.loads((tmp_path / "auto" / "corpus.jsonl").read_text())["text"] == "Run `begin` to begin."
    assert json.loads((tmp_path / "md" / "corpus.jsonl").read_text())["text"] == "Run `commence` to begin."
    assert [e["markup"] for e in edits_entries(tmp_path / "md")] == ["markdown"]
    columns = batch_repairer(factory=factory, markup="markdown")({"text": ["Run `commence` to commence."]})
    assert columns["repaired"] == ["Run `commence` to begin."]


def test_ignore_words_file_and_config_suppress_edits(tmp_path, factory, models, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    text = "They commence work. Please utilize the door. He will purchase an automobile.\n"
    (src / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "ignore.txt").write_text("# house words\nCommence\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.repair]\nignore-words = ['utilize']\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    base = [str(src), "--model-dir", str(models), "-j", "1", "-q"]
    assert main(["batch", *base, "-o", str(tmp_path / "out"), "--ignore-words", str(tmp_path / "ignore.txt")]) == 0
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == \
        "They commence work. Please utilize the door. He will buy an car.\n"
    entry = edits_entries(tmp_path / "out")[0]
    assert [e["original"] for e in entry["edits"]] == ["purchase", "automobile"]
    assert "|ignore:" in entry["signature"]
    # the same list through the library, in worker processes: the same bytes
    config = BatchConfig(jobs=2, batch_size=1, ignore_words=("utilize", "commence"))
    run_batch(src, tmp_path / "two", config, factory)
    assert tree(tmp_path / "two") == tree(tmp_path / "out")
    # another list is another job: refused, not mixed
    assert main(["batch", *base, "-o", str(tmp_path / "out")]) == 2
    assert main(["batch", *base, "-o", str(tmp_path / "x"), "--ignore-words", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "different job" in err and "missing.txt" in err and "Traceback" not in err

    repairer = factory()
    columns = batch_repairer(repairer=repairer, ignore_words=["purchase"])({"text": [text]})
    assert columns["repaired"] == ["They begin work. Please use the door. He will purchase an car.\n"]
    assert repairer.ignore is None  # the caller's repairer is left as it was
    columns = batch_repairer(factory=factory, ignore_words=["automobile"])({"text": [text]})
    assert columns["repaired"] == ["They begin work. Please use the door. He will buy an automobile.\n"]


def test_spin_density_and_verdict_are_recorded_per_document_and_counted(tmp_path, factory, models, capsys):
    src = tmp_path / "src"
    src.mkdir()
    plain = " ".join(PLAIN)
    documents = {
        "clean.txt": f"{plain} {plain} {SPUN[0]}",  # 1 in 61 words: 16 per 1,000
        "one-word.txt": f"{PLAIN[1]} {SPUN[1]}",  # 111 per 1,000, but a single word condemns nothing
        "suspicious.txt": f"{plain} {plain} {SPUN[0]} {SPUN[1]}",  # 2 in 66 words: 30 per 1,000
        "heavy.txt": " ".join(SPUN),  # 6 in 21 words
    }
    for name, text in documents.items():
        (src / name).write_text(text + "\n", encoding="utf-8")
    stats = run_batch(src, tmp_path / "out", BatchConfig(), factory)
    entries = {e["id"]: e for e in edits_entries(tmp_path / "out")}
    assert {name: e["verdict"] for name, e in entries.items()} == {
        "clean.txt": "clean", "one-word.txt": "clean", "suspicious.txt": "suspicious", "heavy.txt": "heavily spun"}
    for name, entry in entries.items():
        assert entry["spin_score"] == pytest.approx(entry["words_changed"] / entry["words"], abs=1e-6)
        assert entry["spin_per_1000"] == pytest.approx(1000 * entry["spin_score"], abs=0.01)
        assert entry["verdict"] == SpinDensity.of(entry["words"], entry["words_changed"]).verdict
        # exactly what `repair check --format json` says about the same file
        assert main(["check", "--format", "json", "--model-dir", str(models), str(src / name)]) == 1
        checked = json.loads(capsys.readouterr().out)["files"][0]
        assert (checked["spin_per_1000"], checked["verdict"]) == (entry["spin_per_1000"], entry["verdict"])
    assert list(stats.summary["verdicts"]) == list(reversed(VERDICTS))
    assert stats.summary["verdicts"] == {"clean": 2, "suspicious": 1, "heavily spun": 1}
    assert stats.summary["spin_per_1000"] == pytest.approx(
        1000 * stats.summary["words_changed"] / stats.summary["words"], abs=0.01)

    # filter mode still selects on --max-spin, and its rejects carry the same density
    run_batch(src, tmp_path / "kept", BatchConfig(mode="filter", max_spin=0.1), factory)
    rejects = [json.loads(line) for line in (tmp_path / "kept" / REJECTS).read_text().splitlines()]
    assert [(r["id"], r["verdict"], r["spin_per_1000"]) for r in rejects] == [
        (name, entries[name]["verdict"], entries[name]["spin_per_1000"]) for name in ("heavy.txt", "one-word.txt")]


def test_bad_documents_are_recorded_and_the_run_goes_on(tmp_path, models, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a-good.txt").write_text("Please utilize the door.\n")
    (src / "b-latin1.txt").write_bytes("caf\xe9 commence".encode("latin-1"))
    (src / "c-binary.txt").write_bytes(b"\x89PNG\r\n\x00\x00commence")
    (src / "d-huge.txt").write_text("commence " * 200)
    (src / "e-crash.txt").write_text(f"{toy_components.CRASH_WORD} and commence\n")
    (src / "f-good.txt").write_text("The automobile.\n")
    code = main(["batch", str(src), "-o", str(tmp_path / "out"), "--model-dir", str(models), "-j", "1",
                 "--max-bytes", "1000"])
    assert code == 1  # some documents failed
    entries = {e["id"]: e for e in edits_entries(tmp_path / "out")}
    reasons = {doc_id: e.get("error", "") for doc_id, e in entries.items()}
    assert reasons["b-latin1.txt"].startswith("invalid UTF-8 at byte 3")
    assert reasons["c-binary.txt"].startswith("binary content")
    assert reasons["d-huge.txt"].startswith("too large: 1800 bytes")
    assert "RuntimeError" in reasons["e-crash.txt"]
    assert entries["a-good.txt"]["status"] == entries["f-good.txt"]["status"] == "ok"
    assert (tmp_path / "out" / "f-good.txt").read_text() == "The car.\n"
    # failures pass through unchanged so the mirror stays complete (the huge one was never read)
    assert (tmp_path / "out" / "b-latin1.txt").read_bytes() == (src / "b-latin1.txt").read_bytes()
    assert not (tmp_path / "out" / "d-huge.txt").exists()
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())
    assert summary["failures"] == 4
    assert {f["id"] for f in summary["failed_documents"]} == {"b-latin1.txt", "c-binary.txt", "d-huge.txt",
                                                              "e-crash.txt"}
    assert "Traceback" not in capsys.readouterr().err


def test_jsonl_records_keep_their_other_fields_and_untouched_lines_their_bytes(tmp_path, factory):
    src = tmp_path / "corpus.jsonl"
    lines = [
        '{"id": 7, "text": "They commence now.", "meta": {"k": [1, 2]}}',
        '{"text":"Nothing to fix here.","id":"x"}',
        "",
        "not json at all",
        '{"id": "no-text", "body": "commence"}',
        '{"id": "utf", "text": "Caf\\u00e9 \\u2014 purchase it"}',
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = run_batch(src, tmp_path / "out", BatchConfig(), factory)
    assert stats.exit_code == 1 and stats.summary["failures"] == 2
    out_lines = (tmp_path / "out" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(out_lines) == 5  # blank line is not a record; failures pass through
    assert json.loads(out_lines[0]) == {"id": 7, "text": "They begin now.", "meta": {"k": [1, 2]}}
    assert out_lines[1] == lines[1] and out_lines[2] == lines[3] and out_lines[3] == lines[4]
    assert json.loads(out_lines[4])["text"] == "Café — buy it"
    entries = edits_entries(tmp_path / "out")
    assert [e["id"] for e in entries] == ["7", "x", "corpus.jsonl:4", "no-text", "utf"]
    assert entries[2]["error"].startswith("invalid JSON") and entries[3]["error"] == "no 'text' field"


def test_parquet_shards_are_mirrored(tmp_path, factory):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "src"
    (src / "2024").mkdir(parents=True)
    rows = [{"doc": f"d{i}", "body": t, "n": i} for i, t in enumerate(SPUN + PLAIN)]
    pq.write_table(pa.Table.from_pylist(rows[:5]), src / "2024" / "a.parquet")
    pq.write_table(pa.Table.from_pylist(rows[5:]), src / "b.parquet")
    stats = run_batch(src, tmp_path / "out", BatchConfig(text_field="body", id_field="doc", batch_size=2), factory)
    assert stats.exit_code == 0
    repaired = pq.read_table(tmp_path / "out" / "2024" / "a.parquet").to_pylist()
    assert [r["doc"] for r in repaired] == ["d0", "d1", "d2", "d3", "d4"]
    assert repaired[0]["body"] == "They begin work at dawn." and repaired[4]["body"] == PLAIN[0]
    assert pq.read_table(tmp_path / "out" / "b.parquet").num_rows == 4
    assert [e["id"] for e in edits_entries(tmp_path / "out")] == [f"d{i}" for i in range(9)]


# ---------------------------------------------------------------- modes


def test_flag_mode_scores_only_and_exits_1_when_a_document_is_over(tmp_path, models):
    src = tmp_path / "src"
    src.mkdir()
    (src / "clean.txt").write_text(" ".join(PLAIN))
    (src / "spun.txt").write_text(" ".join(PLAIN) + " " + SPUN[0])
    args = ["batch", str(src), "--mode", "flag", "--model-dir", str(models), "-j", "1", "-q"]
    assert main(args + ["-o", str(tmp_path / "low"), "--max-spin", "0.01"]) == 1
    assert main(args + ["-o", str(tmp_path / "high"), "--max-spin", "0.5"]) == 0
    entries = {e["id"]: e for e in edits_entries(tmp_path / "low")}
    assert entries["spun.txt"]["status"] == "flagged" and entries["clean.txt"]["status"] == "ok"
    assert len(entries["spun.txt"]["edits"]) == 1
    assert not (tmp_path / "low" / "spun.txt").exists()  # scoring writes no text


def test_filter_mode_keeps_low_spin_documents_and_rejects_the_rest(tmp_path, factory):
    src = tmp_path / "corpus.jsonl"
    records = [{"id": "clean", "text": PLAIN[0]}, {"id": "spun", "text": SPUN[2]}, {"id": "light", "text": " ".join(PLAIN) + " " + SPUN[1]}]
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    stats = run_batch(src, tmp_path / "out", BatchConfig(mode="filter", max_spin=0.1), factory)
    assert stats.exit_code == 0
    kept = [json.loads(line) for line in (tmp_path / "out" / "corpus.jsonl").read_text().splitlines()]
    assert kept == [records[0], records[2]]  # kept unchanged: filtering selects, it does not rewrite
    rejects = [json.loads(line) for line in (tmp_path / "out" / REJECTS).read_text().splitlines()]
    assert [r["record"] for r in rejects] == [records[1]]
    assert rejects[0]["spin_score"] == pytest.approx(2 / 5, abs=1e-6)  # "He will purchase an automobile."
    assert stats.summary["spin_score"]["rejected"] == 1


# ---------------------------------------------------------------- usage errors


def test_usage_errors_exit_2_with_one_line(tmp_path, models, capsys):
    src = make_text_corpus(tmp_path / "src", 2)
    assert main(["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "precious.txt").write_text("keep me")
    base = ["--model-dir", str(models), "-j", "1", "-q"]
    assert main(["batch", str(src), "-o", str(tmp_path / "full")] + base) == 2
    assert (tmp_path / "full" / "precious.txt").read_text() == "keep me"
    assert main(["batch", str(src), "-o", str(tmp_path / "out")] + base) == 0
    # the same folder with other settings is another job: refused, not mixed
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--mode", "flag"] + base) == 2
    assert main(["batch", str(src), "-o", str(src / "inside")] + base) == 2
    err = capsys.readouterr().err
    assert "different job" in err and "not empty" in err and "Traceback" not in err
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--mode", "flag", "--restart"] + base) == 0


# ---------------------------------------------------------------- determinism and resume


def test_two_workers_write_the_same_bytes_as_one(tmp_path, factory):
    src = make_jsonl_corpus(tmp_path / "src", shards=2, per_shard=20)
    run_batch(src, tmp_path / "one", BatchConfig(jobs=1, batch_size=3), factory)
    run_batch(src, tmp_path / "two", BatchConfig(jobs=2, batch_size=3), factory)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_a_document_that_kills_its_worker_is_isolated(tmp_path, factory):
    src = make_jsonl_corpus(tmp_path / "src", shards=1, per_shard=12)
    lines = (src / "shard-00.jsonl").read_text().splitlines()
    lines[5] = json.dumps({"id": "deadly", "text": f"{toy_components.DIE_WORD} commence"})
    (src / "shard-00.jsonl").write_text("\n".join(lines) + "\n")
    stats = run_batch(src, tmp_path / "out", BatchConfig(jobs=2, batch_size=4), factory)
    assert stats.exit_code == 1
    entries = edits_entries(tmp_path / "out")
    assert [e["id"] for e in entries if e["status"] == "failed"] == ["deadly"]
    assert "died" in entries[5]["error"] and len(entries) == 12
    assert sum(e["status"] == "ok" for e in entries) == 11  # its batch-mates were redone, not lost


def test_resume_truncates_unacknowledged_and_partial_output(tmp_path, factory):
    """What a crash between writing output and acknowledging it leaves behind is undone."""
    src = make_jsonl_corpus(tmp_path / "src", shards=2, per_shard=6)
    config = BatchConfig(batch_size=2)
    run_batch(src, tmp_path / "full", config, factory)
    out = tmp_path / "out"
    run_batch(src, out, config, factory)
    manifest = (out / MANIFEST).read_bytes().splitlines(keepends=True)
    # keep the header and 4 documents (shard 0 half done), plus half of the next manifest line
    (out / MANIFEST).write_bytes(b"".join(manifest[:5]) + manifest[5][:20])
    with open(out / EDITS, "ab") as handle:
        handle.write(b'{"id": "partial')
    (out / "shard-01.jsonl").write_bytes(b'{"id": "stray"}\n')  # begun but never acknowledged
    stats = run_batch(src, out, config, factory)
    assert stats.skipped == 4 and stats.processed == 8
    assert tree(out) == tree(tmp_path / "full")


def test_resume_inside_a_parquet_shard_redoes_the_whole_shard(tmp_path, factory):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "src"
    src.mkdir()
    for s in range(2):
        pq.write_table(pa.Table.from_pylist([{"text": t} for t in SPUN + PLAIN]), src / f"p{s}.parquet")
    config = BatchConfig(batch_size=3)
    run_batch(src, tmp_path / "full", config, factory)
    out = tmp_path / "out"
    run_batch(src, out, config, factory)
    manifest = (out / MANIFEST).read_bytes().splitlines(keepends=True)
    (out / MANIFEST).write_bytes(b"".join(manifest[:1 + 9 + 4]))  # 4 documents into the second shard
    stats = run_batch(src, out, config, factory)
    assert stats.skipped == 9 and stats.processed == 9
    assert tree(out) == tree(tmp_path / "full")


def _cli(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(TESTS / "toy_cli.py"), "batch", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _acknowledged(out: Path) -> int:
    try:
        return max(0, (out / MANIFEST).read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def _no_process_mentions(marker: str, within: float) -> bool:
    """True once no process's command line holds ``marker`` (Linux /proc; elsewhere assume so)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = []
        for entry in proc.iterdir():
            try:
                if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                    alive.append(entry.name)
            except OSError:
                continue
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("layout, jobs, stop", [("text", "1", signal.SIGKILL), ("jsonl", "2", signal.SIGKILL),
                                               ("jsonl", "2", signal.SIGINT)])
def test_kill_9_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path, layout, jobs, stop):
    """Killed (or Ctrl-C) at a random point, then rerun: byte for byte the uninterrupted result."""
    # slow enough that the run cannot finish between the poll below and the signal, even on a
    # loaded machine (about 2 s a run with 2 jobs)
    models = toy_components.make_model_dir(tmp_path / "models", delay=0.025)
    if layout == "text":
        src, total = make_text_corpus(tmp_path / "src", 150), 150
    else:
        src, total = make_jsonl_corpus(tmp_path / "src", shards=3, per_shard=50), 150
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    args = ["--model-dir", str(models), "-j", jobs, "--batch-size", "4"]
    reference = _cli([str(src), "-o", str(tmp_path / "reference")] + args, env)
    assert reference.wait(120) == 0, reference.stderr.read().decode()

    out = tmp_path / "out"
    victim = _cli([str(src), "-o", str(out)] + args, env)
    deadline = time.monotonic() + 60
    while _acknowledged(out) < total // 3 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert victim.poll() is None, "the run finished before it could be killed; make documents slower"
    victim.send_signal(stop)
    code = victim.wait(30)
    if stop == signal.SIGINT:
        err = victim.stderr.read().decode()
        assert code == 130 and ("interrupted" in err or "aborted" in err) and "Traceback" not in err, err
    done_before = _acknowledged(out)
    assert 0 < done_before < total
    assert _no_process_mentions(str(out), within=10), "the killed run left worker processes behind"
    rerun = _cli([str(src), "-o", str(out)] + args, env)
    assert rerun.wait(120) == 0, rerun.stderr.read().decode()
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["throughput"]["resumed_after"] >= done_before
    assert summary["documents"] == total
    assert tree(out) == tree(tmp_path / "reference")
    assert b"\r" not in rerun.stderr.read()  # not a terminal: no progress bar


def test_progress_bar_reports_rates_when_asked(tmp_path, factory, capsys):
    run_batch(make_text_corpus(tmp_path / "src", 3), tmp_path / "out", BatchConfig(), factory, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "docs/s" in err and "words/s" in err


# ---------------------------------------------------------------- engines


def test_ray_engine_writes_the_same_bytes_as_the_local_engine(tmp_path, factory):
    if os.environ.get("REPAIR_SKIP_RAY"):
        pytest.skip("REPAIR_SKIP_RAY is set: Ray's local start is too slow for this environment")
    ray = pytest.importorskip("ray")
    src = make_jsonl_corpus(tmp_path / "src", shards=2, per_shard=10)
    with open(src / "shard-01.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "md", "text": "Run `commence` to purchase and commence."}) + "\n")
    # markup and ignore words must reach the actors as they reach local workers
    config = BatchConfig(jobs=1, batch_size=4, markup="markdown", ignore_words=("purchase",))
    run_batch(src, tmp_path / "local", config, factory)
    try:
        stats = run_batch(src, tmp_path / "ray", replace(config, jobs=2, engine="ray"), factory)
    finally:
        ray.shutdown()
    assert stats.exit_code == 0 and stats.summary["edits"] > 0
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    last = (tmp_path / "ray" / "shard-01.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    assert json.loads(last)["text"] == "Run `commence` to purchase and begin."


# ---------------------------------------------------------------- datasets entry point


def test_batch_repairer_on_a_plain_dict(factory):
    import repair

    function = repair.batch_repairer(factory=factory)
    columns = function({"text": [SPUN[0], PLAIN[0], None, f"{toy_components.CRASH_WORD}!"]})
    assert columns["repaired"] == ["They begin work at dawn.", PLAIN[0], None, f"{toy_components.CRASH_WORD}!"]
    assert columns["spin_score"][0] == pytest.approx(1 / 5) and columns["spin_score"][1] == 0.0
    assert columns["spin_score"][2] is None and columns["spin_score"][3] is None
    assert json.loads(columns["edits"][0])[0]["replacement"] == "begin" and json.loads(columns["edits"][1]) == []


def test_batch_repairer_maps_a_hugging_face_dataset(factory):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"body": SPUN + PLAIN, "n": list(range(9))})
    mapped = dataset.map(batch_repairer(factory=factory, text_field="body"), batched=True, batch_size=4)
    assert mapped.column_names == ["body", "n", "repaired", "spin_score", "edits"]
    assert mapped[2]["repaired"] == "He will buy an car."  # the toy does not fix articles; real rewriters do
    assert mapped[8]["repaired"] == PLAIN[4] and mapped[8]["spin_score"] == 0.0
    assert all(json.loads(e) is not None for e in mapped["edits"])


def test_model_dir_and_threshold_come_from_the_config_unless_given(tmp_path, models, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("He will purchase an automobile.\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f"[tool.repair]\nmodel-dir = {str(models)!r}\nthreshold = 0.99\n", encoding="utf-8")
    monkeypatch.chdir(project)
    assert main(["batch", str(src), "-o", str(tmp_path / "cfg"), "-j", "1", "-q"]) == 0
    entry = edits_entries(tmp_path / "cfg")[0]
    assert "threshold:0.99" in entry["signature"]
    assert main(["batch", str(src), "-o", str(tmp_path / "flag"), "-j", "1", "-q", "--threshold", "0.1"]) == 0
    assert "threshold:0.1" in edits_entries(tmp_path / "flag")[0]["signature"]


def test_language_model_options_reach_every_worker_recipe(tmp_path, monkeypatch):
    import repair.batch as batch_module

    seen = []

    class Done:
        exit_code = 0

    monkeypatch.setattr(batch_module, "run_batch", lambda src, dst, config, factory, **_: seen.append(factory) or Done())
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "a.txt"
    src.write_text("Some text.\n", encoding="utf-8")
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "-q", "--verify", "lm"]) == 0
    assert (seen[-1].verify, seen[-1].rerank) == ("lm", "none")
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nrerank = "lm"\nverify = "lm"\n', encoding="utf-8")
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "-q", "--verify", "none"]) == 0
    assert (seen[-1].verify, seen[-1].rerank) == ("none", "lm")  # the flag wins, the file fills in
