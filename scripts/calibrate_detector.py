"""Calibrate the detector's word threshold and its document gate on dev, precision first.

A spinner rewrites a whole document with one dictionary, so the tagger's scores over the whole
document say how far to trust a middling word (``repair.detect.DocumentGate``). This script
scores dev documents one at a time with the network users run (int8 on CPU), then searches the
ordinary threshold, the gate's document spin, its lowered threshold and its shrinkage prior for
the best span F0.5 among the settings that keep clean text at or under the damage limit (flagged
words per 1,000 clean words, overall and, with ``--per-domain``, in every domain), beside the best
ungated threshold. Held-out figures (test, heldout) are reported for the chosen settings only.
With several ``--calibrate-on`` splits (``dev dev-paired``: documents and single sentences) the
per-domain limit holds in every split's every domain.

    python scripts/calibrate_detector.py --data data --docs 600 [--per-domain] [--save]

``--save`` writes ``threshold`` and ``document_gate`` into the model's component.json.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import statistics
import sys
import time
from dataclasses import asdict, astuple
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repair.components import save_component_config  # noqa: E402
from repair.detect import DocumentGate, TaggerDetector, WordScore, spans_from_scores  # noqa: E402
from repair.detect_metrics import CLEAN_FLAGS_PER_1000, DetectionCounts, document_counts, gold_from_record  # noqa: E402

THRESHOLDS = [round(0.15 + 0.05 * i, 2) for i in range(17)]  # 0.15 .. 0.95
GATE_SPINS = [round(0.04 + 0.01 * i, 2) for i in range(15)]  # 0.04 .. 0.18
PRIOR_WORDS = (0.0, 50.0, 150.0)


def f05(figures) -> float:
    p, r = figures.span_precision, figures.span_recall
    return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def read_docs(path: Path, limit: int) -> list[dict]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            docs.append(json.loads(line))
            if len(docs) >= limit:
                break
    return docs


def calibration_records(data: Path, names: list[str], limit: int) -> list[dict]:
    """The calibration documents of every split in ``names``. With more than one split each record's
    domain is named after its split too (``dev-paired/speech``), so that the clean-damage limit holds
    in each split apart: a few hundred clean single sentences must not hide behind dev's documents."""
    records = []
    for name in names:
        for record in read_docs(data / f"{name}.jsonl.gz", limit):
            records.append(dict(record, domain=f"{name}/{record.get('domain', '')}") if len(names) > 1 else record)
    return records


class ScoredSplit:
    """Each document's word scores and, per threshold, what it adds to the figures."""

    def __init__(self, detector: TaggerDetector, records: list[dict], cache: Path | None = None):
        self.golds = [gold_from_record(r) for r in records]
        if cache is not None and cache.is_file():
            self.scores = [[WordScore(*w) for w in doc] for doc in json.loads(gzip.decompress(cache.read_bytes()))]
        else:
            # one document per call, as the CLI scores them (int8 activations are quantised per batch)
            self.scores = [detector.word_scores_many([g.text])[0] for g in self.golds]
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                rows = [[astuple(w) for w in doc] for doc in self.scores]
                cache.write_bytes(gzip.compress(json.dumps(rows).encode()))
        counts = [[astuple(document_counts(g, spans_from_scores(g.text, sc, t))) for t in THRESHOLDS]
                  for g, sc in zip(self.golds, self.scores)]
        self.counts = np.array(counts, dtype=np.int64)  # documents x thresholds x DetectionCounts fields
        self.spin_sums = np.array([sum(w.spin for w in sc) for sc in self.scores])
        self.word_counts = np.array([len(sc) for sc in self.scores], dtype=float)
        self.domains = np.array([g.domain if g.clean else "" for g in self.golds])
        self.rows = np.arange(len(self.golds))

    def thresholds(self, base: float, gate: DocumentGate | None) -> np.ndarray:
        """Each document's threshold index into THRESHOLDS (as DocumentGate.threshold_for decides)."""
        index = np.full(len(self.golds), THRESHOLDS.index(base))
        if gate is not None:
            index[gate.spin_of(self.spin_sums, self.word_counts) >= gate.spin] = THRESHOLDS.index(min(base, gate.threshold))
        return index

    def total(self, thresholds: np.ndarray, mask: np.ndarray | None = None) -> DetectionCounts:
        picked = self.counts[self.rows, thresholds]
        if mask is not None:
            picked = picked[mask]
        return DetectionCounts(*(int(v) for v in picked.sum(0)))

    def clean_by_domain(self, thresholds: np.ndarray) -> dict[str, float]:
        return {str(d): round(self.total(thresholds, self.domains == d).figures().clean_flags_per_1000, 2)
                for d in sorted(set(self.domains) - {""})}


def search(split: ScoredSplit, limit: float, per_domain: bool, prior_spin: float):
    """(F0.5, base, gate or None, figures) of the best admissible settings, gated and not.

    With ``per_domain``, the gate may not raise any domain's clean damage above the limit or
    above what the best ungated threshold already does there: a clean text of an odd domain
    (slang, jargon) scores high throughout, and the gate must not open on it."""
    best_plain = None
    for base in THRESHOLDS:
        thresholds = split.thresholds(base, None)
        figures = split.total(thresholds).figures()
        if figures.clean_flags_per_1000 <= limit and (best_plain is None or f05(figures) > best_plain[0]):
            best_plain = (f05(figures), base, None, figures)
    if best_plain is None:
        return None, None
    allowed = {d: max(limit, v) for d, v in split.clean_by_domain(split.thresholds(best_plain[1], None)).items()}

    def admissible(thresholds, figures) -> bool:
        if figures.clean_flags_per_1000 > limit:
            return False
        return not per_domain or all(v <= allowed[d] for d, v in split.clean_by_domain(thresholds).items())

    best_gated: dict[float, tuple] = {}  # per ordinary threshold
    for base, spin, low, prior in itertools.product(THRESHOLDS, GATE_SPINS, THRESHOLDS, PRIOR_WORDS):
        if low >= base:
            continue
        gate = DocumentGate(spin, low, prior, prior_spin)
        thresholds = split.thresholds(base, gate)
        figures = split.total(thresholds).figures()
        if admissible(thresholds, figures) and (base not in best_gated or f05(figures) > best_gated[base][0]):
            best_gated[base] = (f05(figures), base, gate, figures)
    return best_plain, best_gated


def row(name: str, split: ScoredSplit, base: float, gate: DocumentGate | None) -> dict:
    thresholds = split.thresholds(base, gate)
    figures = split.total(thresholds).figures()
    return {"split": name, "gate": asdict(gate) if gate else None, "threshold": base,
            "span_f0.5": round(f05(figures), 4), **figures.to_dict(),
            "clean_flags_by_domain": split.clean_by_domain(thresholds),
            "gate_open_share": round(float(np.mean(thresholds < THRESHOLDS.index(base))), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", type=Path, default=Path("models/detector"))
    parser.add_argument("--docs", type=int, default=600, help="documents of each calibration split")
    parser.add_argument("--calibrate-on", nargs="+", default=["dev"],
                        help="splits pooled for calibration (e.g. dev dev-sparse: whole documents and short, lightly spun ones)")
    parser.add_argument("--report-docs", type=int, default=400, help="documents of each reported split")
    parser.add_argument("--report", nargs="*", default=["test", "heldout"])
    parser.add_argument("--limit", type=float, default=CLEAN_FLAGS_PER_1000)
    parser.add_argument("--per-domain", action="store_true", help="the damage limit holds in every domain")
    parser.add_argument("--base", type=float, default=None,
                        help="keep this ordinary threshold (default: the best one found with a gate)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("runs/calibration.json"))
    args = parser.parse_args(argv)

    started = time.time()
    detector = TaggerDetector.from_pretrained(args.model, threads=args.threads)
    detector.gate = None  # calibrate from raw scores
    # the scores depend on the weights alone, not on the threshold settings saved beside them
    fingerprint = hashlib.sha256((args.model / "model.safetensors").read_bytes()).hexdigest()[:8]
    cache = args.out.parent / "calibration-cache"
    dev = ScoredSplit(detector, calibration_records(args.data, args.calibrate_on, args.docs),
                      cache / f"{'+'.join(args.calibrate_on)}-{args.docs}-{fingerprint}.json.gz")
    clean_spins = [sum(w.spin for w in s) / max(len(s), 1) for s, g in zip(dev.scores, dev.golds) if g.clean]
    prior_spin = round(statistics.median(clean_spins), 4)
    print(f"{'+'.join(args.calibrate_on)}: {len(dev.golds)} documents scored in {time.time() - started:.0f}s; "
          f"median clean document spin {prior_spin}", flush=True)

    plain, gated_by_base = search(dev, args.limit, args.per_domain, prior_spin)
    if plain is None or not gated_by_base:
        print("calibrate_detector: no setting keeps clean text under the limit", file=sys.stderr)
        return 1
    for base, (score, _, gate, figures) in sorted(gated_by_base.items()):
        print(f"  ordinary threshold {base:.2f}: best gate {gate.signature} (prior {gate.prior_words:g} words) "
              f"span F0.5 {score:.3f} P {figures.span_precision:.3f} R {figures.span_recall:.3f} "
              f"clean/1k {figures.clean_flags_per_1000:.2f}")
    if args.base is not None:
        if args.base not in gated_by_base:
            print(f"calibrate_detector: no admissible gate with ordinary threshold {args.base}", file=sys.stderr)
            return 1
        gated = gated_by_base[args.base]
    else:
        gated = max(gated_by_base.values(), key=lambda g: g[0])
    chosen = gated if gated[0] > plain[0] else plain
    pool = "+".join(args.calibrate_on)
    report = {"limit": args.limit, "per_domain": args.per_domain, "dev_docs": len(dev.golds),
              "calibrated_on": args.calibrate_on,
              "rows": [row(f"{pool} (ungated)", dev, plain[1], None), row(f"{pool} (gated)", dev, gated[1], gated[2])]}
    for name in args.report:
        path = args.data / f"{name}.jsonl.gz"
        if not path.is_file():
            continue
        split = ScoredSplit(detector, read_docs(path, args.report_docs),
                            cache / f"{name}-{args.report_docs}-{fingerprint}.json.gz")
        report["rows"] += [row(f"{name} (ungated)", split, plain[1], None),
                           row(f"{name} (gated)", split, gated[1], gated[2])]
    report["chosen"] = {"threshold": chosen[1], "document_gate": asdict(chosen[2]) if chosen[2] else None}
    report["seconds"] = round(time.time() - started, 1)
    for r in report["rows"]:
        print(f"{r['split']:<20} thr {r['threshold']:.2f} gate {r['gate'] and DocumentGate(**r['gate']).signature}"
              f"  span P {r['span_precision']:.3f} R {r['span_recall']:.3f} F0.5 {r['span_f0.5']:.3f}"
              f"  word P {r['word_precision']:.3f} R {r['word_recall']:.3f}"
              f"  clean/1k {r['clean_flags_per_1000']:.2f} {r['clean_flags_by_domain']}  open {r['gate_open_share']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.save:
        save_component_config(args.model, {"threshold": chosen[1], "document_gate": report["chosen"]["document_gate"]})
        print(f"saved threshold {chosen[1]} and document_gate into {args.model / 'component.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
