"""The check and fix commands end to end, with the toy word-list model loaded for real."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from repair.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPUN = "The motorcar stopped by the Eatery.\r\n\r\n“PUPILS,” she said — they commence  at nine 😀.\n"
FIXED = "The car stopped by the Restaurant.\r\n\r\n“STUDENTS,” she said — they begin  at nine 😀.\n"
CLEAN = "The car stopped by the restaurant, and the students began their class at nine.\n"


@pytest.fixture
def run(toy_model_dir, capsys):
    """``run(*argv)`` -> (exit status, stdout, stderr), in process, with the toy models."""
    def invoke(*argv, model_dir=toy_model_dir):
        status = main([argv[0], "--model-dir", str(model_dir), *argv[1:]])
        out, err = capsys.readouterr()
        return status, out, err
    return invoke


def make(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


# --- check -----------------------------------------------------------------------------------


def test_check_lists_findings_and_exits_1(run, tmp_path):
    path = make(tmp_path, "a.txt", SPUN)
    status, out, err = run("check", str(path))
    assert status == 1 and err == ""
    assert out.splitlines() == [
        f'{path}:1:5: "motorcar" -> "car" (0.93)',
        f'{path}:1:29: "Eatery" -> "Restaurant" (0.88)',
        f'{path}:3:2: "PUPILS" -> "STUDENTS" (0.81)',
        f'{path}:3:27: "commence" -> "begin" (0.74)',
    ]


def test_check_clean_file_exits_0(run, tmp_path):
    assert run("check", str(make(tmp_path, "clean.txt", CLEAN))) == (0, "", "")


def test_check_json(run, tmp_path):
    path = make(tmp_path, "a.txt", SPUN)
    status, out, _ = run("check", "--format", "json", str(path), str(make(tmp_path, "c.txt", CLEAN)))
    data = json.loads(out)
    assert status == 1
    first, second = data["files"]
    assert [e["replacement"] for e in first["edits"]] == ["car", "Restaurant", "STUDENTS", "begin"]
    assert first["edits"][0]["alternatives"] == [{"text": "automobile", "score": 0.47}]
    assert first["signature"].startswith("detector:toy-wordlist@") and second["edits"] == []


def test_check_threshold_flag(run, tmp_path):
    path = make(tmp_path, "dog.txt", "The canine barked at the motorcar.")
    assert len(run("check", str(path))[1].splitlines()) == 1
    assert len(run("check", "--threshold", "0.4", str(path))[1].splitlines()) == 2


# --- fix -------------------------------------------------------------------------------------


def test_fix_prints_repaired_text_exactly(run, tmp_path):
    status, out, err = run("fix", str(make(tmp_path, "a.txt", SPUN)))
    assert (status, out, err) == (0, FIXED, "")


def test_fix_stdin(run, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SPUN.encode())))
    assert run("fix", "-") == (0, FIXED, "")


def test_fix_in_place_keeps_bom_crlf_and_mode(run, tmp_path):
    path = make(tmp_path, "a.txt", b"\xef\xbb\xbf" + SPUN.encode())
    os.chmod(path, 0o600)
    status, out, err = run("fix", "--in-place", str(path))
    assert (status, out, err) == (0, "", "")
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED.encode()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]  # no temporary file left behind


def test_fix_in_place_leaves_unchanged_files_alone(run, tmp_path):
    path = make(tmp_path, "clean.txt", CLEAN)
    os.utime(path, (1_000_000, 1_000_000))
    assert run("fix", "-i", str(path))[0] == 0
    assert os.stat(path).st_mtime == 1_000_000


def test_fix_in_place_latin1_round_trip(run, tmp_path):
    text = "The motorcar was parked outside the café for the whole of the afternoon.\n"
    path = make(tmp_path, "l1.txt", text, encoding="latin-1")
    status, _, err = run("fix", "-i", str(path))
    assert status == 2 and "is not valid UTF-8" in err and "--encoding" in err
    assert run("fix", "-i", "--encoding", "latin-1", str(path))[0] == 0
    assert path.read_bytes() == text.replace("motorcar", "car").encode("latin-1")


def test_fix_word_diff_for_several_files(run, tmp_path):
    a, b = make(tmp_path, "a.txt", SPUN), make(tmp_path, "b.txt", CLEAN)
    status, out, _ = run("fix", "--diff", "word", str(a), str(b))
    assert status == 0
    assert out == (f"--- a/{a}\n+++ b/{a}\n@@ -1 +1 @@\n"
                   "The [-motorcar-]{+car+} stopped by the [-Eatery-]{+Restaurant+}.\r\n"
                   "@@ -3 +3 @@\n“[-PUPILS-]{+STUDENTS+},” she said — they [-commence-]{+begin+}  at nine 😀.\n")
    assert a.read_bytes().decode() == SPUN  # a diff changes nothing


def test_fix_unified_diff_and_colour(run, tmp_path):
    path = make(tmp_path, "a.txt", SPUN)
    _, plain, _ = run("fix", "--diff", "unified", str(path))
    assert "-The motorcar stopped by the Eatery.\r\n+The car stopped by the Restaurant.\r\n" in plain
    assert "\x1b[" not in plain  # auto colour: not a terminal
    _, coloured, _ = run("fix", "--diff", "unified", "--color", "always", str(path))
    assert "\x1b[31m-The motorcar" in coloured


def test_fix_reports(run, tmp_path):
    path = make(tmp_path, "a.txt", SPUN)
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    assert run("fix", "--diff", "word", "--report", str(json_path), str(path))[0] == 0
    report = json.loads(json_path.read_text())
    assert [(e["line"], e["column"]) for e in report["files"][0]["edits"]] == [(1, 5), (1, 29), (3, 2), (3, 27)]
    assert run("fix", "-i", "--report", str(html_path), str(path))[0] == 0
    page = html_path.read_text()
    assert "<del>motorcar</del><ins>car</ins>" in page and "http" not in page.split("<body>")[1]


def test_fix_several_inputs_without_in_place_is_refused(run, tmp_path):
    a, b = make(tmp_path, "a.txt", SPUN), make(tmp_path, "b.txt", SPUN)
    status, out, err = run("fix", str(a), str(b))
    assert status == 2 and out == ""
    assert "add --in-place to rewrite them, or --diff" in err


def test_fix_in_place_stdin_is_refused(run):
    status, _, err = run("fix", "-i", "-")
    assert status == 2 and "stdin ('-') cannot be rewritten in place" in err


def test_fix_bad_report_suffix(run, tmp_path):
    status, _, err = run("fix", "--report", str(tmp_path / "r.pdf"), str(make(tmp_path, "a.txt", SPUN)))
    assert status == 2 and ".json or .html" in err


# --- bad inputs: one line, exit 2, nothing written, the other files still done ---------------

ENGLISH_TAIL = " The motorcar was there for the whole of the day and it did not move."
BAD_INPUTS = {
    "missing": (None, "no such file"),
    "directory": ("DIR", "is a directory"),
    "invalid-utf8": (b"The caf\xe9 and the motorcar were there for the whole day.", "is not valid UTF-8: byte 0xE9 at byte offset 7"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40, "looks binary"),
    "empty": (b"", "is empty"),
    "whitespace": (b"  \r\n\n\t ", "contains only whitespace"),
    "not-english": ("Der Motorcar stand den ganzen Tag vor dem Haus, und niemand wusste, wem er gehörte, "
                    "bis die Polizei kam.".encode(), "does not look like English"),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("command", ["check", "fix"])
def test_bad_input_is_one_line_exit_2_and_others_still_processed(run, tmp_path, kind, command):
    content, message = BAD_INPUTS[kind]
    bad = tmp_path / f"{kind}.txt"
    if content == "DIR":
        bad.mkdir()
    elif content is not None:
        bad.write_bytes(content)
    good = make(tmp_path, "good.txt", SPUN)
    extra = ["-i"] if command == "fix" else []
    status, out, err = run(command, *extra, str(bad), str(good))
    assert status == 2
    assert err.splitlines() == [f"repair: {bad}: " + err.split(f"{bad}: ", 1)[1].strip()]
    assert message in err and "Traceback" not in err
    if content not in (None, "DIR"):
        assert bad.read_bytes() == content  # nothing written
    if command == "fix":
        assert good.read_bytes().decode() == FIXED
    else:
        assert f'{good}:1:5: "motorcar" -> "car"' in out


def test_huge_input_is_refused_with_the_limit(run, tmp_path):
    path = make(tmp_path, "big.txt", SPUN * 50)
    status, _, err = run("fix", "--max-bytes", "1000", str(path))
    assert status == 2 and "above the 1,000 bytes limit (raise it with --max-bytes)" in err


def test_language_check_can_be_overridden(run, tmp_path):
    path = make(tmp_path, "de.txt", BAD_INPUTS["not-english"][0])
    assert run("fix", str(path))[0] == 2
    for flags in (["--force"], ["--language-check", "off"]):
        status, out, _ = run("fix", *flags, str(path))
        assert status == 0 and out.startswith("Der Car stand")  # casing follows the original


def test_missing_models_are_one_clear_line(run, tmp_path):
    path = make(tmp_path, "a.txt", SPUN)
    status, out, err = run("fix", str(path), model_dir=tmp_path / "no-models")
    assert status == 2 and out == ""
    assert err == f"repair: model: no model in {tmp_path / 'no-models'} (looked for detector, lexicon)\n"
    broken = tmp_path / "broken" / "lexicon"
    broken.mkdir(parents=True)
    (broken / "component.json").write_text('{"type": "no-such-kind"}')
    status, _, err = run("check", str(path), model_dir=tmp_path / "broken")
    assert status == 2 and "unknown component type 'no-such-kind'" in err and len(err.splitlines()) == 1


def test_config_in_pyproject_and_flags_override(run, in_tmp):
    path = make(in_tmp, "dog.txt", "The canine barked at the motorcar.")
    (in_tmp / "pyproject.toml").write_text("[tool.repair]\nthreshold = 0.4\nformat = 'json'\n")
    status, out, _ = run("check", str(path))
    assert status == 1 and [e["original"] for e in json.loads(out)["files"][0]["edits"]] == ["canine", "motorcar"]
    status, out, _ = run("check", "--threshold", "0.5", "--format", "text", str(path))
    assert out.splitlines() == [f'{path}:1:26: "motorcar" -> "car" (0.93)']
    (in_tmp / "pyproject.toml").write_text("[tool.repair]\nthreshold = 'high'\n")
    status, _, err = run("check", str(path))
    assert status == 2 and err.startswith("repair: config: ") and len(err.splitlines()) == 1


# --- large files: streamed in bounded memory --------------------------------------------------


def test_large_file_is_streamed_in_bounded_memory(run, tmp_path, monkeypatch):
    """Five times the file, about the same peak: memory depends on the block size, not the file."""
    from repair.cli import _common

    # plain files above this size stream; lowered so that a test-sized file takes that path
    monkeypatch.setattr(_common, "WHOLE_TEXT_BYTES", 100_000)
    filler = "A plain sentence about the weather, with nothing to change at all. " * 6
    paragraph, expected = SPUN + "\r\n" + filler + "\n\n", FIXED + "\r\n" + filler + "\n\n"
    peaks = {}
    for megabytes in (0.6, 3.0):
        repeats = int(megabytes * 1_000_000) // len(paragraph.encode())
        path = make(tmp_path, f"big{megabytes}.txt", paragraph * repeats)
        tracemalloc.start()
        try:
            status, out, err = run("fix", "--in-place", str(path))
            peaks[megabytes] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert (status, out, err) == (0, "", "")
        with open(path, encoding="utf-8", newline="") as handle:
            for index in range(repeats):
                assert handle.read(len(expected)) == expected, f"paragraph {index}"
            assert handle.read() == ""
    assert peaks[3.0] < 1.25 * peaks[0.6] + 500_000, peaks
    assert peaks[3.0] < 16_000_000, peaks  # a 50 MB file needs no more


# --- as a real process ---------------------------------------------------------------------------

TOY_MAIN = (
    "import sys; sys.path.insert(0, {tests!r}); "
    "from repair import components; components.COMPONENT_TYPES['toy-wordlist'] = 'toy_components:ToyWordList'; "
    "from repair.cli import run; sys.argv[0] = 'repair'; run()"
)


def subprocess_run(args, tmp_path, stdin=b""):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("REPAIR_MODEL_DIR", None)
    return subprocess.run(args, input=stdin, capture_output=True, cwd=tmp_path, env=env, timeout=120)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fix", "missing.txt"], "repair: missing.txt: no such file"),
        (["check", "."], "repair: .: is a directory, not a text file"),
        (["fix", "--model-dir", "nowhere", "a.txt"], "repair: model: no model in nowhere"),
        (["fix", "-", "--max-bytes", "3"], "repair: <stdin>: is above the 3 bytes limit"),
    ],
)
def test_python_m_repair_errors_without_traceback(tmp_path, argv, message):
    make(tmp_path, "a.txt", SPUN)
    done = subprocess_run([sys.executable, "-m", "repair", *argv], tmp_path, stdin=b"some text")
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert stderr.startswith(message) and len(stderr.splitlines()) == 1 and "Traceback" not in stderr
    assert done.stdout == b""


def test_real_process_output_is_byte_exact(tmp_path):
    make(tmp_path, "a.txt", b"\xef\xbb\xbf" + SPUN.encode())
    code = TOY_MAIN.format(tests=str(ROOT / "tests"))
    done = subprocess_run([sys.executable, "-c", code, "fix", "--model-dir", str(ROOT / "tests/fixtures/toy_models"),
                           "a.txt"], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"\xef\xbb\xbf" + FIXED.encode()
    done = subprocess_run([sys.executable, "-c", code, "check", "--model-dir",
                           str(ROOT / "tests/fixtures/toy_models"), "-"], tmp_path, stdin=SPUN.encode())
    assert done.returncode == 1
    assert done.stdout.decode().splitlines()[0] == '<stdin>:1:5: "motorcar" -> "car" (0.93)'


def test_cli_import_and_help_do_not_load_torch(tmp_path):
    code = ("import sys; from repair.cli import main; import repair.cli.check, repair.cli.fix; "
            "status = main(['--help']); status += main(['fix', '--help']); status += main(['check', '--help']); "
            "heavy = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]; "
            "print(status, heavy)")
    done = subprocess_run([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[-1] == "0 []"
    assert "check" in done.stdout.decode() and "--in-place" in done.stdout.decode()
