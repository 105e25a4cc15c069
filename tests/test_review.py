"""repair review: the session state machine, decision logs, the terminal review and the command."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from repair.cli import main
from repair.cli import review as review_cli
from repair.edits import Alternative, Edit
from repair.repairer import Repairer
from repair.review import (
    DecisionLog,
    DecisionsError,
    ReviewError,
    ReviewSession,
    StaleDecisionsError,
    apply_decisions,
    edit_context,
    state_path_for,
    text_sha256,
    write_text_atomic,
)

sys.path.insert(0, str(Path(__file__).parent))
from review_helpers import WORD_TABLE, WordTableComponent, write_model_dir  # noqa: E402

TESTS = Path(__file__).parent
ARTICLE = (
    "Our firm tracks inventory in a lengthy spreadsheet.\r\n"
    "The Firm said \"sales commenced early\" 😀 and the firm grew.\r\n\r\n"
    "Nothing to see here.\n"
)


@pytest.fixture
def component():
    return WordTableComponent(WORD_TABLE)


@pytest.fixture
def repairer(component):
    return Repairer(component, component, threshold=0.5)


@pytest.fixture
def edits(repairer):
    return repairer.repair(ARTICLE).edits


@pytest.fixture
def article(tmp_path):
    path = tmp_path / "article.txt"
    path.write_bytes(ARTICLE.encode("utf-8"))
    return path


class ScriptedInput:
    """Lines a reviewer types; a KeyboardInterrupt item is raised like Ctrl-C at that prompt."""

    def __init__(self, *items):
        self.items = list(items)
        self.asked = 0

    def readline(self):
        self.asked += 1
        if not self.items:
            return ""
        item = self.items.pop(0)
        if item is KeyboardInterrupt:
            raise KeyboardInterrupt
        return item + "\n"


def run(path, *lines, repairer=None, factory=None, console_file=None, **options):
    """A whole scripted terminal review through the real command."""
    console_file = console_file if console_file is not None else io.StringIO()
    obj = {
        "repairer_factory": factory or (lambda model_dir, threshold, **language_models: repairer),
        "input": ScriptedInput(*lines),
        "console": review_cli.make_console("never", console_file),
    }
    args = [str(path)] + [str(a) for a in sum(([f"--{k.replace('_', '-')}", v] for k, v in options.items()), [])]
    result = CliRunner().invoke(review_cli.command, args, obj=obj, standalone_mode=False, catch_exceptions=False)
    return result.return_value, console_file.getvalue(), result


# ---------------------------------------------------------------------------------------------
# the session


def test_edits_come_in_document_order_with_scores_and_alternatives(edits):
    assert [e.original for e in edits] == ["firm", "inventory", "lengthy", "Firm", "commenced", "firm"]
    assert edits[3].replacement == "Company" and edits[3].alternatives[0] == Alternative("Business", 0.46)


def test_each_kind_of_decision_lands_in_the_text(edits):
    session = ReviewSession(ARTICLE, edits)
    session.accept()                 # firm -> company
    session.reject()                 # inventory stays
    session.custom("long-winded")    # lengthy
    session.choose(2)                # Firm -> Enterprise
    session.choose(1)                # commenced -> began
    session.accept()                 # firm -> company
    assert session.done and session.current is None
    expected = (ARTICLE.replace("Our firm", "Our company").replace("lengthy", "long-winded")
                .replace("The Firm", "The Enterprise").replace("commenced", "began")
                .replace("the firm grew", "the company grew"))
    assert session.result_text() == expected
    assert [d.action for d in session.decisions] == ["accept", "reject", "custom", "alternative", "alternative", "accept"]


def test_undo_takes_back_the_last_command_including_a_whole_batch(edits):
    session = ReviewSession(ARTICLE, edits)
    session.reject()
    assert session.accept_above(0.8) == 3    # inventory 0.81, Firm 0.92, firm 0.92
    assert session.current.original == "lengthy"
    assert len(session.undo()) == 3
    assert session.current.original == "inventory" and session.decided == 1
    session.undo()
    assert session.decided == 0 and session.result_text() == ARTICLE
    with pytest.raises(ReviewError, match="nothing to undo"):
        session.undo()


def test_bad_commands_are_refused_without_changing_anything(edits):
    session = ReviewSession(ARTICLE, edits[2:3])   # "lengthy" has no alternatives
    with pytest.raises(ReviewError, match="no alternative 1"):
        session.choose(1)
    session.accept()
    with pytest.raises(ReviewError, match="every change has been decided"):
        session.reject()
    assert session.result_text() == ARTICLE.replace("lengthy", "long")


def test_edits_that_do_not_fit_the_text_are_refused():
    with pytest.raises(ValueError):
        ReviewSession("a firm", [Edit(2, 6, "farm", "company", 0.9)])


def test_context_is_the_sentence_with_whitespace_collapsed(edits):
    context = edit_context(ARTICLE, edits[4])     # commenced
    assert (context.before, context.original, context.after) == (
        'The Firm said "sales ', "commenced", ' early" 😀 and the firm grew.')
    long_text = "word " * 100 + "firm " + "word " * 100
    start = long_text.index("firm")
    context = edit_context(long_text, Edit(start, start + 4, "firm", "company", 0.9), limit=30)
    assert context.truncated_before and context.truncated_after and len(context.before) <= 30


# ---------------------------------------------------------------------------------------------
# decision logs


def test_a_log_round_trips_through_json_and_reapplies_to_the_same_text(edits, tmp_path):
    session = ReviewSession(ARTICLE, edits, name="article.txt", signature="sig")
    session.accept(); session.choose(1); session.reject(); session.custom("Company Ltd")
    path = tmp_path / "decisions.json"
    session.log().save(path)
    loaded = DecisionLog.load(path)
    assert loaded == session.log() and not loaded.complete
    assert loaded.input_sha256 == text_sha256(ARTICLE) and loaded.input_chars == len(ARTICLE)
    assert apply_decisions(ARTICLE, loaded) == session.result_text()
    assert "Company Ltd said" in session.result_text() and "\r\n" in session.result_text()


def test_a_log_refuses_a_changed_text(edits):
    session = ReviewSession(ARTICLE, edits)
    session.accept()
    with pytest.raises(StaleDecisionsError, match="the file changed since the review"):
        apply_decisions(ARTICLE.replace("Nothing", "nothing"), session.log())


def test_a_forged_log_whose_offsets_do_not_fit_is_refused(edits):
    session = ReviewSession(ARTICLE, edits)
    session.accept()
    data = session.log().to_dict()
    data["decisions"][0]["start"] += 1
    with pytest.raises(DecisionsError, match="do not fit"):
        apply_decisions(ARTICLE, DecisionLog.from_dict(data))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a spun-repair-decisions file"),
    ('{"format": "spun-repair-decisions", "version": 7}', "version 7"),
    ('{"format": "spun-repair-decisions", "version": 1, "input": {}}', "input.sha256"),
    ('{"format": "spun-repair-decisions", "version": 1, "input": {"sha256": "x"}, "decisions": [{"start": 1}]}',
     "lacks or garbles"),
    ('{"format": "spun-repair-decisions", "version": 1, "input": {"sha256": "x"}, "decisions": '
     '[{"start": 0, "end": 1, "original": "a", "action": "maybe"}]}', "unknown action"),
])
def test_unreadable_logs_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DecisionsError, match=message):
        DecisionLog.load(path)


def test_atomic_write_keeps_the_mode_and_leaves_the_file_whole_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "doc.txt"
    target.write_text("before", encoding="utf-8")
    os.chmod(target, 0o640)
    write_text_atomic(target, "after\r\n")
    assert target.read_bytes() == b"after\r\n" and (target.stat().st_mode & 0o777) == 0o640

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_text_atomic(target, "never")
    assert target.read_bytes() == b"after\r\n" and [p.name for p in tmp_path.iterdir()] == ["doc.txt"]


# ---------------------------------------------------------------------------------------------
# the terminal review, scripted end to end through the command


def test_a_scripted_session_writes_the_file_and_the_decisions(article, repairer, tmp_path):
    decisions = tmp_path / "decisions.json"
    code, screen, _ = run(article, "a", "r", "e drawn-out", "?", "2", "u", "1", "A 0.9", "r",
                          repairer=repairer, decisions_out=decisions)
    assert code == 0
    # the screen shows each change in its sentence with score and alternatives
    assert "change 1 of 6 · line 1, col 5 · score 0.92" in screen
    assert "Our firm → company tracks inventory in a lengthy spreadsheet." in screen
    assert "alternatives: 1) business (0.46)  2) enterprise (0.46)" in screen
    assert "take alternative N" in screen and "undone: 1 decision" in screen
    assert "accepted 1 remaining change scoring ≥ 0.9" in screen
    expected = (ARTICLE.replace("Our firm", "Our company").replace("lengthy", "drawn-out")
                .replace("The Firm", "The Business").replace("the firm grew", "the company grew"))
    assert article.read_bytes() == expected.encode("utf-8")
    log = DecisionLog.load(decisions)
    assert log.complete and [d.action for d in log.decisions] == [
        "accept", "reject", "custom", "alternative", "reject", "accept"]
    assert apply_decisions(ARTICLE, log) == expected
    assert not state_path_for(article).exists()


def test_saved_decisions_apply_later_without_a_model(article, repairer, tmp_path):
    decisions = tmp_path / "decisions.json"
    reviewed = tmp_path / "reviewed.txt"
    run(article, "a", "1", "r", "q", repairer=repairer, output=reviewed, decisions_out=decisions)
    assert article.read_bytes().decode("utf-8") == ARTICLE        # -o leaves the input alone
    applied = tmp_path / "applied.txt"

    def no_model(*_):
        raise AssertionError("applying decisions must not load a model")

    code, _, _ = run(article, factory=no_model, decisions=decisions, output=applied)
    assert code == 0 and applied.read_bytes() == reviewed.read_bytes()
    assert applied.read_bytes().decode("utf-8") == ARTICLE.replace(
        "Our firm", "Our company").replace("inventory", "shares", 1)


def test_saved_decisions_refuse_a_changed_file_with_one_line(article, repairer, tmp_path, capsys):
    decisions = tmp_path / "decisions.json"
    run(article, "a", "q", repairer=repairer, output=tmp_path / "out.txt", decisions_out=decisions)
    article.write_text(ARTICLE.replace("Nothing", "Little"), encoding="utf-8", newline="")
    before = article.read_bytes()
    code = main(["review", "--decisions", str(decisions), str(article)])
    err = capsys.readouterr().err
    assert code == 2 and article.read_bytes() == before
    assert err.count("\n") == 1 and "the file changed since the review" in err and "Traceback" not in err


def test_quit_writes_decisions_so_far_and_discard_writes_nothing(article, repairer):
    code, screen, _ = run(article, "a", "x", "n", "a", "q", repairer=repairer)
    assert code == 0 and article.read_bytes().decode("utf-8") == ARTICLE.replace(
        "Our firm tracks inventory", "Our company tracks stock")
    article.write_bytes(ARTICLE.encode())
    code, screen, _ = run(article, "a", "a", "x", "y", repairer=repairer)
    assert code == 0 and "review discarded" in screen
    assert article.read_bytes() == ARTICLE.encode() and not state_path_for(article).exists()


def test_ctrl_c_keeps_the_input_and_the_decisions_and_the_next_run_resumes(article, repairer):
    code, _, result = run(article, "a", "1", "e long-winded", KeyboardInterrupt, repairer=repairer)
    assert code == 130 and article.read_bytes() == ARTICLE.encode()
    state = state_path_for(article)
    saved = DecisionLog.load(state)
    assert [d.replacement for d in saved.decisions] == ["company", "shares", "long-winded"] and not saved.complete

    # resume, finish; the result equals an uninterrupted review with the same decisions
    code, screen, _ = run(article, "y", "r", "a", "a", repairer=repairer)
    assert code == 0 and "resumed 3 decisions" in screen and "change 4 of 6" in screen
    assert "change 1 of 6" not in screen and not state.exists()
    uninterrupted = ReviewSession(ARTICLE, repairer.repair(ARTICLE).edits)
    uninterrupted.accept(); uninterrupted.choose(1); uninterrupted.custom("long-winded")
    uninterrupted.reject(); uninterrupted.accept(); uninterrupted.accept()
    assert article.read_bytes().decode("utf-8") == uninterrupted.result_text()


def test_end_of_input_is_a_pause_too_and_resume_can_be_declined(article, repairer):
    code, _, _ = run(article, "a", repairer=repairer)        # stdin closes after one decision
    assert code == 130 and state_path_for(article).exists() and article.read_bytes() == ARTICLE.encode()
    code, screen, _ = run(article, "n", "r", "q", repairer=repairer)
    assert code == 0 and "change 1 of 6" in screen and article.read_bytes() == ARTICLE.encode()


def test_a_saved_review_of_an_older_version_is_not_resumed(article, repairer):
    run(article, "a", KeyboardInterrupt, repairer=repairer)
    article.write_text(ARTICLE.replace("Nothing", "Little"), encoding="utf-8", newline="")
    code, screen, _ = run(article, "r", "q", repairer=repairer)
    assert code == 0 and "ignoring the saved review" in screen and "the file changed" in screen
    assert not state_path_for(article).exists()


def test_the_real_command_loads_the_model_folder(tmp_path, monkeypatch, capsys):
    from repair import components

    monkeypatch.setitem(components.COMPONENT_TYPES, "review-test-word-table", "review_helpers:WordTableComponent")
    models = write_model_dir(tmp_path / "models")
    doc = tmp_path / "notes.md"
    doc.write_text("Our firm uses `firm sync` and a lengthy list.\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\na\n"))
    code = main(["review", "--model-dir", str(models), "--color", "never", str(doc)])
    out = capsys.readouterr().out
    assert code == 0 and "change 1 of 2" in out and "change 3" not in out   # inline code is not prose
    assert doc.read_text(encoding="utf-8") == "Our company uses `firm sync` and a long list.\n"


def test_threshold_limits_what_is_proposed(tmp_path, monkeypatch, capsys):
    from repair import components

    monkeypatch.setitem(components.COMPONENT_TYPES, "review-test-word-table", "review_helpers:WordTableComponent")
    models = write_model_dir(tmp_path / "models")
    doc = tmp_path / "a.txt"
    doc.write_text("A firm with a lengthy plan.\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n"))
    assert main(["review", "--model-dir", str(models), "--threshold", "0.9", str(doc)]) == 0
    assert "change 1 of 1" in capsys.readouterr().out
    assert doc.read_text(encoding="utf-8") == "A company with a lengthy plan.\n"


def test_ignore_words_from_config_and_file_are_never_proposed(tmp_path, monkeypatch, capsys):
    from repair import components

    monkeypatch.setitem(components.COMPONENT_TYPES, "review-test-word-table", "review_helpers:WordTableComponent")
    models = write_model_dir(tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nignore-words = ["FIRMS"]\n', encoding="utf-8")
    (tmp_path / "words.txt").write_text("lengthy\n", encoding="utf-8")
    doc = tmp_path / "a.txt"
    doc.write_text("A firm with a lengthy plan, as sales commenced.\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n"))
    assert main(["review", "--model-dir", str(models), "--ignore-words", "words.txt", str(doc)]) == 0
    assert "change 1 of 1" in capsys.readouterr().out
    assert doc.read_text(encoding="utf-8") == "A firm with a lengthy plan, as sales started.\n"
    assert main(["review", "--model-dir", str(models), "--ignore-words", "nope.txt", str(doc)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("name, content, message", [
    ("missing.txt", None, "no such file"),
    ("folder", "DIR", "is a directory"),
    ("image.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
    ("latin1.txt", "caf\xe9 firm".encode("latin-1"), "is not valid UTF-8: byte 0xE9 at byte offset 3"),
    ("empty.txt", b"", "is empty"),
    ("blank.txt", b"\xef\xbb\xbf \n\n", "contains only whitespace"),
    ("french.txt", "Le cabinet de la société suit les stocks dans un long tableur pour les clients de la ville "
                   "et des environs, avec une grande précision.".encode(), "does not look like English"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)

    def no_model(*_):
        raise AssertionError("a bad input must be refused before the model loads")

    code, _, result = run(path, factory=no_model)
    err = result.stderr
    assert code == 2 and err.count("\n") == 1 and message in err and err.startswith("repair: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name] if content is not None else [])


def test_options_that_do_not_mix_are_refused(article):
    assert main(["review", "--decisions", "d.json", "--html", "p.html", str(article)]) == 2
    assert main(["review", "--html", "p.html", "-o", "x.txt", str(article)]) == 2


# ---------------------------------------------------------------------------------------------
# for real, in a terminal (tmux)


def _tmux(socket, *args):
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"tmux {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _wait_for(socket, needle, target="review", timeout=20.0):
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux(socket, "capture-pane", "-p", "-t", target, "-S", "-200")
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared on the terminal:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_a_real_terminal_ctrl_c_then_resume(tmp_path):
    models = write_model_dir(tmp_path / "models")
    article = tmp_path / "article.txt"
    article.write_bytes(ARTICLE.encode("utf-8"))
    socket = f"repair-review-{uuid.uuid4().hex[:8]}"
    helper = TESTS / "review_helpers.py"
    command = (f"cd {tmp_path} && {sys.executable} {helper} review --model-dir {models} article.txt; "
               f"echo EXIT=$?; sleep 60")
    env_size = ["-x", "110", "-y", "40"]
    _tmux(socket, "new-session", "-d", "-s", "review", *env_size, command)
    try:
        _wait_for(socket, "change 1 of 6")
        _tmux(socket, "send-keys", "-t", "review", "a", "Enter")
        _wait_for(socket, "change 2 of 6")
        _tmux(socket, "send-keys", "-t", "review", "1", "Enter")
        _wait_for(socket, "change 3 of 6")
        _tmux(socket, "send-keys", "-t", "review", "C-c")
        screen = _wait_for(socket, "EXIT=130")
        assert "article.txt is untouched, 2 decisions kept" in screen
        assert article.read_bytes() == ARTICLE.encode("utf-8")
        assert len(DecisionLog.load(state_path_for(article)).decisions) == 2

        # a second session (the first stays, so the server keeps running) is the next invocation
        _tmux(socket, "new-session", "-d", "-s", "again", *env_size, command)
        _wait_for(socket, "resume the interrupted review", "again")
        _tmux(socket, "send-keys", "-t", "again", "Enter")          # default: yes
        _wait_for(socket, "change 3 of 6", "again")
        _tmux(socket, "send-keys", "-t", "again", "A 0.5", "Enter")
        screen = _wait_for(socket, "EXIT=0", "again")
        assert "resumed 2 decisions" in screen and "6 of 6 changes applied" in screen
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    expected = (ARTICLE.replace("Our firm tracks inventory", "Our company tracks shares").replace("lengthy", "long")
                .replace("The Firm", "The Company").replace("commenced", "started").replace("the firm", "the company"))
    assert article.read_bytes().decode("utf-8") == expected
    assert not state_path_for(article).exists()


def test_a_garbled_state_file_is_reported_and_replaced(article, repairer):
    state = state_path_for(article)
    state.write_text("{half a json", encoding="utf-8")
    code, screen, _ = run(article, "a", KeyboardInterrupt, repairer=repairer)
    assert code == 130 and "ignoring the saved review" in screen and "not valid JSON" in screen
    assert len(DecisionLog.load(state).decisions) == 1


def test_a_missing_decisions_file_is_one_line(article, tmp_path):
    code, _, result = run(article, decisions=tmp_path / "nope.json")
    assert code == 2 and result.stderr.count("\n") == 1 and "nope.json: no such file" in result.stderr
    assert article.read_bytes() == ARTICLE.encode()


def test_language_model_options_reach_the_models_and_config_fills_in(article, repairer, tmp_path, monkeypatch):
    asked = []

    def factory(model_dir, threshold, **language_models):
        asked.append((model_dir, threshold, language_models))
        return repairer

    monkeypatch.chdir(tmp_path)
    assert run(article, "q", factory=factory, verify="lm")[0] == 0
    assert asked[-1] == (None, None, {"rerank": "none", "verify": "lm"})
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nrerank = "lm"\nthreshold = 0.7\n', encoding="utf-8")
    assert run(article, "q", factory=factory)[0] == 0
    assert asked[-1] == (None, 0.7, {"rerank": "lm", "verify": "none"})


def test_markup_comes_from_config_unless_a_flag_says_otherwise(tmp_path, monkeypatch, capsys):
    from repair import components

    monkeypatch.setitem(components.COMPONENT_TYPES, "review-test-word-table", "review_helpers:WordTableComponent")
    models = write_model_dir(tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nmarkup = "markdown"\ncolor = "always"\n', encoding="utf-8")
    doc = tmp_path / "notes.txt"  # by suffix this would be read as plain text
    doc.write_text("A firm plan.\n\n```\nfirm = 1\n```\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    assert main(["review", "--model-dir", str(models), str(doc)]) == 0
    out = capsys.readouterr().out
    assert "change 1 of 1" in out and "\x1b[" in out  # the code block is not prose; colour although not a terminal
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    assert main(["review", "--model-dir", str(models), "--markup", "plain", "--color", "never", str(doc)]) == 0
    out = capsys.readouterr().out
    assert "change 1 of 2" in out and "\x1b[" not in out
