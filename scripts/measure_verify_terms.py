"""How well the causal LM tells a mangled term from a plain word: every loose term image on dev samples, with its gain.

The shipped detector scores each sampled text (spun texts and their clean originals); term images are looked for under
``TermSettings.loose`` outside the spans of the tagger and the lexicon vouch (``fit_term_vet.scored_texts``), and the LM reads
each one's sentence (10 words either side) as written and with the image in place, as ``--verify terms`` does. Printed per
split and minimum gain: the images the shipped floors admit, and those the floors plus the LM's would, as images on a
swapped word (g), elsewhere in a spun text (o) and in clean text (c, and per 1,000 clean words), in texts of up to
``--max-words`` words. This is the term stage alone, before the rewriter; ``calibrate_verify_terms.py`` measures the
whole pipeline.

    python scripts/measure_verify_terms.py --splits data/dev-paper-terms:100 data/dev-terms:100 ... --gains 6 8 10 12 15

Never run on ../shared/eval or the test splits.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_threshold import sample_specs  # noqa: E402
from fit_term_vet import kind_of, scored_texts  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="+", required=True, help="DATA_DIR/SPLIT[:N[+SKIP]] (N: texts per domain)")
    parser.add_argument("--per-domain", type=int, default=40)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--gains", nargs="+", type=float, default=[6.0, 8.0, 10.0, 12.0, 15.0])
    parser.add_argument("--max-words", type=int, default=80)
    return parser.parse_args(argv)


def counted(rows, rule) -> Counter:
    """Images ``rule`` admits, taken in text order without overlaps as ``TermImages.extend`` takes them, by kind."""
    counts, taken = Counter(), defaultdict(list)
    for row in rows:
        if not rule(row):
            continue
        earlier = taken[row["text"]]
        if any(row["start"] < end and start < row["end"] for start, end in earlier):
            continue
        earlier.append((row["start"], row["end"]))
        counts[row["kind"]] += 1
    return counts


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, load_component
    from repair.edits import overlaps_any
    from repair.rerank import load_reranker
    from repair.verify import LMVerifiedDetector, VerifySettings

    detector = load_component(Path(args.model_dir or default_model_dir()) / "detector")
    verifier = LMVerifiedDetector(detector, load_reranker("lm"), VerifySettings(read_unsure=False))
    shipped = detector.terms
    for split, items in sample_specs(args.splits, args.per_domain).items():
        rows, words_in_clean = [], 0
        for text, gold, words, base in scored_texts(detector, items):
            words_in_clean += len(words) if gold is None else 0
            floors = [s for s in shipped.extend(text, base, words) if s.source == "term"]
            for image, gain in verifier.term_gains(text, base):
                rows.append({"text": text, "start": image.start, "end": image.end, "gain": gain, "words": len(words),
                             "kind": kind_of(image, gold), "floors": overlaps_any(image, floors)})
        clean_words = max(words_in_clean, 1)

        def line(counts):
            flagged = counts["gold"] + counts["other"] + counts["clean"]
            return (f"{counts['gold']}g {counts['other']}o {counts['clean']}c "
                    f"({1000 * counts['clean'] / clean_words:.2f}) P {counts['gold'] / flagged if flagged else 0:.2f}")

        short = [r for r in rows if r["words"] <= args.max_words]
        print(f"{split}: {len(rows)} images ({len(short)} in texts of up to {args.max_words} words); "
              f"floors {line(counted(rows, lambda r: r['floors']))}", flush=True)
        for gain in args.gains:
            print(f"  floors + LM >= {gain:g}: "
                  f"{line(counted(rows, lambda r, g=gain: r['floors'] or (r['gain'] >= g and r['words'] <= args.max_words)))}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
