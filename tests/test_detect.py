"""The tagger detector: windows, labels, features, a tiny end-to-end training run, and (when
models/detector is present) the shipped model on sentences it never saw."""
from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path

import pytest

from repair.components import default_model_dir, load_component
from repair.detect import TaggerDetector, WordScore, plan_windows, spans_from_scores, word_labels
from repair.detect_features import FEATURE_NAMES, NEIGHBOUR_FEATURES, LexicalFeatures, _FrequencyOnlyLexicon, split_units
from repair.detect_metrics import GoldDocument, figures, gold_from_record

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = default_model_dir() / "detector"

# our own toy spinner: (original, substitute); the test builds spun documents with it
SWAPS = [("help", "assist"), ("start", "commence"), ("show", "demonstrate"), ("buy", "purchase"),
         ("big", "sizeable"), ("about", "approximately"), ("use", "utilise")]
SENTENCES = [
    "The team will help the city start a big project about water.",
    "Families often buy food they never use.",
    "Charts show how prices start to rise about once a year.",
    "Volunteers help older people buy what they need.",
    "We use a big map to show the route.",
    "Nobody knew what the quiet man wanted.",
]


def spin(text: str) -> tuple[str, list[dict]]:
    """Apply SWAPS to ``text``; return the spun text and data-contract edits."""
    table = dict(SWAPS)
    out, edits, position = [], [], 0
    for m in re.finditer(r"\w+", text):
        out.append(text[position:m.start()])
        word = m.group()
        start = sum(len(p) for p in out)
        replacement = table.get(word, word)
        out.append(replacement)
        if replacement != word:
            edits.append({"spun_start": start, "spun_end": start + len(replacement), "spun": replacement,
                          "original": word, "orig_start": m.start(), "orig_end": m.end(), "kind": "word"})
        position = m.end()
    out.append(text[position:])
    return "".join(out), edits


def records(count: int) -> list[dict]:
    docs = []
    for i in range(count):
        original = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4))
        if i % 3 == 2:
            docs.append({"id": f"c{i}", "domain": "toy", "split": "train", "profile": "clean",
                         "original": original, "spun": original, "edits": []})
        else:
            spun, edits = spin(original)
            docs.append({"id": f"s{i}", "domain": "toy", "split": "train", "profile": "light",
                         "original": original, "spun": spun, "edits": edits})
    return docs


def write_split(folder: Path, name: str, docs: list[dict]) -> None:
    with gzip.open(folder / f"{name}.jsonl.gz", "wt", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc) + "\n")


# ------------------------------------------------------------------ pure parts


def test_spin_fixture_is_consistent():
    spun, edits = spin(SENTENCES[0])
    assert all(spun[e["spun_start"]:e["spun_end"]] == e["spun"] for e in edits)
    assert [e["spun"] for e in edits] == ["assist", "commence", "sizeable", "approximately"]


def test_units_and_bio_labels_cover_multiword_edits():
    text = "Prices rose within the lengthy run, analysts said."
    start = text.index("within the lengthy run")
    edits = [{"spun_start": start, "spun_end": start + len("within the lengthy run")}]
    units = split_units(text)
    labels = word_labels(units, edits)
    tagged = [(u.text, l) for u, l in zip(units.units, labels) if l]
    assert tagged == [("within", 1), ("the", 2), ("lengthy", 2), ("run", 2)]
    assert units.units[-1].text == "." and labels[-1] == 0


def test_windows_cover_every_unit_without_truncation():
    text = " ".join(f"Sentence number {i} talks about the weather today." for i in range(60))
    units = split_units(text)
    pieces = [(1,) * (len(u.text) // 4 + 1) for u in units.units]
    windows = plan_windows(units, pieces, budget=40)
    covered = set()
    for a, b in windows:
        assert sum(len(pieces[i]) for i in range(a, b)) <= 40
        covered.update(range(a, b))
    assert covered == set(range(len(units.units)))
    assert len(windows) > 10
    # windows start at sentence starts, so the encoder never reads half a sentence at a cut
    for a, _ in windows:
        assert a == 0 or units.units[a].sentence != units.units[a - 1].sentence


def test_sentence_longer_than_a_window_is_cut_not_dropped():
    text = "word " * 300 + "end."
    units = split_units(text)
    pieces = [(1,)] * len(units.units)
    windows = plan_windows(units, pieces, budget=50)
    assert windows[0][0] == 0 and windows[-1][1] == len(units.units)
    assert all(b - a <= 50 for a, b in windows)


def test_spans_join_adjacent_flags_and_split_at_new_spans():
    text = "in the lengthy run, firm said"
    ws = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    spins = [0.2, 0.9, 0.9, 0.9, 0.8, 0.1]
    begins = [1.0, 1.0, 0.1, 0.1, 0.9, 1.0]
    scores = [WordScore(a, b, s, g) for (a, b), s, g in zip(ws, spins, begins)]
    spans = spans_from_scores(text, scores, 0.5)
    assert [s.text for s in spans] == ["the lengthy run", "firm"]  # the comma ends the first span


def test_an_inside_tagged_span_takes_back_its_beginning():
    text = "Prior to the vote, the summed up moves"
    ws = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    spins = [0.42, 0.84, 0.0, 0.1, 0.0, 0.05, 0.7, 0.7]
    begins = [1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.02, 0.99]
    scores = [WordScore(a, b, s, g) for (a, b), s, g in zip(ws, spins, begins)]
    spans = spans_from_scores(text, scores, 0.65)
    # "Prior" is below the threshold but the tagger says "to" continues a span that it begins;
    # "summed" looks clean, so "up" stays alone rather than dragging a clean word in
    assert [s.text for s in spans] == ["Prior to", "up", "moves"]
    assert spans[0].score == round((0.42 + 0.84) / 2, 4)


def test_document_features_see_absent_originals_and_recurrence():
    class ToyLexicon(_FrequencyOnlyLexicon):
        def originals_for(self, word):
            return [orig for orig, sub in SWAPS if sub == word]

    features = LexicalFeatures(ToyLexicon())
    spun, _ = spin(SENTENCES[0] + " " + SENTENCES[3])
    doc = split_units(spun)
    rows = features.compute(doc)
    named = {u.text: dict(zip(FEATURE_NAMES, r)) for u, r in zip(doc.units, rows) if u.is_word}
    assert named["assist"]["has_originals"] == 1.0 and named["assist"]["zipf_gain"] > 0
    assert named["assist"]["originals_absent"] == 1.0
    assert named["assist"]["recurrence"] > named["city"]["recurrence"]
    assert named["city"]["has_originals"] == 0.0
    assert named["city"]["doc_prior_rate"] > 0  # document-level: shared by every word


def test_figures_count_exact_spans_and_clean_damage():
    spun, edits = spin(SENTENCES[1])
    gold = gold_from_record({"spun": spun, "edits": edits, "profile": "light"})
    clean = GoldDocument(SENTENCES[5], (), True, "toy")
    from repair.edits import Span

    right = [Span(a, b, spun[a:b], 1.0) for a, b in gold.spans]
    result = figures([gold, clean], [right, [Span(0, 6, "Nobody", 0.9)]])
    assert result.span_precision == 2 / 3 and result.span_recall == 1.0
    assert result.clean_flags_per_1000 == pytest.approx(1000 / 7)


# ------------------------------------------------------------------ tiny end-to-end training run


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_training_run_saves_and_reloads(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_split(data, "train", records(12))
    write_split(data, "dev", records(6))
    out, runs = tmp_path / "detector", tmp_path / "runs"
    trainer = load_script("train_detector")
    argv = ["--data", str(data), "--out", str(out), "--runs", str(runs), "--lexicon", str(tmp_path / "none"),
            "--batch-tokens", "200", "--dev-docs", "6", "--threads", "1"]
    assert trainer.main(argv + ["--max-steps", "3"]) == 0
    config = json.loads((out / "component.json").read_text())
    assert config["type"] == "tagger-detector" and 0 < config["threshold"] <= 1
    weights = out / "model.safetensors"
    assert weights.stat().st_size < 30_000_000
    from safetensors.torch import load_file

    state = load_file(str(weights))
    # only the fine-tuned top layers and the shipped heads: never the base encoder, never the probes
    assert all(k.startswith(("encoder.layers.2.", "encoder.layers.3.", "head_")) for k in state)
    assert any(k.startswith("encoder.layers.3.") for k in state) and any(k.startswith("head_document") for k in state)
    assert {v.dtype for v in state.values()} == {__import__("torch").float16}

    # resuming continues from the checkpoint instead of starting over (here with other tools' swaps mixed in)
    from repair.thesaurus import WORDNET_DIR
    respin = ["--respin", "0.5", "--respin-clean", "0.05"] if (WORDNET_DIR / "index.sense").exists() else []
    assert trainer.main(argv + ["--max-steps", "4", *respin]) == 0
    assert json.loads((runs / "report.json").read_text())["steps"] == 4

    detector = load_component(out)
    assert type(detector).__name__ == "TaggerDetector"
    spun, _ = spin(SENTENCES[0])
    spans = detector.detect(spun, 0.0)
    assert spans and all(spun[s.start:s.end] == s.text for s in spans)
    assert detector.detect("   ", 0.5) == []


def test_tiny_from_scratch_encoder_ships_all_its_weights(tmp_path):
    """The issue's comparison model: a small encoder of its own shape, trained from nothing."""
    data = tmp_path / "data"
    data.mkdir()
    write_split(data, "train", records(8))
    write_split(data, "dev", records(4))
    out = tmp_path / "scratch"
    trainer = load_script("train_detector")
    assert trainer.main(["--data", str(data), "--out", str(out), "--runs", str(tmp_path / "runs"),
                         "--lexicon", str(tmp_path / "none"), "--batch-tokens", "200", "--dev-docs", "4",
                         "--threads", "1", "--max-steps", "2", "--scratch", "32", "2", "64",
                         "--encoder-layers", "1"]) == 0
    from safetensors.torch import load_file

    state = load_file(str(out / "model.safetensors"))
    assert state["encoder.word.weight"].shape[1] == 32  # embeddings are ours too: nothing pretrained
    detector = load_component(out)
    assert detector.config["pretrained"] is False
    spun, _ = spin(SENTENCES[0])
    assert all(spun[s.start:s.end] == s.text for s in detector.detect(spun, 0.0))


def small_two_layer_trainer(tmp_path):
    """The training script and the arguments of a few-step run of a two-layer tagger on tiny splits."""
    data = tmp_path / "data"
    data.mkdir()
    write_split(data, "train", records(8))
    write_split(data, "dev", records(4))
    common = ["--data", str(data), "--lexicon", str(tmp_path / "none"), "--batch-tokens", "200",
              "--dev-docs", "4", "--threads", "1", "--encoder-layers", "2", "--trainable-layers", "1"]
    return load_script("train_detector"), common


def test_continuing_with_fewer_features_keeps_the_weights_of_the_rest(tmp_path):
    """--init from a model trained on more features (an ablation drops one): every kept
    feature's head weights carry over, column for column."""
    import torch
    from safetensors.torch import load_file

    from repair.detect_features import FEATURE_NAMES

    trainer, common = small_two_layer_trainer(tmp_path)
    full, fewer = tmp_path / "full", tmp_path / "fewer"
    assert trainer.main(common + ["--out", str(full), "--runs", str(tmp_path / "r1"), "--max-steps", "1"]) == 0
    old = load_file(str(full / "model.safetensors"))
    network = TaggerDetector.fresh({"encoder_layers": 2, "trainable_layers": 1,
                                    "features": [n for n in FEATURE_NAMES if n != "zipf"]},
                                   lexicon_folder=tmp_path / "none").network
    names = json.loads((full / "component.json").read_text())["features"]
    laid_out = trainer.relayout_heads(old, network, names, [n for n in names if n != "zipf"])
    hidden = network.encoder.hidden_size
    before, after = old["head_first.0.weight"], laid_out["head_first.0.weight"]
    assert after.shape[1] == before.shape[1] - 1
    assert torch.equal(after[:, :hidden], before[:, :hidden])
    assert torch.equal(after[:, hidden:], before[:, hidden + 1:])  # zipf was the first feature
    assert trainer.main(common + ["--out", str(fewer), "--runs", str(tmp_path / "r2"), "--max-steps", "1",
                                  "--init", str(full), "--drop-features", "zipf"]) == 0
    detector = load_component(fewer)
    assert "zipf" not in detector.config["features"]
    spun, _ = spin(SENTENCES[0])
    assert all(spun[s.start:s.end] == s.text for s in detector.detect(spun, 0.0))


def test_training_only_the_document_head_leaves_every_other_weight_as_it_started(tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    trainer, common = small_two_layer_trainer(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    assert trainer.main(common + ["--out", str(first), "--runs", str(tmp_path / "r1"), "--max-steps", "1"]) == 0
    assert trainer.main(common + ["--out", str(second), "--runs", str(tmp_path / "r2"), "--max-steps", "2",
                                  "--init", str(first), "--train-only", "head_document"]) == 0
    before, after = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head_document.") for k in changed)
    with pytest.raises(SystemExit):
        trainer.main(common + ["--out", str(tmp_path / "x"), "--runs", str(tmp_path / "r3"), "--max-steps", "1",
                               "--train-only", "no_such_module"])
    assert "--train-only no_such_module names no parameter" in capsys.readouterr().err


def test_masking_words_hides_their_pieces_and_keeps_everything_else():
    import random as random_module

    trainer = load_script("train_detector")
    detector = TaggerDetector.fresh({"encoder_layers": 1, "trainable_layers": 1}, lexicon_folder=ROOT / "none")
    spun, edits = spin(SENTENCES[1])
    encoded = detector.encode(spun, lambda units: word_labels(units, edits))
    masked = trainer.mask_words(encoded, 103, 0.5, random_module.Random(3))
    changed = [u for u, a, b in zip(encoded.units.units, encoded.pieces, masked.pieces) if a != b]
    assert changed and all(u.is_word for u in changed)
    assert all(p == (103,) for p, q in zip(masked.pieces, encoded.pieces) if p != q)
    assert masked.labels == encoded.labels and masked.features == encoded.features


# ------------------------------------------------------------------ the shipped model

needs_model = pytest.mark.skipif(not (SHIPPED / "component.json").is_file(), reason="models/detector not trained yet")

# our own sentences, each with one substitution a spinner would make; none is in the corpus
# a single fluent formal substitute in one sentence is the shipped model's known weakness
# (models/detector/README.md): those cases are strict xfails, so a model that learns them shows up
WEAK = pytest.mark.xfail(strict=True, reason="known weakness of the shipped model: a lone fluent substitute "
                         "in one sentence is not flagged at the calibrated threshold")
WEAK_ALONE = pytest.mark.xfail(strict=True, reason="known weakness of the shipped model: a sentence spun word by "
                               "word, given alone, is not flagged at the calibrated threshold")
UNSEEN_SPUN = [
    pytest.param("The committee will commence its review of the budget next week.", ("commence",), marks=WEAK),
    pytest.param("Residents were asked to utilise less water during the drought.", ("utilise",), marks=WEAK),
    # flagged by the stop-35 model (0.649 under its gate); the stop-36 model, trained on single sentences
    # where only terms are spun, no longer flags a lone formal word in one sentence (detector card)
    pytest.param("The new bridge has reduced journey times for approximately ten thousand commuters.",
                 ("approximately",), marks=WEAK),
    pytest.param("Doctors say regular exercise can assist older patients recover faster.", ("assist",), marks=WEAK),
    # sentences spun word by word the way the training spinners do, written for this test (stop 36) before
    # either model scored them, and all kept: those it misses are recorded as weaknesses
    ("The administration stated on Tuesday that it might enhance taxes on massive companies subsequent yr.",
     ("stated", "might", "enhance", "massive", "subsequent", "yr")),
    ("Police officers arrested two males after a struggle broke out exterior the soccer floor.",
     ("males", "struggle", "exterior", "floor")),
    pytest.param("The hospital mentioned it had handled greater than 300 sufferers for the reason that storm hit "
                 "the city.", ("mentioned", "handled", "greater", "sufferers", "for the reason that"), marks=WEAK_ALONE),
    pytest.param("Farmers warned that the dry climate may injury this season's harvest throughout the area.",
                 ("climate", "injury", "throughout", "area"), marks=WEAK_ALONE),
]
CLEAN_PARAGRAPH = (
    "The city council met on Tuesday to discuss the new budget. Members agreed to spend more on "
    "schools and roads next year, and the mayor said the plan would help families across the city. "
    "Local businesses welcomed the decision, although some residents worried about higher taxes."
)


@pytest.fixture(scope="module")
def shipped():
    return load_component(SHIPPED)


@needs_model
def test_shipped_model_is_small_and_offline():
    total = sum(p.stat().st_size for p in SHIPPED.iterdir() if p.is_file())
    assert total < 30_000_000
    assert "threshold" in json.loads((SHIPPED / "component.json").read_text())


@needs_model
@pytest.mark.parametrize("sentence,spun_words", UNSEEN_SPUN)
def test_shipped_model_flags_the_obvious_spun_word(shipped, sentence, spun_words):
    """At least one spun word is flagged, and nothing but spun words."""
    threshold = json.loads((SHIPPED / "component.json").read_text())["threshold"]
    flagged = [s.text for s in shipped.detect(sentence, threshold)]
    assert flagged and all(any(text in spun for spun in spun_words) for text in flagged), flagged


@needs_model
def test_shipped_model_leaves_clean_paragraph_alone(shipped):
    threshold = json.loads((SHIPPED / "component.json").read_text())["threshold"]
    assert shipped.detect(CLEAN_PARAGRAPH, threshold) == []
    assert shipped.detect("... !! --", threshold) == []  # no words at all


def _scores(spins):
    return [WordScore(4 * i, 4 * i + 3, s, 1.0) for i, s in enumerate(spins)]


def test_document_gate_lowers_the_threshold_only_in_a_document_that_looks_spun():
    from repair.detect import DocumentGate

    gate = DocumentGate(spin=0.1, threshold=0.35, prior_words=50, prior_spin=0.03)
    spun_document = _scores([0.9, 0.4, 0.05] * 100)  # many high scores throughout
    clean_document = _scores(([0.4] + [0.02] * 19) * 20)  # the same middling word, otherwise quiet
    assert gate.threshold_for(spun_document, 0.7) == 0.35
    assert gate.threshold_for(clean_document, 0.7) == 0.7
    # a short text with one odd word never opens it: the prior outweighs a dozen words
    assert gate.threshold_for(_scores([0.95] + [0.02] * 11), 0.7) == 0.7
    # and it never raises a threshold the caller set lower
    assert gate.threshold_for(spun_document, 0.2) == 0.2
    assert gate.signature == "0.1->0.35~50w"
    assert DocumentGate(spin=0.04, threshold=0.45, prior_words=0, prior_spin=0.01).signature == "0.04->0.45"
    # a text without words (punctuation only) has no spin, with or without a prior
    assert DocumentGate(spin=0.04, threshold=0.45, prior_words=0, prior_spin=0.01).threshold_for([], 0.7) == 0.7


def test_the_gate_is_part_of_the_detector_and_its_signature(tmp_path):
    from repair.detect import DocumentGate, TaggerDetector

    detector = TaggerDetector.__new__(TaggerDetector)
    detector.name, detector.gate = "tagger", DocumentGate(spin=0.1, threshold=0.35)
    detector.vouch = detector.baseline = detector.terms = detector.unsure = None
    text = " ".join(["abc"] * 300)
    scores = _scores([0.9, 0.4, 0.05] * 100)
    flagged = {s.start for s in detector.spans(text, scores, 0.7)}
    assert {w.start for w in scores if w.spin >= 0.35} == flagged
    assert detector.signature_settings == {"doc-gate": "0.1->0.35~50w"}
    detector.gate = None
    assert {s.start for s in detector.spans(text, scores, 0.7)} == {w.start for w in scores if w.spin >= 0.7}
    assert detector.signature_settings == {}


class _JudgeOf:
    """A lexicon baseline that judges the words it is given: spun when ``verdicts`` says so."""

    def __init__(self, verdicts: dict[str, float]):
        self.verdicts, self.asked = verdicts, []

    def judge_words(self, text, words):
        from repair.baseline import Judgement

        self.asked.extend(text[a:b] for a, b in words)
        return [Judgement(a, b, self.verdicts[text[a:b]], ()) for a, b in words if text[a:b] in self.verdicts]


def test_the_lexicon_vouches_only_for_words_the_tagger_is_unsure_of():
    from repair.detect import LexiconVouch, TaggerDetector

    text = "aaa bbb ccc ddd eee"
    scores = _scores([0.9, 0.5, 0.5, 0.1, 0.5])
    judge = _JudgeOf({"bbb": 0.8, "ccc": 0.2, "ddd": 0.99, "aaa": 0.99})
    detector = TaggerDetector.__new__(TaggerDetector)
    detector.name, detector.gate = "tagger", None
    detector.vouch, detector.baseline, detector.terms = LexiconVouch(min_spin=0.4, min_score=0.5), judge, None
    detector.unsure = None
    spans = detector.spans(text, scores, 0.7)
    # "aaa": the tagger's own; "bbb": unsure and vouched for; "ccc": unsure, the lexicon disagrees;
    # "ddd": the lexicon is sure but the tagger is not unsure enough; "eee": nobody vouches
    assert [(s.text, s.source) for s in spans] == [("aaa", "tagger"), ("bbb", "tagger+lexicon")]
    assert spans[1].score == 0.5  # a vouched span keeps the tagger's own confidence
    assert judge.asked == ["bbb", "ccc", "eee"]  # only the unsure words are read
    assert detector.signature_settings == {"vouch": "lexicon>=0.5@0.4"}


def test_unsure_words_become_spans_of_their_own_source_beside_the_others():
    from repair.detect import TaggerDetector, UnsureSpans

    text = "aaa bbb ccc ddd eee fff"
    spins, begins = [0.9, 0.3, 0.1, 0.3, 0.25, 0.5], [1.0, 1.0, 1.0, 1.0, 0.1, 0.1]
    scores = [WordScore(4 * i, 4 * i + 3, s, b) for i, (s, b) in enumerate(zip(spins, begins))]
    detector = TaggerDetector.__new__(TaggerDetector)
    detector.name, detector.gate, detector.vouch, detector.baseline, detector.terms = "tagger", None, None, None, None
    detector.unsure = UnsureSpans(min_spin=0.2)
    spans = detector.spans(text, scores, 0.7)
    # "aaa" is the tagger's; "bbb" is unsure; "ccc" is under the floor; "ddd eee fff" are unsure together, as the
    # tagger says "eee" and "fff" continue a span
    assert [(s.text, s.source) for s in spans] == [("aaa", "tagger"), ("bbb", "unsure"), ("ddd eee fff", "unsure")]
    assert detector.signature_settings == {"unsure": ">=0.2"}
    # an unsure word that would continue a flagged word's span is left to that span
    continuing = [WordScore(0, 3, 0.9, 1.0), WordScore(4, 7, 0.3, 0.1), *_scores([0.0] * 6)[2:]]
    assert [s.text for s in detector.spans(text, continuing, 0.7)] == ["aaa"]
    # a threshold at or under the floor leaves nothing unsure
    assert [s.source for s in detector.spans(text, scores, 0.2)] == ["tagger"] * 3


def test_judging_around_one_word_finds_what_the_whole_text_scan_finds():
    from repair.baseline import LexiconBaseline

    baseline = LexiconBaseline.from_pretrained(Path(__file__).resolve().parent.parent / "models" / "lexicon")
    text = "She paid with her acknowledgment card at the shop. They spent a huge quantity of cash on the wedding."
    whole = {(j.start, j.end): j.score for j in baseline.judge(text)}
    start = text.index("quantity")
    around = baseline.judge_words(text, [(start, start + len("quantity"))])
    assert [(j.start, j.end) for j in around] == [(start, start + len("quantity"))]
    assert around[0].score == pytest.approx(whole[(start, start + len("quantity"))])
    assert baseline.judge_words(text, []) == []


def test_neighbour_features_see_a_word_its_thesaurus_neighbour_would_fit_better():
    from repair.detect_features import load_lexicon

    lexicon = load_lexicon(Path(__file__).resolve().parent.parent / "models" / "lexicon")
    text = "Shares fell on the inventory market today. Shares fell on the stock market today."
    doc = split_units(text)
    rows = LexicalFeatures(lexicon).compute(doc)
    named = {u.text: dict(zip(FEATURE_NAMES, r)) for u, r in zip(doc.units, rows) if u.is_word}
    assert named["inventory"]["neighbour_fit"] > named["stock"]["neighbour_fit"] + 0.1
    assert named["inventory"]["neighbour_left"] > 0 and named["inventory"]["neighbour_right"] > 0
    assert named["inventory"]["has_neighbours"] == 1.0
    # a model trained without the group never pays for it: its columns stay zero
    shipped_names = [n for n in FEATURE_NAMES if n not in NEIGHBOUR_FEATURES]
    rows = LexicalFeatures(lexicon, shipped_names).compute(doc)
    assert all(r[FEATURE_NAMES.index(n)] == 0.0 for r in rows for n in NEIGHBOUR_FEATURES)


def test_mixed_records_come_in_their_share_and_not_at_all_without_a_mix():
    import random

    trainer = load_script("train_detector")
    rng = random.Random(3)
    assert trainer.mixed_record([], rng) is None
    assert rng.random() == random.Random(3).random()  # no draw spent without a mix
    sentences = [{"id": "s"}]
    drawn = [trainer.mixed_record([(0.3, sentences)], rng) for _ in range(4000)]
    share = sum(d is not None for d in drawn) / len(drawn)
    assert 0.26 < share < 0.34 and all(d in (None, sentences[0]) for d in drawn)


@pytest.mark.parametrize("mix", ["train-terms", "train-terms:1.5", ":0.2", "train-terms:x"])
def test_a_bad_mix_is_one_line_and_exit_2(mix, tmp_path, capsys):
    trainer = load_script("train_detector")
    with pytest.raises(SystemExit) as stop:
        trainer.parse_mixes(trainer.arguments(["--data", str(tmp_path), "--mix", mix]))
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--mix" in err


def test_calibrating_on_documents_and_sentences_keeps_their_clean_limits_apart(tmp_path):
    calibrate = load_script("calibrate_detector")
    write_split(tmp_path, "dev", records(3))
    write_split(tmp_path, "dev-paired", records(2))
    alone = calibrate.calibration_records(tmp_path, ["dev"], 10)
    assert [r["domain"] for r in alone] == [r["domain"] for r in records(3)]  # one split: domains as they are
    both = calibrate.calibration_records(tmp_path, ["dev", "dev-paired"], 10)
    assert len(both) == 5 and {r["domain"].split("/")[0] for r in both} == {"dev", "dev-paired"}
    assert [r["spun"] for r in both] == [r["spun"] for r in records(3) + records(2)]
