#!/usr/bin/env python
"""Speed and quality of a detector (the tagger, the lexicon baseline, any component folder).

    python scripts/bench_detect.py --speed                       # words/s, detection alone
    python scripts/bench_detect.py --quality --splits dev test heldout --tortured
    python scripts/bench_detect.py --detector models/lexicon --quality --splits heldout

Quality: span precision/recall/F1 (exact word-aligned spans) on the data corpus, clean words
flagged per 1,000 per domain, and -- for information only, never for tuning -- detection on
the real tortured phrases of /work/shared/eval (spun sentences plus their clean originals).
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repair.components import default_model_dir, load_component, read_component_config  # noqa: E402
from repair.detect_metrics import clean_flags_by_domain, figures, gold_from_record  # noqa: E402
from repair.edits import count_words  # noqa: E402

TORTURED = Path("/work/shared/eval/tortured-phrases.gold.jsonl")


def fail(message: str) -> None:
    print(f"bench_detect: {message}", file=sys.stderr)
    raise SystemExit(2)


def read_split(path: Path, limit: int, seed: int) -> list[dict]:
    if not path.is_file():
        fail(f"{path} not found")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return random.Random(seed).sample(records, limit) if limit and len(records) > limit else records


def detect_all(detector, texts: list[str], threshold: float):
    if hasattr(detector, "detect_many"):
        return detector.detect_many(texts, threshold)
    return [detector.detect(t, threshold) for t in texts]


def overlaps(span, a: int, b: int) -> bool:
    return span.start < b and span.end > a


def tortured(detector, threshold: float, limit: int) -> dict:
    rows = [json.loads(line) for line in TORTURED.open(encoding="utf-8")]
    if limit:
        rows = rows[:limit]
    spun = detect_all(detector, [r["spun"] for r in rows], threshold)
    clean = detect_all(detector, [r["gold"] for r in rows], threshold)
    found = hits = flagged = 0
    for row, spans in zip(rows, spun):
        edits = [(e["start"], e["end"]) for e in row["edits"]]
        found += all(any(overlaps(s, a, b) for s in spans) for a, b in edits)
        hits += sum(any(overlaps(s, a, b) for a, b in edits) for s in spans)
        flagged += len(spans)
    clean_spans = sum(len(s) for s in clean)
    clean_words = sum(count_words(r["gold"]) for r in rows)
    clean_flagged_words = sum(count_words(s.text) for spans in clean for s in spans)
    return {
        "sentences": len(rows),
        "recall": round(found / len(rows), 4),
        "precision": round(hits / (flagged + clean_spans), 4) if flagged + clean_spans else 1.0,
        "clean_sentences_flagged": sum(bool(s) for s in clean),
        "clean_flags_per_1000": round(1000 * clean_flagged_words / clean_words, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", type=Path, default=default_model_dir() / "detector")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--threshold", type=float, default=None, help="default: the component's own")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--speed-docs", type=int, default=150)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--splits", nargs="+", default=["dev", "test", "heldout"])
    parser.add_argument("--docs", type=int, default=1000, help="documents per split (0: all)")
    parser.add_argument("--tortured", action="store_true")
    parser.add_argument("--tortured-limit", type=int, default=0)
    parser.add_argument("--no-quantize", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    config = read_component_config(args.detector)
    threshold = args.threshold if args.threshold is not None else float(config.get("threshold", 0.5))
    options = {"quantize": False} if args.no_quantize and config["type"] == "tagger-detector" else {}
    started = time.time()
    detector = load_component(args.detector, **options)
    report = {"detector": str(args.detector), "type": config["type"], "threshold": threshold,
              "load_seconds": round(time.time() - started, 2)}

    if args.speed:
        source = args.data / "dev.jsonl.gz"
        texts = [r["spun"] for r in read_split(source, args.speed_docs, args.seed)] if source.is_file() else \
            [(Path(__file__).resolve().parent.parent / "seeds" / "spun-news-article.txt").read_text()] * 20
        detect_all(detector, texts[:5], threshold)  # warm-up
        words = sum(count_words(t) for t in texts)
        started, cpu_started = time.time(), time.process_time()
        detect_all(detector, texts, threshold)
        seconds, cpu_seconds = time.time() - started, time.process_time() - cpu_started
        # the machine is shared: CPU seconds / threads is what the run would take on idle cores
        report["speed"] = {"documents": len(texts), "words": words, "seconds": round(seconds, 2),
                           "words_per_second": round(words / seconds), "threads": args.threads,
                           "cpu_seconds": round(cpu_seconds, 2),
                           "words_per_second_idle_cores": round(words / (cpu_seconds / args.threads)),
                           "load_average": round(__import__("os").getloadavg()[0], 2)}
        print(json.dumps(report["speed"]), flush=True)

    if args.quality:
        for split in args.splits:
            records = read_split(args.data / f"{split}.jsonl.gz", args.docs, args.seed)
            golds = [gold_from_record(r) for r in records]
            predictions = detect_all(detector, [g.text for g in golds], threshold)
            result = figures(golds, predictions).to_dict()
            result["clean_flags_per_1000_by_domain"] = clean_flags_by_domain(golds, predictions)
            result["documents"] = len(records)
            report[split] = result
            print(split, json.dumps(result), flush=True)
    if args.tortured:
        report["tortured"] = tortured(detector, threshold, args.tortured_limit)
        print("tortured", json.dumps(report["tortured"]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
