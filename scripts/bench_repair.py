"""Speed and memory of the repairer: load time, words/s of `repair fix`, peak memory.

    python scripts/bench_repair.py                      # whole pipeline on a 10,000-word text
    python scripts/bench_repair.py --stage rewrite      # the rewriter alone, ~8% of words marked
    /usr/bin/time -v python scripts/bench_repair.py     # whole-process figures from the OS too

The text is the seed article repeated (an example input, used only for timing) or --input.
Prints one JSON line: load_s, seconds, words, words_per_s, spans, edits, peak_rss_mb.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample_text(path: Path, words: int) -> str:
    base = path.read_text(encoding="utf-8").strip()
    pieces, count = [], 0
    while count < words:
        pieces.append(base)
        count += len(base.split())
    text = "\n\n".join(pieces)
    # cut at a paragraph boundary near the wanted length
    cut, total = [], 0
    for paragraph in text.split("\n\n"):
        if total >= words:
            break
        cut.append(paragraph)
        total += len(paragraph.split())
    return "\n\n".join(cut)


def marked_spans(text: str, rate: float, seed: int):
    """Every word marked with probability ``rate``: a stand-in for a detector's output."""
    from repair.edits import WORD, Span

    rng = random.Random(seed)
    return [Span(m.start(), m.end(), m.group(), 0.9, "bench") for m in WORD.finditer(text)
            if len(m.group()) >= 3 and rng.random() < rate]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=ROOT / "seeds" / "spun-news-article.txt")
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--stage", choices=["fix", "rewrite"], default="fix")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--rewriter", default=None, help="rewriter folder (default: the model dir's)")
    parser.add_argument("--detector", default=None)
    parser.add_argument("--rate", type=float, default=0.08, help="share of words marked (--stage rewrite)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.input.is_file():
        print(f"bench_repair: no such input {args.input}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    import torch

    torch.set_num_threads(args.threads)
    text = sample_text(args.input, args.words)
    from repair.edits import count_words

    words = count_words(text)
    figures: dict = {"stage": args.stage, "words": words}
    if args.stage == "rewrite":
        from repair.components import default_model_dir, load_component

        folder = Path(args.rewriter) if args.rewriter else Path(args.model_dir or default_model_dir()) / "rewriter"
        rewriter = load_component(folder)
        figures["load_s"] = round(time.perf_counter() - started, 2)
        spans = marked_spans(text, args.rate, 1)
        t0 = time.perf_counter()
        edits = rewriter.rewrite(text, spans)
        seconds = time.perf_counter() - t0
        figures.update(spans=len(spans), edits=len(edits))
    else:
        from repair.repairer import Repairer

        repairer = Repairer.from_pretrained(args.model_dir, detector=args.detector, rewriter=args.rewriter)
        figures["load_s"] = round(time.perf_counter() - started, 2)
        figures["signature"] = repairer.signature
        t0 = time.perf_counter()
        result = repairer.repair(text)
        seconds = time.perf_counter() - t0
        figures.update(spans=len(result.spans), edits=len(result.edits))
    figures.update(seconds=round(seconds, 2), words_per_s=round(words / seconds, 1),
                   total_s=round(time.perf_counter() - started, 2), peak_rss_mb=round(peak_rss_mb(), 1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
