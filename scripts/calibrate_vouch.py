"""Calibrate the lexicon vouch (``repair.detect.LexiconVouch``) on dev and dev-heldout, precision first.

A word the tagger scores between ``min_spin`` and its threshold becomes a span when the lexicon
baseline, reading it in place, scores it at least ``min_score``. Each document is scored alone
with the int8 network users run; then every (min_spin, min_score) pair is tried. Admissible: on
every calibration split, clean text stays at or under the damage limit (flagged words per 1,000
clean words) overall and no domain rises above the limit or above what the tagger alone does
there. Chosen: the best mean span F0.5 over the calibration splits (dev: swaps like training's;
dev-heldout: swaps it never saw). Lowering the tagger's own threshold is shown beside it, for the
same clean damage. Reported splits (test, heldout) are scored for the chosen setting only.

    python scripts/calibrate_vouch.py --data data --docs 400 [--save]

``--save`` writes ``lexicon_vouch`` into the model's component.json (``--off`` removes it).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_detector import f05, read_docs  # noqa: E402
from repair.components import save_component_config  # noqa: E402
from repair.detect import LexiconVouch, TaggerDetector  # noqa: E402
from repair.detect_metrics import CLEAN_FLAGS_PER_1000, clean_flags_by_domain, figures, gold_from_record  # noqa: E402

MIN_SPINS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
MIN_SCORES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
LOWER_THRESHOLDS = (0.6, 0.55, 0.5, 0.45, 0.4)


class ScoredSplit:
    def __init__(self, detector: TaggerDetector, records: list[dict], threshold: float):
        self.golds = [gold_from_record(r) for r in records]
        self.threshold = threshold
        # one document per call, as the CLI scores them (int8 activations are quantised per batch)
        self.scores = [detector.word_scores_many([g.text])[0] for g in self.golds]
        self.tagger_spans = [detector.spans(g.text, s, threshold) for g, s in zip(self.golds, self.scores)]
        self.thresholds = [detector.word_threshold(s, threshold) for s in self.scores]
        self.baseline = detector.baseline
        self._candidates: dict[float, list] = {}

    def candidates(self, min_spin: float) -> list[list]:
        """Per document, (lexicon score, span) around the unsure words at ``min_spin``."""
        if min_spin not in self._candidates:
            vouch = LexiconVouch(min_spin, 0.0)
            self._candidates[min_spin] = [
                vouch.candidates(self.baseline, g.text, s, spans, t)
                for g, s, spans, t in zip(self.golds, self.scores, self.tagger_spans, self.thresholds)]
        return self._candidates[min_spin]

    def predictions(self, vouch: LexiconVouch) -> list[list]:
        return [vouch.keep(spans, found) for spans, found in zip(self.tagger_spans, self.candidates(vouch.min_spin))]

    def row(self, spans: list[list]) -> dict:
        fig = figures(self.golds, spans)
        return {"span_f0.5": round(f05(fig), 4), **fig.to_dict(),
                "clean_flags_by_domain": clean_flags_by_domain(self.golds, spans)}


def admissible(row: dict, alone: dict, limit: float) -> bool:
    if row["clean_flags_per_1000"] > limit:
        return False
    return all(v <= max(limit, alone["clean_flags_by_domain"].get(d, 0.0)) for d, v in row["clean_flags_by_domain"].items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", type=Path, default=Path("models/detector"))
    parser.add_argument("--docs", type=int, default=400, help="documents of each split")
    parser.add_argument("--calibrate-on", nargs="+", default=["dev", "dev-heldout"])
    parser.add_argument("--report", nargs="*", default=["test", "heldout"])
    parser.add_argument("--limit", type=float, default=CLEAN_FLAGS_PER_1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--off", action="store_true", help="remove lexicon_vouch from the model and stop")
    parser.add_argument("--json", type=Path, default=Path("runs/calibration-vouch.json"))
    args = parser.parse_args(argv)
    if args.off:
        save_component_config(args.model, {"lexicon_vouch": None})
        print(f"removed lexicon_vouch from {args.model / 'component.json'}")
        return 0

    detector = TaggerDetector.from_pretrained(args.model, threads=args.threads)
    detector.vouch = None  # the tagger alone; the vouch is applied below, setting by setting
    if detector.baseline is None:
        print(f"calibrate_vouch: no lexicon beside {args.model}", file=sys.stderr)
        return 2
    threshold = float(detector.config.get("threshold", 0.5))
    started = time.time()
    splits = {name: ScoredSplit(detector, read_docs(args.data / f"{name}.jsonl.gz", args.docs), threshold)
              for name in args.calibrate_on}
    print(f"scored {sum(len(s.golds) for s in splits.values())} documents in {time.time() - started:.0f} s", flush=True)

    alone = {name: split.row(split.tagger_spans) for name, split in splits.items()}
    report = {"alone": alone, "lower_threshold": {}, "grid": []}
    for name, split in splits.items():
        print(f"{name:12s} tagger alone             F0.5 {alone[name]['span_f0.5']:.3f}  P {alone[name]['span_precision']:.3f}"
              f"  R {alone[name]['span_recall']:.3f}  clean/1k {alone[name]['clean_flags_per_1000']:.2f}")
        for t in LOWER_THRESHOLDS:
            row = split.row([detector.spans(g.text, s, t) for g, s in zip(split.golds, split.scores)])
            report["lower_threshold"].setdefault(name, {})[t] = row
            print(f"{name:12s} tagger at {t:<4g}            F0.5 {row['span_f0.5']:.3f}  P {row['span_precision']:.3f}"
                  f"  R {row['span_recall']:.3f}  clean/1k {row['clean_flags_per_1000']:.2f}")

    best = None
    for min_spin, min_score in itertools.product(MIN_SPINS, MIN_SCORES):
        vouch = LexiconVouch(min_spin, min_score)
        rows = {name: split.row(split.predictions(vouch)) for name, split in splits.items()}
        ok = all(admissible(rows[n], alone[n], args.limit) for n in rows)
        mean = sum(r["span_f0.5"] for r in rows.values()) / len(rows)
        report["grid"].append({"min_spin": min_spin, "min_score": min_score, "admissible": ok, "mean_f0.5": round(mean, 4),
                               **{n: r for n, r in rows.items()}})
        print(f"spin>={min_spin:<4g} lexicon>={min_score:<4g} " + "  ".join(
            f"{n} F0.5 {r['span_f0.5']:.3f} P {r['span_precision']:.3f} R {r['span_recall']:.3f} clean {r['clean_flags_per_1000']:.2f}"
            for n, r in rows.items()) + ("" if ok else "  (over the damage limit)"), flush=True)
        if ok and (best is None or mean > best[0]):
            best = (mean, vouch)
    baseline_mean = sum(r["span_f0.5"] for r in alone.values()) / len(alone)
    if best is None or best[0] <= baseline_mean:
        print(f"no admissible setting beats the tagger alone (mean F0.5 {baseline_mean:.4f})")
        report["chosen"] = None
    else:
        print(f"chosen: min_spin {best[1].min_spin}, min_score {best[1].min_score} "
              f"(mean F0.5 {best[0]:.4f} against {baseline_mean:.4f} alone)")
        report["chosen"] = {"min_spin": best[1].min_spin, "min_score": best[1].min_score}
        for name in args.report:
            split = ScoredSplit(detector, read_docs(args.data / f"{name}.jsonl.gz", args.docs), threshold)
            rows = {"alone": split.row(split.tagger_spans), "vouched": split.row(split.predictions(best[1]))}
            report.setdefault("reported", {})[name] = rows
            for label, row in rows.items():
                print(f"{name:12s} {label:8s} F0.5 {row['span_f0.5']:.3f}  P {row['span_precision']:.3f}  "
                      f"R {row['span_recall']:.3f}  clean/1k {row['clean_flags_per_1000']:.2f}  "
                      f"worst domain {max(row['clean_flags_by_domain'].items(), key=lambda kv: kv[1], default=('-', 0))}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.save and report["chosen"]:
        save_component_config(args.model, {"lexicon_vouch": report["chosen"]})
        print(f"saved lexicon_vouch into {args.model / 'component.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
