"""Vetting: how likely a rewrite is to restore what the spinner replaced, from the evidence behind it.

The rewriter's plain rule changes a span when its best candidate beats "keep" by one fixed margin. That
margin cannot fit every kind of span at once: in a document the tagger calls spun throughout, a candidate
that wins by a little is usually the original, while a span the tagger was unsure of (a term image, a
vouched word) in a clean-looking sentence needs a clearer win. A logistic model over the evidence each
decision already holds (the margin and its parts, the runner-up's gap, where the candidate came from,
how sure the detector was, how often the same text recurs) gives each rewrite a probability of being
right; a rewrite is made when that reaches the threshold. ``scripts/calibrate_vet.py`` fits the model
and chooses the threshold on dev splits, and writes both into the rewriter's ``decide.vet``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from .edits import UNSURE_SOURCE

# the detector stages a span can come from (``Span.source``); any other counts as none of them
SOURCES = ("tagger", "tagger+lexicon", "term", UNSURE_SOURCE)
CLIP = 30.0  # margins and log-prob gains beyond this say nothing more
GAP_CAP = 10.0  # the runner-up's gap when there is no runner-up
FEATURES = (
    "margin", "sqrt_margin", "model_gain", "fit_gain", "gap", "listed", "term_image", "neighbour", "spin_logit",
    *(f"source_{s}" for s in SOURCES), "several_words", "log_repeats",
    "margin_if_term", "margin_if_not_tagger", "margin_x_spin_logit", "gap_if_not_tagger", "margin_if_unsure",
)


def _clip(value: float, bound: float) -> float:
    return max(-bound, min(bound, value))


def features(candidate) -> list[float]:
    """The evidence for a ``repair.rewrite.CandidatePick`` (a decision, the candidate it would write, that
    candidate's lead over keeping the span, how often the same spun text recurs), in ``FEATURES`` order."""
    decision, pick = candidate.decision, candidate.pick
    keep = decision.keep
    others = [c for c in decision.ranked if c is not pick]
    margin = _clip(candidate.lead, CLIP)
    gap = min(pick.score - others[0].score, GAP_CAP) if others else GAP_CAP
    spin = min(max(decision.span.score, 1e-4), 1 - 1e-4)
    spin_logit = math.log(spin / (1 - spin))
    source = decision.span.source or "tagger"
    not_tagger = float(source != "tagger")
    return [
        margin, math.sqrt(max(margin, 0.0)), _clip(pick.model_logp - keep.model_logp, CLIP),
        _clip(pick.fit - keep.fit, 10.0), gap, float(pick.listed), float(pick.term_image), pick.neighbour, spin_logit,
        *(float(source == s) for s in SOURCES), float(len(keep.text.split()) > 1), math.log(max(candidate.repeats, 1)),
        margin * float(source == "term"), margin * not_tagger, margin * spin_logit, gap * not_tagger,
        margin * float(source == UNSURE_SOURCE),
    ]


@dataclass(frozen=True)
class Vetting:
    """A fitted logistic model over ``names`` (a subset of ``FEATURES``, standardised by ``means`` and
    ``scales``) and the probability a rewrite needs. A model fitted before a feature was added names the
    ones it knows and keeps working."""

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float
    names: tuple[str, ...] = FEATURES
    # every feature this version computes, in the order its rows hold them (another stage's model, such as the term
    # images' (``repair.terms.TERM_FEATURES``), has a vocabulary of its own)
    vocabulary: tuple[str, ...] = FEATURES

    @classmethod
    def from_config(cls, config: dict | None, vocabulary: tuple[str, ...] = FEATURES,
                    where: str = "decide.vet") -> "Vetting | None":
        if not config:
            return None
        names = tuple(config["features"])
        unknown = [n for n in names if n not in vocabulary]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"{where} was fitted on features {list(names)}; this version reads {list(vocabulary)}")
        if not len(names) == len(config["weights"]) == len(config["means"]) == len(config["scales"]):
            raise ValueError(f"{where} names a different number of features than it has weights")
        return cls(tuple(config["weights"]), float(config["bias"]), tuple(config["means"]), tuple(config["scales"]),
                   float(config["threshold"]), names, vocabulary)

    def to_config(self) -> dict:
        return {"features": list(self.names), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6), "means": [round(m, 6) for m in self.means],
                "scales": [round(s, 6) for s in self.scales], "threshold": self.threshold}

    @cached_property
    def _columns(self) -> tuple[int, ...]:
        return tuple(self.vocabulary.index(name) for name in self.names)

    def probability(self, values: Sequence[float]) -> float:
        """``values`` in ``vocabulary`` order (``features(candidate)`` for the rewriter's)."""
        z = self.bias + sum(w * (values[c] - m) / s
                            for w, c, m, s in zip(self.weights, self._columns, self.means, self.scales))
        return 1.0 / (1.0 + math.exp(-_clip(z, 50.0)))

    def accepts(self, candidate) -> bool:
        return self.probability(features(candidate)) >= self.threshold


def fit(rows: Sequence[Sequence[float]], labels: Sequence[bool], sample_weights: Sequence[float] | None = None,
        l2: float = 1.0, threshold: float = 0.5, iterations: int = 50, names: tuple[str, ...] = FEATURES) -> Vetting:
    """Weighted, L2-regularised logistic regression by Newton's method (numpy: a fitting script's tool,
    not the package's run-time path); ``rows`` hold ``names`` in that order."""
    import numpy as np

    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    weights = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=float)
    means, scales = x.mean(0), x.std(0)
    scales[scales < 1e-9] = 1.0
    z = np.c_[(x - means) / scales, np.ones(len(y))]
    penalty = l2 * np.diag(np.r_[np.ones(z.shape[1] - 1), 0.0])  # the bias is not shrunk
    w = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
        gradient = z.T @ (weights * (p - y)) + penalty @ w
        hessian = (z * (weights * p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Vetting(tuple(float(v) for v in w[:-1]), float(w[-1]), tuple(float(v) for v in means),
                   tuple(float(v) for v in scales), threshold, tuple(names), tuple(names))
