"""The evaluation harness: the scorer on hand-made pairs, agreement with the shared reference
scorer, and the ``repair eval`` command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repair.cli import main
from repair.components import COMPONENT_TYPES
from repair.edits import Edit, Span
from repair.evaluate import (
    EvalPair,
    GoldEdit,
    PairsError,
    clean_damage,
    derive_edits,
    evaluate,
    pair_from_dict,
    read_pairs,
    score_pair,
    summarise,
)
from repair.repairer import Repairer

REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = next((p for p in (REPO.parent / "shared" / "eval", Path("/work/shared/eval"))
                    if (p / "score.py").is_file()), None)


# --------------------------------------------------------------------------- a small real repairer

# our own toy substitutions (spun word -> what it replaced); nothing from the evaluation sets
TOY_TABLE = {"firm": "company", "commence": "begin", "acquire": "obtain", "vehicle": "car"}


class TableDetector:
    name = "toy-table-detector"

    def __init__(self, table):
        self.table = table

    def detect(self, text, threshold):
        import re

        return [Span(m.start(), m.end(), m.group(), 1.0, self.name)
                for m in re.finditer(r"\w+", text) if m.group().lower() in self.table]


class TableRewriter:
    name = "toy-table-rewriter"

    def __init__(self, table):
        self.table = table

    def rewrite(self, text, spans):
        return [Edit(s.start, s.end, s.text, self.table[s.text.lower()], 1.0) for s in spans]


class ToyComponent(TableDetector, TableRewriter):
    """Loadable from a model folder (component type registered by the CLI tests)."""

    name = "toy-table"

    @classmethod
    def from_pretrained(cls, folder):
        return cls(TOY_TABLE)


def toy_repairer():
    return Repairer(TableDetector(TOY_TABLE), TableRewriter(TOY_TABLE))


def pair(spun, original):
    return pair_from_dict({"spun": spun, "original": original})


# --------------------------------------------------------------------------- the scorer on hand-made pairs

SPUN = "The firm will commence work on Monday."
ORIGINAL = "The company will begin work on Monday."


def figures_for(spun, original, repaired, clean_repaired=None):
    p = pair(spun, original)
    damages = [clean_damage(original, clean_repaired)] if clean_repaired is not None else []
    return summarise([score_pair(p, repaired)], damages)


def test_derived_edits_follow_the_word_diff():
    edits = derive_edits(SPUN, ORIGINAL)
    assert [(e.spun, e.gold) for e in edits] == [("firm", "company"), ("commence", "begin")]
    assert all(SPUN[e.start:e.end] == e.spun for e in edits)


def test_derived_edits_for_a_dropped_word_and_a_phrase():
    edits = derive_edits("He walked to store in a hurry.", "He walked to the store quickly.")
    assert [(e.spun, e.gold) for e in edits] == [("", "the"), ("in a hurry", "quickly")]


def test_perfect_repair_scores_one():
    f = figures_for(SPUN, ORIGINAL, ORIGINAL, ORIGINAL)
    assert (f.precision, f.recall, f.f05) == (1.0, 1.0, 1.0)
    assert (f.required, f.restored, f.detected, f.wrong_rewrites, f.false_edits) == (2, 2, 2, 0, 0)
    assert f.detection_precision == 1.0 and f.exact_restoration == 1.0 and f.clean_changed_per_1k == 0.0


def test_no_change_has_no_recall_and_nothing_proposed():
    f = figures_for(SPUN, ORIGINAL, SPUN)
    assert f.proposed == 0 and f.precision == 1.0 and f.recall == 0.0 and f.f05 == 0.0
    assert f.detection_recall == 0.0 and f.exact_restoration is None


def test_wrong_rewrite_is_detected_but_not_correct():
    f = figures_for(SPUN, ORIGINAL, "The business will begin work on Monday.")
    assert (f.restored, f.detected, f.wrong_rewrites, f.false_edits) == (1, 2, 1, 0)
    assert f.precision == 0.5 and f.recall == 0.5 and f.exact_restoration == 0.5
    assert f.f05 == pytest.approx(0.5)


def test_change_outside_gold_is_a_false_edit():
    f = figures_for(SPUN, ORIGINAL, "The company will begin work on Tuesday.")
    assert (f.restored, f.false_edits, f.hunks) == (2, 1, 3)
    assert f.precision == pytest.approx(2 / 3)
    assert f.detection_precision == pytest.approx(2 / 3)
    assert f.false_edit_contexts == ("work on Monday .",)


def test_a_hunk_that_spills_over_grows_the_region():
    # "firm will commence" -> "company shall begin" is one hunk: it joins both gold edits into one
    # region that now reads wrong, so both are found, neither restored, and no edit is false
    f = figures_for(SPUN, ORIGINAL, "The company shall begin work on Monday.")
    assert (f.detected, f.restored, f.wrong_rewrites, f.false_edits) == (2, 0, 2, 0)


def test_neighbouring_gold_edits_join_only_through_a_hunk():
    spun, original = "A large vehicle stopped.", "A big car stopped."
    assert len(derive_edits(spun, original)) == 1  # the diff joins adjacent words
    p = EvalPair(spun, original, (GoldEdit(2, 7, "large", "big"), GoldEdit(8, 15, "vehicle", "car")))
    both = summarise([score_pair(p, original)])
    assert (both.restored, both.correct) == (2, 2)
    # side by side is not touching: each edit is judged on its own
    half = summarise([score_pair(p, "A big vehicle stopped.")])
    assert (half.detected, half.restored, half.wrong_rewrites) == (1, 1, 0)
    # one hunk over both makes one region, wrong as a whole
    joined = summarise([score_pair(p, "A big automobile stopped.")])
    assert (joined.detected, joined.restored, joined.wrong_rewrites) == (2, 0, 2)


def test_an_inserted_word_restores_a_deletion():
    # the one place we depart from the reference, which can never credit a pure insertion
    spun, original = "He walked to store.", "He walked to the store."
    assert summarise([score_pair(pair(spun, original), original)]).restored == 1
    assert summarise([score_pair(pair(spun, original), spun)]).detected == 0
    wrong = summarise([score_pair(pair(spun, original), "He walked to a store.")])
    assert (wrong.detected, wrong.restored, wrong.false_edits) == (1, 0, 0)


def test_case_and_curly_apostrophes_are_ignored():
    spun, original = "Its firm's reply came late.", "Its company's reply came late."
    f = figures_for(spun, original, "Its Company\u2019s reply came late.")
    assert f.restored == 1 and f.false_edits == 0


def test_clean_damage_counts_changed_tokens():
    damage = clean_damage("One two three four five.", "One 2 three four five six.")
    assert (damage.changed, damage.tokens) == (2, 6)


def test_optional_gold_edits_count_for_precision_not_recall():
    spun = "The firm grew fast."
    p = EvalPair(spun, "The company grew quickly.",
                 (GoldEdit(4, 8, "firm", "company", True), GoldEdit(14, 18, "fast", "quickly", False)))
    f = summarise([score_pair(p, "The company grew quickly.")])
    assert (f.required, f.restored, f.correct, f.precision, f.recall) == (1, 1, 2, 1.0, 1.0)


def test_three_input_formats_give_the_same_edits():
    from_diff = pair_from_dict({"spun": SPUN, "original": ORIGINAL})
    from_gold = pair_from_dict({"spun": SPUN, "gold": ORIGINAL, "edits": [
        {"spun": e.spun, "gold": e.gold, "required": True, "start": e.start, "end": e.end}
        for e in from_diff.edits]})
    from_data = pair_from_dict({"spun": SPUN, "original": ORIGINAL, "profile": "light", "edits": [
        {"spun_start": e.start, "spun_end": e.end, "orig_start": 0, "orig_end": 0, "spun": e.spun,
         "original": e.gold, "kind": "word"} for e in from_diff.edits]})
    assert from_diff.edits == from_gold.edits == from_data.edits


def test_bad_pairs_are_refused_with_a_line_number(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"spun": SPUN, "original": ORIGINAL}) + "\n{not json\n")
    with pytest.raises(PairsError, match=":2:"):
        read_pairs(bad)
    stale = tmp_path / "stale.jsonl"
    stale.write_text(json.dumps({"spun": SPUN, "gold": ORIGINAL,
                                 "edits": [{"spun": "firm", "gold": "company", "start": 0, "end": 4}]}) + "\n")
    with pytest.raises(PairsError, match="does not match"):
        read_pairs(stale)


def test_evaluate_runs_the_repairer_on_spun_and_clean_text():
    pairs = [pair(SPUN, ORIGINAL),
             pair("We hope to acquire a new vehicle soon.", "We hope to buy a new car soon."),
             pair("The mattress felt firm.", "The mattress felt firm.")]
    f = evaluate(toy_repairer(), pairs)
    # firm, commence, vehicle restored; acquire -> obtain is wrong; "firm" in the clean pair is a false edit
    assert (f.pairs, f.required, f.restored, f.wrong_rewrites, f.false_edits) == (3, 4, 3, 1, 1)
    assert f.precision == pytest.approx(3 / 5) and f.recall == pytest.approx(3 / 4)
    # the clean originals: 8 + 9 + 5 tokens; "firm" in the last one changed
    assert f.clean_tokens == 22 and f.clean_tokens_changed == 1
    assert f.words_per_second and f.words_per_second > 0 and f.words_processed == 2 * (7 + 8 + 4)


# --------------------------------------------------------------------------- agreement with score.py

needs_shared = pytest.mark.skipif(SHARED_EVAL is None, reason="../shared/eval is not present")


class PlanDetector:
    """Marks, in texts it was given a plan for, the spans the plan will change."""

    name = "planned-detector"

    def __init__(self, plan):
        self.plan = plan

    def detect(self, text, threshold):
        return [Span(a, b, text[a:b], 1.0, self.name) for a, b, _ in self.plan.get(text, ())]


class PlanRewriter:
    name = "planned-rewriter"

    def __init__(self, plan):
        self.plan = plan

    def rewrite(self, text, spans):
        wanted = {(a, b): r for a, b, r in self.plan.get(text, ())}
        return [Edit(s.start, s.end, s.text, wanted[(s.start, s.end)], 1.0) for s in spans]


def planned_repairer(pairs):
    """A deterministic repairer that makes every kind of outcome the scorer distinguishes:
    exact restorations, misses, wrong rewrites, spill-over, deletions, false edits and damage
    to clean text. The plan is derived in memory from each pair's own offsets."""
    import re

    plan: dict[str, list] = {}
    for index, p in enumerate(pairs):
        edit = p.edits[0]
        words = [m.span() for m in re.finditer(r"\w+", p.spun)]
        after = next(((a, b) for a, b in words if a > edit.end), None)
        before = next(((a, b) for a, b in words if b < edit.start), None)
        kind = index % 7
        changes = []
        if kind == 0:
            changes = [(edit.start, edit.end, edit.gold)]
        elif kind == 2:
            changes = [(edit.start, edit.end, "placeholder")]
        elif kind == 3 and before:
            changes = [before + ("Also",), (edit.start, edit.end, edit.gold)]
        elif kind == 4 and after:
            changes = [(edit.start, after[1], edit.gold + " zzz")]
        elif kind == 5:
            changes = [(edit.start, edit.end, "")]
        elif kind == 6 and after:
            changes = [(after[0], after[1], "elsewhere")]
        plan.setdefault(p.spun, changes)
        if index % 4 == 1:
            clean_words = [m.span() for m in re.finditer(r"\w+", p.original)]
            plan.setdefault(p.original, [clean_words[-1] + ("thing",)])
    return Repairer(PlanDetector(plan), PlanRewriter(plan))


def reference_figures(gold_lines, outputs, clean_outputs, tmp_path):
    gold_file, out_file, clean_file = tmp_path / "gold.jsonl", tmp_path / "out.txt", tmp_path / "clean.txt"
    gold_file.write_text("".join(gold_lines), encoding="utf-8")
    out_file.write_text("\n\n".join(outputs) + "\n", encoding="utf-8")
    clean_file.write_text("\n\n".join(clean_outputs) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(SHARED_EVAL / "score.py"), str(gold_file), str(out_file),
                           "--clean", str(clean_file)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def assert_agree(ours, reference):
    assert reference["paragraphs"] == ours.pairs
    assert reference["required"] == ours.required
    assert reference["restored"] == ours.restored
    assert reference["detected"] == ours.detected
    assert reference["wrong_rewrites"] == ours.wrong_rewrites
    assert reference["false_edits"] == ours.false_edits
    assert reference["precision"] == round(ours.precision, 3)
    assert reference["recall"] == round(ours.recall, 3)
    assert reference["f0.5"] == round(ours.f05, 3)
    assert reference["clean_words_changed_per_1k"] == round(ours.clean_changed_per_1k, 2)


def gold_subset(step):
    lines = (SHARED_EVAL / "tortured-phrases.gold.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    return lines[::step]


@needs_shared
def test_agrees_with_the_reference_scorer_on_the_shared_gold(tmp_path):
    from repair.evaluate import run_repairer, score_outputs

    lines = gold_subset(3)
    pairs = [pair_from_dict(json.loads(line)) for line in lines]
    outputs = run_repairer(planned_repairer(pairs), pairs)
    ours = score_outputs(pairs, outputs)
    # the plan produced every outcome, so the comparison means something
    assert ours.restored and ours.wrong_rewrites and ours.false_edits and ours.clean_tokens_changed
    assert ours.restored < ours.detected < ours.required
    assert_agree(ours, reference_figures(lines, outputs.repaired_spun, outputs.repaired_original, tmp_path))


@needs_shared
def test_lexicon_baseline_agrees_with_the_reference_scorer(tmp_path):
    lexicon = REPO / "models" / "lexicon"
    if not (lexicon / "component.json").is_file():
        pytest.skip("models/lexicon is not built")
    from repair.evaluate import run_repairer, score_outputs

    lines = gold_subset(12)
    pairs = [pair_from_dict(json.loads(line)) for line in lines]
    outputs = run_repairer(Repairer.from_pretrained(detector=lexicon, rewriter=lexicon), pairs)
    assert_agree(score_outputs(pairs, outputs),
                 reference_figures(lines, outputs.repaired_spun, outputs.repaired_original, tmp_path))


# --------------------------------------------------------------------------- the command


@pytest.fixture
def toy_models(tmp_path, monkeypatch):
    monkeypatch.setitem(COMPONENT_TYPES, "toy-table", f"{__name__}:ToyComponent")
    models = tmp_path / "models"
    for role in ("detector", "rewriter", "lexicon"):
        (models / role).mkdir(parents=True)
        (models / role / "component.json").write_text(json.dumps({"type": "toy-table", "threshold": 0.5}))
    (models / "lexicon" / "extra.bin").write_bytes(b"makes the lexicon's hash differ")
    return models


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"spun": SPUN, "original": ORIGINAL, "profile": "light"},
            {"spun": "We hope to acquire a new vehicle soon.", "original": "We hope to buy a new car soon."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_eval_command_prints_a_table_with_signatures(toy_models, pairs_file, capsys):
    assert main(["eval", str(pairs_file), "--model-dir", str(toy_models), "--compare", "--errors", "3"]) == 0
    out = capsys.readouterr().out
    assert "missed: acquire -> buy (got: obtain)" in out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "default", "lexicon"]
    f05 = next(line for line in out.splitlines() if line.startswith("F0.5")).split()
    assert f05[1] == f05[2] == f"{1.25 * 0.75 * 0.75 / (0.25 * 0.75 + 0.75):.3f}"
    assert "default: detector:toy-table@" in out and "lexicon: detector:toy-table@" in out


def test_eval_command_json_limit_and_several_files(toy_models, pairs_file, capsys):
    assert main(["eval", str(pairs_file), str(pairs_file), "--model-dir", str(toy_models),
                 "--limit", "1", "--json", "--threshold", "0.7"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["sets"]) == 2
    figures = report["sets"][0]["systems"]["default"]
    assert (figures["pairs"], figures["required"], figures["restored"], figures["precision"]) == (1, 2, 2, 1.0)
    assert "threshold:0.7" in figures["signature"] == report["signatures"]["default"]


def test_eval_command_refuses_bad_input_in_one_line(toy_models, tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert main(["eval", str(missing), "--model-dir", str(toy_models)]) == 2
    err = capsys.readouterr().err.strip()
    assert "nope.jsonl" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert main(["eval", str(missing.parent / "x.jsonl"), "--model-dir", str(tmp_path / "empty")]) == 2
    assert main(["eval"]) == 2


def test_eval_command_reports_missing_models(tmp_path, pairs_file, capsys):
    assert main(["eval", str(pairs_file), "--model-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot load models" in err and len(err.splitlines()) == 1


def test_eval_all_writes_json_and_markdown(toy_models, pairs_file, tmp_path, capsys):
    import gzip
    import importlib.util

    spec = importlib.util.spec_from_file_location("eval_all", REPO / "scripts" / "eval_all.py")
    eval_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(eval_all)
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.pairs.jsonl").write_text(pairs_file.read_text())
    out = tmp_path / "out"
    assert eval_all.main(["--data", str(data), "--model-dir", str(toy_models), "--out", str(out),
                          "--limit", "5"]) == 0
    report = json.loads((out / "quality.json").read_text())
    synthetic = report["sets"]["synthetic test"]["systems"]
    assert set(synthetic) == {"default", "lexicon"} and synthetic["default"]["restored"] == 3
    assert "held-out" in capsys.readouterr().err  # missing set noted, not fatal
    markdown = (out / "quality.md").read_text()
    assert "| F0.5 |" in markdown and report["signatures"]["lexicon"] in markdown
    assert f"### synthetic test ({synthetic['default']['pairs']} pairs)" in markdown

    # --sets runs only the named sets; --merge joins runs of the same models into one table, in the standard order
    (data / "test-terms-unseen.jsonl.gz").write_bytes(gzip.compress(pairs_file.read_bytes()))
    unseen = tmp_path / "unseen"
    assert eval_all.main(["--data", str(data), "--model-dir", str(toy_models), "--out", str(unseen),
                          "--limit", "1", "--sets", "unseen"]) == 0
    assert list(json.loads((unseen / "quality.json").read_text())["sets"]) == ["synthetic terms, unseen swaps"]
    merged = tmp_path / "merged"
    assert eval_all.main(["--merge", str(unseen / "quality.json"), str(out / "quality.json"), "--out", str(merged)]) == 0
    joined = json.loads((merged / "quality.json").read_text())
    assert list(joined["sets"])[:2] == ["synthetic test", "synthetic terms, unseen swaps"]
    assert set(joined["sets"]) == set(report["sets"]) | {"synthetic terms, unseen swaps"}
    assert joined["sets"]["synthetic test"] == report["sets"]["synthetic test"]
    assert "### synthetic terms, unseen swaps (1 pairs)" in (merged / "quality.md").read_text()
    other = json.loads((unseen / "quality.json").read_text())
    other["signatures"]["default"] += "|threshold:0.1"
    (tmp_path / "other.json").write_text(json.dumps(other))
    capsys.readouterr()
    assert eval_all.main(["--merge", str(out / "quality.json"), str(tmp_path / "other.json"), "--out", str(merged)]) == 2
    assert "signatures differ" in capsys.readouterr().err


# --------------------------------------------------------------------------- calibrate_threshold.py


def test_the_pipeline_threshold_is_the_best_f05_that_keeps_every_domain_clean(toy_model_dir, tmp_path, capsys):
    import gzip
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("calibrate_threshold", REPO / "scripts" / "calibrate_threshold.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    models = tmp_path / "models"
    shutil.copytree(toy_model_dir, models)
    shutil.copytree(models / "lexicon", models / "detector")  # the toy list plays the detector too
    spun_doc = {"domain": "news", "original": "The car was parked outside the restaurant.",
                "spun": "The motorcar was parked outside the restaurant.",
                "edits": [{"start": 4, "end": 12, "spun": "motorcar", "original": "car"}]}
    # "canine" scores 0.42 in the toy list: correct here, and changed by any threshold below that
    clean_doc = {"domain": "police", "original": "The canine unit searched the building.",
                 "spun": "The canine unit searched the building.", "edits": []}
    data = tmp_path / "data"
    data.mkdir()
    with gzip.open(data / "dev.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(spun_doc) + "\n" + json.dumps(clean_doc) + "\n")
    argv = ["--data", str(data), "--splits", "dev", "--model-dir", str(models), "--thresholds", "0.95", "0.9", "0.4"]
    assert script.main(argv + ["--save"]) == 0
    out = capsys.readouterr().out
    # 0.95 misses the motorcar; 0.4 finds it too but changes the canine unit
    assert "chosen: 0.9 " in out
    assert "'police': 0.0" in out.split("threshold 0.9:")[1].splitlines()[0]
    assert json.loads((models / "detector" / "component.json").read_text())["threshold"] == 0.9
    assert script.main(argv[:-4] + ["--thresholds", "0.4"]) == 1  # no threshold keeps it clean
    # level F0.5: the higher threshold, which changes no more clean words
    assert script.main(argv[:-4] + ["--thresholds", "0.9", "0.8"]) == 0
    assert "chosen: 0.9 " in capsys.readouterr().out


def test_a_sample_spec_can_pass_over_the_documents_a_calibration_reads(tmp_path):
    import gzip
    import importlib.util

    spec = importlib.util.spec_from_file_location("calibrate_threshold", REPO / "scripts" / "calibrate_threshold.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = tmp_path / "data"
    data.mkdir()
    records = [{"domain": domain, "original": f"{domain} text {n}.", "spun": f"{domain} text {n}.", "edits": []}
               for n in range(5) for domain in ("news", "fiction")]
    with gzip.open(data / "dev.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records))
    first = script.sample_specs([f"{data}/dev:2"], per_domain=40)[f"{data}/dev"]
    rest = script.sample_specs([f"{data}/dev:10+2"], per_domain=40)[f"{data}/dev"]
    assert [p.original for _, p in first] == ["news text 0.", "fiction text 0.", "news text 1.", "fiction text 1."]
    assert len(rest) == 6 and not {p.original for _, p in first} & {p.original for _, p in rest}


# --------------------------------------------------------------------------- calibrate_decide.py


def test_calibrate_decide_detects_and_scores_each_text_once():
    import importlib.util

    spec = importlib.util.spec_from_file_location("calibrate_decide", REPO / "scripts" / "calibrate_decide.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    class Counting:
        calls = 0

        def detect(self, text, threshold):
            self.calls += 1
            return [text, threshold]

    counting = Counting()
    script.remember(counting, "detect")
    assert counting.detect("a", 0.5) == counting.detect("a", 0.5) == ["a", 0.5] and counting.calls == 1
    counting.detect("a", 0.6)
    assert counting.calls == 2
