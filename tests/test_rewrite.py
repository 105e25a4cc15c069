"""The seq2seq rewriter: helpers, a tiny end-to-end training run, and the shipped model."""
from __future__ import annotations

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from repair.edits import Span
from repair.rewrite import (
    DecideConfig,
    Decision,
    Scored,
    article_for,
    consistent_choices,
    detokenize,
    fix_article,
    inflect_like,
    sentence_bounds,
    training_pairs,
    windows_for,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "rewriter"

# a toy spinner for the tiny training set: original -> spun
SWAPS = {"company": "firm", "big": "huge", "quickly": "rapidly", "said": "stated"}
TEMPLATES = [
    "The {company} grew {quickly} last year.",
    "A {big} crowd {said} the plan was fair.",
    "Her {company} {said} that sales rose {quickly}.",
    "They built a {big} bridge near the river.",
    "The team moved {quickly} and the {company} noticed.",
]


def toy_doc(rng: random.Random, index: int) -> dict:
    """A data-contract document: spun text, original, and character-exact edits."""
    spun_parts, orig_parts, edits = [], [], []
    spun_len = orig_len = 0
    for template in rng.sample(TEMPLATES, 3):
        pieces = template.replace("{", "|{").replace("}", "}|").split("|")
        for piece in pieces + [" "]:
            if piece.startswith("{"):
                original = piece[1:-1]
                spun = SWAPS[original] if rng.random() < 0.7 else original
                if spun != original:
                    edits.append({"spun_start": spun_len, "spun_end": spun_len + len(spun),
                                  "orig_start": orig_len, "orig_end": orig_len + len(original),
                                  "spun": spun, "original": original, "kind": "word"})
            else:
                original = spun = piece
            spun_parts.append(spun)
            orig_parts.append(original)
            spun_len += len(spun)
            orig_len += len(original)
    return {"id": f"toy{index}", "domain": "toy", "split": "train", "profile": "light",
            "original": "".join(orig_parts).strip(), "spun": "".join(spun_parts).strip(), "edits": edits}


def write_toy_split(folder: Path, split: str, count: int, rng: random.Random) -> None:
    """``count`` toy documents as ``folder/split.jsonl.gz``, the layout the scripts read."""
    folder.mkdir(exist_ok=True)
    with gzip.open(folder / f"{split}.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps(toy_doc(rng, i)) + "\n")


def test_toy_docs_follow_the_data_contract():
    doc = toy_doc(random.Random(1), 0)
    for e in doc["edits"]:
        assert doc["spun"][e["spun_start"]:e["spun_end"]] == e["spun"]
        assert doc["original"][e["orig_start"]:e["orig_end"]] == e["original"]


def test_sentences_and_windows_group_spans_by_sentence():
    text = "The firm grew. It was huge! Nothing here."
    assert [text[a:b] for a, b in sentence_bounds(text)] == ["The firm grew.", "It was huge!", "Nothing here."]
    spans = [Span(4, 8, "firm", 1.0), Span(22, 26, "huge", 1.0)]
    windows = windows_for(text, spans)
    assert [(text[w.start:w.end], [s.text for s in w.spans]) for w in windows] == [
        ("The firm grew.", ["firm"]), ("It was huge!", ["huge"])]


def test_training_pairs_mark_gold_edits_and_some_clean_words():
    rng = random.Random(3)
    doc = toy_doc(rng, 0)
    pairs = training_pairs(doc, rng, keep_rate=1.0)
    targets = {(p.text[s:e], t) for p in pairs for (s, e), t in zip(p.spans, p.targets)}
    gold = {(e["spun"], e["original"]) for e in doc["edits"]}
    assert gold <= targets
    keeps = [(a, b) for a, b in targets if a == b]
    assert keeps, "keep examples teach the model to leave clean words alone"


def test_article_follows_the_replacement():
    text = "He runs an enterprise here."
    start, replacement = fix_article(text, 11, "enterprise", "company")
    assert (start, replacement) == (8, "a company")
    assert fix_article("He runs a firm.", 10, "firm", "company") == (10, "company")
    text = "It was a huge success."
    start, replacement = fix_article(text, 9, "huge", "enormous")
    assert text[:start] + replacement + text[13:] == "It was an enormous success."
    assert article_for("university") == "a" and article_for("hour") == "an" and article_for("apple") == "an"


def test_inflection_follows_the_spun_word():
    assert "companies" in inflect_like("firms", "company")
    assert "ran" in inflect_like("sprinted", "run")


def test_detokenize_joins_wordpiece_punctuation():
    assert detokenize("end - to - end") == "end-to-end"
    assert detokenize("it ' s fine .") == "it's fine."


def _decision(start: int, spun: str, keep: float, options: dict[str, float], spin: float = 1.0,
              source: str = "") -> Decision:
    span = Span(start, start + len(spun), spun, spin, source)
    ranked = tuple(sorted((Scored(t, s, s, 0.0) for t, s in options.items()), key=lambda s: -s.score))
    return Decision(span, Scored(spun, keep, keep, 0.0), ranked)


def test_keep_wins_unless_a_candidate_is_clearly_better():
    settings = DecideConfig(keep_margin=1.0)
    close = _decision(0, "firm", -1.0, {"company": -0.5})
    clear = _decision(10, "huge", -5.0, {"big": -0.5})
    chosen = consistent_choices([close, clear], settings)
    assert (0, 4) not in chosen
    assert chosen[(10, 14)].text == "big"


def test_a_recurring_spun_word_is_restored_the_same_way():
    settings = DecideConfig(keep_margin=1.0, consistency_margin=3.0)
    first = _decision(0, "firm", -6.0, {"company": -0.5, "business": -1.0})
    second = _decision(30, "firm", -6.0, {"business": -0.8, "company": -1.2})
    chosen = consistent_choices([first, second], settings)
    assert chosen[(0, 4)].text == chosen[(30, 34)].text == "company"


def test_rescoring_recombines_the_evidence_and_keeps_the_lm_share_apart():
    span = Span(0, 4, "firm", 1.0)
    keep = Scored("firm", 0.0, -1.0, -3.0)
    fits = Scored("company", 0.0, -2.0, 0.0, lm=0.5)  # the model doubts it, the neighbours like it
    likely = Scored("business", 0.0, -1.2, -4.0)
    decision = Decision(span, keep, (fits, likely))
    by_model = decision.rescored(DecideConfig(fit_weight=0.0))
    assert [c.text for c in by_model.ranked] == ["business", "company"]
    assert by_model.ranked[1].score == pytest.approx(-1.5)  # -2.0 + the LM's 0.5
    by_fit = decision.rescored(DecideConfig(fit_weight=1.0))
    assert [c.text for c in by_fit.ranked] == ["company", "business"]
    assert by_fit.keep.score == pytest.approx(-4.0)
    assert by_fit.ranked[0].lm == 0.5


def test_tiny_training_run_end_to_end(tmp_path):
    """Train a few steps on toy data, save, reload, and rewrite with the reloaded model."""
    import scripts.train_rewriter as trainer

    data = tmp_path / "data"
    write_toy_split(data, "train", 12, random.Random(5))
    out = tmp_path / "model"
    trainer.main(["train", "--data", str(data), "--out", str(out), "--runs", str(tmp_path / "runs"),
                  "--max-steps", "3", "--batch", "4", "--minutes", "5", "--encoder-layers", "2",
                  "--decoder-layers", "1"])
    assert (out / "component.json").is_file() and (out / "rewriter.safetensors").is_file()
    meta = json.loads((out / "component.json").read_text())
    assert meta["type"] == "seq2seq-rewriter" and meta["training"]["steps"] == 3
    # only trained weights ship: the decoder and the tuned encoder layer, never the base encoder
    assert (out / "rewriter.safetensors").stat().st_size < 30e6

    from repair.components import load_component

    rewriter = load_component(out, lexicon_folder=tmp_path / "no-lexicon")
    text = "The firm grew rapidly last year."
    spans = [Span(4, 8, "firm", 0.9), Span(14, 21, "rapidly", 0.9)]
    decisions = rewriter.score_spans(text, spans)
    assert [d.span for d in decisions] == spans
    assert all(d.keep.text == s.text for d, s in zip(decisions, spans))
    assert all(d.ranked and all(c.model_logp <= 0 for c in d.ranked) for d in decisions)
    edits = rewriter.rewrite(text, spans)
    for edit in edits:  # whatever it changes lies inside a marked span (or its article)
        assert any(s.start - 3 <= edit.start and edit.end <= s.end for s in spans)
    # resuming continues from the checkpoint instead of starting over
    trainer.main(["train", "--data", str(data), "--out", str(out), "--runs", str(tmp_path / "runs"),
                  "--max-steps", "5", "--batch", "4", "--minutes", "5", "--encoder-layers", "2",
                  "--decoder-layers", "1"])
    assert json.loads((out / "component.json").read_text())["training"]["steps"] == 5


def test_a_shortlist_extended_with_frequent_words_keeps_what_the_model_knew():
    """The shipped decoder cannot spell "many" (off its shortlist: [UNK]); extended, it can, and the classes it
    had keep their index and their logits, so only the softmax's normaliser moves."""
    import torch

    from repair.rewrite import Seq2SeqRewriter, frequent_pieces

    rewriter = Seq2SeqRewriter.from_pretrained(SHIPPED)  # a copy of its own: extending changes it
    codec, net = rewriter.codec, rewriter.net
    many = codec.target_pieces("many")
    assert codec.classes(many) == [codec.UNK]
    old = list(codec.shortlist)
    hidden = torch.randn(3, net.head_transform[0].in_features)
    with torch.inference_mode():
        before = net.log_probs(hidden)
    added = rewriter.extend_shortlist(frequent_pieces(codec, 500))
    assert added > 0 and codec.shortlist[:len(old)] == old and len(codec.shortlist) == len(old) + added
    assert codec.classes(many) != [codec.UNK] and codec.KEEP == len(old) + added
    assert net.head_bias.shape[0] == len(codec.shortlist) + 2
    assert rewriter.extend_shortlist(frequent_pieces(codec, 500)) == 0
    with torch.inference_mode():
        after = net.log_probs(hidden)
    shift = (after[:, :len(old)] - before[:, :len(old)])
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-4)
    assert torch.allclose(after[:, -2:] - before[:, -2:], shift[:, :2], atol=1e-4)  # keep and [UNK] too


def test_training_from_a_model_can_widen_its_shortlist(tmp_path):
    """``--frequent-words`` adds the frequent words' pieces to an --init model's shortlist; the result saves,
    reloads and spells them."""
    import scripts.train_rewriter as trainer
    from repair.rewrite import Seq2SeqRewriter

    data = tmp_path / "data"
    write_toy_split(data, "train", 8, random.Random(3))
    out = tmp_path / "model"
    trainer.main(["train", "--data", str(data), "--out", str(out), "--runs", str(tmp_path / "runs"),
                  "--init", str(SHIPPED), "--frequent-words", "500", "--max-steps", "1", "--batch", "4"])
    shipped = Seq2SeqRewriter.from_pretrained(SHIPPED).codec
    widened = Seq2SeqRewriter.from_pretrained(out, lexicon_folder=tmp_path / "no-lexicon").codec
    assert widened.shortlist[:len(shipped.shortlist)] == shipped.shortlist
    assert len(widened.shortlist) > len(shipped.shortlist)
    assert widened.classes(widened.target_pieces("many")) != [widened.UNK]


def test_added_files_join_train_and_a_missing_one_is_one_line(tmp_path, capsys):
    """``--add FILE`` puts another file's sentences beside train's (the run's record names it); a file
    that is not there stops the run before training with one line on stderr."""
    import scripts.train_rewriter as trainer

    rng = random.Random(11)
    data = tmp_path / "data"
    write_toy_split(data, "train", 6, rng)
    write_toy_split(data, "train-terms", 6, rng)
    common = ["--max-steps", "1", "--batch", "4", "--minutes", "5", "--encoder-layers", "2", "--decoder-layers", "1"]
    records = {}
    for name, extra in (("alone", []), ("added", ["--add", str(data / "train-terms.jsonl.gz")])):
        out = tmp_path / name
        trainer.main(["train", "--data", str(data), "--out", str(out), "--runs", str(tmp_path / f"runs-{name}"),
                      *common, *extra])
        records[name] = json.loads((out / "component.json").read_text())["training"]
    assert records["added"]["docs"] == 12 and records["alone"]["docs"] == 6
    assert records["added"]["marked_sentences"] > records["alone"]["marked_sentences"]
    assert records["added"]["added"] == [str(data / "train-terms.jsonl.gz")] and records["alone"]["added"] == []
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        trainer.main(["train", "--data", str(data), "--out", str(tmp_path / "never"), "--runs", str(tmp_path / "r"),
                      *common, "--add", str(data / "missing.jsonl.gz")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl.gz" in err[0]
    assert not (tmp_path / "never").exists()


@pytest.mark.skipif(not (SHIPPED / "component.json").is_file(), reason="no trained rewriter shipped")
def test_shipped_model_restores_clearly_spun_sentences():
    """Sentences written for this test (never in any data set), each with one spun span."""
    from repair.components import load_component

    rewriter = load_component(SHIPPED)
    cases = [
        ("We plan to utilize the new tool in every school next year.", "utilize", "use"),
        ("Many folks came to the town meeting last night.", "folks", "people"),
        ("The shop will hire more workers prior to the holiday season.", "prior to", "before"),
        ("Our globe faces many problems that no single country can solve.", "globe", "world"),
    ]
    restored = []
    for text, spun, original in cases:
        start = text.index(spun)
        edits = rewriter.rewrite(text, [Span(start, start + len(spun), spun, 0.9)])
        assert all(text[e.start:e.end] == e.original for e in edits)
        if any(e.replacement.lower() == original for e in edits):
            restored.append(spun)
    assert len(restored) >= 3, restored
    # a clean word marked by mistake is left alone
    text = "The river flows quietly through the old town."
    start = text.index("river")
    assert rewriter.rewrite(text, [Span(start, start + 5, "river", 0.9)]) == []


def test_forced_decoding_agrees_with_the_beam():
    """A candidate scored by forced decoding gets the log-prob the beam gave it."""
    import torch

    from repair.rewrite import ModelConfig, Seq2SeqRewriter, encode_windows, score_candidates

    torch.manual_seed(0)
    rewriter = Seq2SeqRewriter.fresh(ModelConfig(encoder_layers=1, decoder_layers=1), target_texts=["company"])
    rewriter.net.eval()
    text = "The firm grew rapidly last year."
    with torch.inference_mode():
        enc = encode_windows(rewriter.net, rewriter.codec, [(text, [(4, 8), (14, 21)])])
        keep, beamed = score_candidates(rewriter.net, rewriter.codec, enc, [[], []], beam=3)
        texts = [list(b) for b in beamed]
        keep2, forced = score_candidates(rewriter.net, rewriter.codec, enc, texts, beam=0)
    assert keep == pytest.approx(keep2)
    assert all(texts)
    for b, f in zip(beamed, forced):
        for candidate, logp in b.items():
            assert f[candidate] == pytest.approx(logp, abs=1e-4)


def test_a_hidden_span_is_one_mask_whatever_its_length():
    """With the span hidden the encoder sees neither the spun word nor how many pieces it has."""
    from repair.rewrite import Codec, ModelConfig

    codec = Codec.load(ModelConfig())
    text = "The unquestionably big firm grew."
    marks = [(4, 19), (24, 28)]  # "unquestionably" (several pieces), "firm"
    plain_ids, plain_types, plain_positions = codec.encode_window(text, marks)
    ids, types, positions = codec.encode_window(text, marks, hidden=True)
    assert len(plain_positions[0]) > 1 and len(positions[0]) == 1
    assert [ids[p[0]] for p in positions] == [codec.mask, codec.mask]
    assert [types[p[0]] for p in positions] == [1, 1]
    assert sum(types) == 2  # nothing else is marked
    unmarked = [i for i, t in zip(plain_ids, plain_types) if t == 0]
    assert [i for i, t in zip(ids, types) if t == 0] == unmarked  # the context is untouched


def test_context_fit_weighs_in_only_when_asked():
    span = Span(0, 4, "firm", 1.0)
    keep = Scored("firm", 0.0, -1.0, 0.0)
    remembered = Scored("farm", 0.0, -1.5, 0.0, context=-2.0)  # the decoder likes it, the sentence does not
    fitting = Scored("company", 0.0, -2.5, 0.0, context=3.0)
    decision = Decision(span, keep, (remembered, fitting))
    assert [c.text for c in decision.rescored(DecideConfig(fit_weight=0.0)).ranked] == ["farm", "company"]
    weighed = decision.rescored(DecideConfig(fit_weight=0.0, context_weight=1.0))
    assert [c.text for c in weighed.ranked] == ["company", "farm"]
    assert weighed.ranked[0].score == pytest.approx(0.5) and weighed.keep.score == pytest.approx(-1.0)


def test_hidden_span_training_gives_a_model_that_reads_context(tmp_path):
    """A tiny run with hidden spans, started from another model folder, records that it reads
    context, and with a context weight every candidate carries a context fit (keep none)."""
    import scripts.train_rewriter as trainer
    from repair.components import load_component

    data = tmp_path / "data"
    write_toy_split(data, "train", 12, random.Random(6))
    small = ["--batch", "4", "--minutes", "5", "--encoder-layers", "2", "--decoder-layers", "1"]
    first = tmp_path / "first"
    trainer.main(["train", "--data", str(data), "--out", str(first), "--runs", str(tmp_path / "r1"),
                  "--max-steps", "2", *small])
    assert not json.loads((first / "component.json").read_text()).get("hidden_span_training")
    (first / "synonyms.tsv.gz").write_bytes(gzip.compress(b"firm\tcompany\n"))
    out = tmp_path / "model"
    trainer.main(["train", "--data", str(data), "--out", str(out), "--runs", str(tmp_path / "r2"),
                  "--max-steps", "3", "--hidden-share", "1.0", "--init", str(first), *small])
    meta = json.loads((out / "component.json").read_text())
    assert meta["hidden_span_training"] and meta["training"]["init"] == str(first)
    # the started-from folder's WordNet table comes along (it is data, not weights)
    assert (out / "synonyms.tsv.gz").read_bytes() == (first / "synonyms.tsv.gz").read_bytes()

    rewriter = load_component(out, lexicon_folder=tmp_path / "no-lexicon")
    assert rewriter.reads_context
    text = "The firm grew rapidly last year."
    spans = [Span(4, 8, "firm", 0.9), Span(14, 21, "rapidly", 0.9)]
    assert all(c.context == 0.0 for d in rewriter.score_spans(text, spans) for c in d.ranked)
    from dataclasses import replace

    rewriter.decide = replace(rewriter.decide, context_weight=1.0)
    decisions = rewriter.score_spans(text, spans)
    assert all(d.ranked and any(c.context != 0.0 for c in d.ranked) for d in decisions)
    assert all(d.keep.context == 0.0 for d in decisions)


def _toy_model_on_two_dev_splits(tmp_path, seed: int):
    """A toy data folder (train, dev, dev-heldout) and a rewriter trained on it for two steps."""
    import scripts.train_rewriter as trainer

    rng = random.Random(seed)
    data = tmp_path / "data"
    for split, n in (("train", 12), ("dev", 4), ("dev-heldout", 3)):
        write_toy_split(data, split, n, rng)
    model = tmp_path / "model"
    trainer.main(["train", "--data", str(data), "--out", str(model), "--runs", str(tmp_path / "runs"),
                  "--max-steps", "2", "--batch", "4", "--minutes", "5", "--encoder-layers", "2",
                  "--decoder-layers", "1", "--hidden-share", "0.5"])
    return data, model


def test_evaluate_tunes_on_the_mean_of_several_splits(tmp_path):
    """Two splits scored together: the report has each split's figures, and the pooled gold spans
    are theirs added up; tuning runs over the context weight when the model reads context."""
    import scripts.train_rewriter as trainer

    data, model = _toy_model_on_two_dev_splits(tmp_path, seed=8)
    report = tmp_path / "report.json"
    trainer.main(["evaluate", "--data", str(data), "--model", str(model), "--lexicon", str(tmp_path / "none"),
                  "--split", "dev,dev-heldout", "--tune", "--unlisted", "0", "--report", str(report)])
    figures = json.loads(report.read_text())["rewriter"]
    by_split = figures["by_split"]
    assert set(by_split) == {"dev", "dev-heldout"}
    assert figures["gold_spans"] == by_split["dev"]["gold_spans"] + by_split["dev-heldout"]["gold_spans"] > 0
    assert "context_weight" in json.loads(report.read_text())["settings"]


def test_neighbour_candidates_offer_originals_rarer_than_the_spun_word():
    """The reverse thesaurus lists only more frequent originals; a spinner may also have put a
    common word ("big", "help") where a rarer one stood."""
    from repair.lexicon import Lexicon
    from repair.rewrite import CandidateSource

    lexicon = Lexicon.load(ROOT / "models" / "lexicon")
    for spun, left, right, original in [("big", "an", "amount", "enormous"), ("help", "financial", "for", "assistance")]:
        without = CandidateSource(lexicon, DecideConfig(neighbour_candidates=0)).candidates(spun, left, right)
        found = CandidateSource(lexicon, DecideConfig(neighbour_candidates=10)).candidates(spun, left, right)
        assert original not in without
        assert original in found and spun not in found


def test_thesaurus_neighbours_carry_their_rank_in_context():
    """Each neighbour candidate carries its standing among the neighbours in context (1 / (1 + rank)),
    which ``neighbour_weight`` adds to its score, and with ``neighbour_beats_keep`` off only among
    the candidates: keep must still be beaten by the model and the fit alone."""
    from repair.lexicon import Lexicon
    from repair.rewrite import CandidateSource

    lexicon = Lexicon.load(ROOT / "models" / "lexicon")
    ranked = [" ".join(c) for c in lexicon.neighbours_in_context(["lengthy"], "the", "run", 10)]
    source = CandidateSource(lexicon, DecideConfig(neighbour_candidates=10))
    found = source.candidates("lengthy", "the", "run")
    assert ranked[0] == "long" and "long" in found
    assert source.standing["long"] == 1.0 and source.standing.get(ranked[1], 0.5) == 0.5
    assert set(source.standing) <= source.listed
    settings = DecideConfig(keep_margin=1.0, neighbour_weight=2.0)
    span = Span(0, 7, "lengthy", 0.9)
    keep = Scored("lengthy", 0.0, -2.0, 0.0)
    candidates = (Scored("long", 0.0, -2.5, 0.0, neighbour=1.0), Scored("extended", 0.0, -2.2, 0.0))
    decision = Decision(span, keep, candidates).rescored(settings)
    assert decision.ranked[0].text == "long" and decision.ranked[0].score == -0.5
    assert consistent_choices([decision], settings)[(0, 7)].text == "long"
    assert consistent_choices([decision], replace(settings, neighbour_beats_keep=False)) == {}


def test_a_reserve_widens_the_pool_and_leaves_the_scored_candidates_as_they_were():
    """The reserve is the rest of a wider pool, in the prior's order; asking for it changes neither the
    candidates scored anyway nor their standing among the neighbours."""
    from repair.lexicon import Lexicon
    from repair.rewrite import CandidateSource

    lexicon = Lexicon.load(ROOT / "models" / "lexicon")
    narrow = CandidateSource(lexicon, DecideConfig(neighbour_candidates=10))
    wide = CandidateSource(lexicon, DecideConfig(neighbour_candidates=10, pool_candidates=100, first_piece_candidates=5))
    for spun, left, right in [("stand", "the", "below"), ("lengthy", "the", "run")]:
        chosen = narrow.candidates(spun, left, right)
        assert narrow.reserve == []
        assert wide.candidates(spun, left, right) == chosen
        assert len(wide.reserve) > len(chosen) and not set(wide.reserve) & set(chosen) and spun not in wide.reserve
        assert set(wide.reserve) <= wide.listed
        assert {t: wide.standing[t] for t in chosen if t in wide.standing} == \
            {t: narrow.standing[t] for t in chosen if t in narrow.standing}


def test_the_models_first_step_chooses_from_the_reserve():
    """Of the reserve, the texts whose first wordpiece the first decoding step finds likeliest are scored,
    none already taken; with the shipped model a span gets them scored beside its usual candidates."""
    import torch

    from repair.components import load_component
    from repair.rewrite import likeliest_first_pieces

    rewriter = load_component(SHIPPED)
    codec = rewriter.codec
    first = torch.full((len(codec.shortlist) + 2,), -30.0)
    for text, logp in [("system", -1.0), ("platform", -4.0), ("base", -2.0), ("zebra", -3.0)]:
        first[codec.classes(codec.target_pieces(text)[:1])[0]] = logp
    texts = ["platform", "system", "base", "zebra", "table"]  # "zebra" and "table" are off the shortlist: [UNK]
    assert likeliest_first_pieces(codec, first, texts, set(), 2) == ["system", "base"]
    assert likeliest_first_pieces(codec, first, texts, {"system"}, 3) == ["base", "zebra", "table"]
    text = "The results are shown in the stand below."
    start = text.index("stand")
    span = [Span(start, start + 5, "stand", 0.9)]
    [plain] = rewriter.score_spans(text, span)
    rewriter.decide = replace(rewriter.decide, pool_candidates=100, first_piece_candidates=10)
    try:
        [widened] = rewriter.score_spans(text, span)
    finally:
        rewriter.decide = replace(rewriter.decide, pool_candidates=0, first_piece_candidates=0)
    plain_texts = {c.text for c in plain.ranked}
    assert plain_texts < {c.text for c in widened.ranked}
    assert len({c.text for c in widened.ranked} - plain_texts) <= 10
    assert {c.text: c.score for c in widened.ranked if c.text in plain_texts} == \
        pytest.approx({c.text: c.score for c in plain.ranked})


def test_other_substitutes_respin_only_spun_spans_and_keep_offsets_right():
    """``--other-substitutes``: a spun span's substitute is replaced by another thesaurus neighbour
    of its original; keep spans and the text around stay as they were, and every span still
    points at its (new) text."""
    import scripts.train_rewriter as trainer
    from repair.rewrite import TrainingPair

    text = "The firm grew rapidly while its rivals shrank."
    pair = TrainingPair(text, ((4, 8), (14, 21), (32, 38)), ("company", "rapidly", "rivals"))
    assert trainer.with_other_substitutes(pair, random.Random(1), 0.0) is pair
    seen = set()
    for seed in range(10):
        new = trainer.with_other_substitutes(pair, random.Random(seed), 1.0)
        spun = [new.text[a:b] for a, b in new.spans]
        assert new.targets == pair.targets
        assert spun[1:] == ["rapidly", "rivals"]  # keep spans are never respun
        assert spun[0] not in ("firm", "company") and spun[0].isalpha()
        assert new.text.startswith("The ") and new.text.endswith(" grew rapidly while its rivals shrank.")
        seen.add(spun[0])
    assert len(seen) > 2
    # --respin-keeps: a clean word marked to be kept is spun too and becomes a word to restore
    respun = trainer.with_other_substitutes(pair, random.Random(2), 0.0, keep_share=1.0)
    words = [respun.text[a:b] for a, b in respun.spans]
    assert words[0] == "firm" and respun.targets == pair.targets
    assert words[1] != "rapidly" and words[2] != "rivals" and respun.text.endswith(" shrank.")


def test_unlisted_weight_ranks_a_listed_original_above_the_decoders_own_idea():
    """The decoder's own idea (no thesaurus lists it) outranks a listed candidate on log-prob; with
    ``unlisted_weight`` the listed one leads, and keep is judged against the lowered score."""
    span = Span(0, 7, "lengthy", 0.9)
    keep = Scored("lengthy", 0.0, -4.0, 0.0)
    own_idea = Scored("short", 0.0, -1.0, 0.0, listed=False)
    listed = Scored("long", 0.0, -2.0, 0.0)
    plain = Decision(span, keep, (own_idea, listed)).rescored(DecideConfig(keep_margin=1.0))
    assert [c.text for c in plain.ranked] == ["short", "long"]
    weighed = Decision(span, keep, (own_idea, listed)).rescored(DecideConfig(keep_margin=1.0, unlisted_weight=3.0))
    assert [c.text for c in weighed.ranked] == ["long", "short"]
    assert weighed.ranked[1].score == -4.0 and weighed.keep.score == -4.0
    assert consistent_choices([weighed], DecideConfig(keep_margin=1.0, unlisted_weight=3.0))[(0, 7)].text == "long"


def test_evaluate_counts_where_the_original_ranks_under_each_ranking_weight(tmp_path):
    """``--ranking U/N`` counts, per split and per weight pair, the gold spans whose original is among the
    candidates and those where it ranks first; the counts cover exactly the gold spans the figures score."""
    import scripts.train_rewriter as trainer

    data, model = _toy_model_on_two_dev_splits(tmp_path, seed=9)
    report = tmp_path / "report.json"
    trainer.main(["evaluate", "--data", str(data), "--model", str(model), "--lexicon", str(tmp_path / "none"),
                  "--split", "dev,dev-heldout", "--distractors", "0", "--ranking", "0/0", "50/0",
                  "--report", str(report)])
    written = json.loads(report.read_text())
    ranking, by_split = written["ranking"], written["rewriter"]["by_split"]
    assert set(ranking) == {"0/0", "50/0"}
    for pair in ranking.values():
        for split, counts in pair.items():
            assert counts["gold_spans"] == by_split[split]["gold_spans"] > 0
            assert counts["original_first"] <= counts["original_among"] <= counts["gold_spans"]
    # the weights change the order, never which candidates there are
    assert all(ranking["0/0"][s]["original_among"] == ranking["50/0"][s]["original_among"] for s in by_split)
