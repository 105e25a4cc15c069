"""Fit a term vet (``TermSettings.vet``): a logistic model that admits term images by their evidence, in place of
the tagger floors.

The shipped detector scores an equal sample of every domain of each dev split, spun texts and their clean originals.
Its spans without the term stage (tagger, lexicon vouch) are kept; then term images are looked for under loose
generation settings (weaker pairs, images rarer than the written word, both words replaced, no association test)
and each image that overlaps none of those spans is one example: its evidence (``repair.terms.TERM_FEATURES``) and
whether it overlaps a word the spinner swapped (an image in a clean text never does). Each split weighs the same.
The report compares, per split and threshold, what the images admitted would flag with what the shipped term stage
flags on the same texts: gold spans found, words flagged in clean text per 1,000, precision.

    python scripts/fit_term_vet.py --splits data/dev-terms:100 data/dev-wnterms:100 data/dev:40 ... --out runs/term-vet.json

The output holds the generation settings with the model (threshold 0.5); ``calibrate_terms.py --vet FILE
--vet-thresholds ...`` then measures the whole pipeline with it at each threshold. Never run on ../shared/eval or the
test splits.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_threshold import sample_specs  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="+", required=True, help="DATA_DIR/SPLIT[:N] (N: texts per domain)")
    parser.add_argument("--per-domain", type=int, default=40)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.3, 0.4, 0.5, 0.6, 0.7])
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def _overlaps(span, spans) -> bool:
    return any(span.start < end and start < span.end for start, end in spans)


def scored_texts(detector, items):
    """(text, gold, word scores, base spans) for each spun text of ``items`` and its clean original: gold is the
    spinner's (start, end) ranges, None for a clean text; the base spans are the detector's without the term stage
    (the tagger's and the vouch's)."""
    texts, golds = [], []
    for _, pair in items:
        texts.append(pair.spun)
        golds.append([(e.start, e.end) for e in pair.edits])
        texts.append(pair.original)
        golds.append(None)  # clean
    shipped = detector.terms
    for text, gold, words in zip(texts, golds, detector.word_scores_many(texts)):
        detector.terms = None
        try:
            base = detector.spans(text, words, detector.config.get("threshold", 0.5))
        finally:
            detector.terms = shipped
        yield text, gold, words, base


def kind_of(span, gold) -> str:
    """Where ``span`` lies: "clean" (a clean text), "gold" (on a swapped word) or "other" (elsewhere in a spun text)."""
    return "clean" if gold is None else ("gold" if _overlaps(span, gold) else "other")


def examples(detector, terms, items):
    """Every loose image in ``items`` outside the spans of the tagger and the vouch, as (text, image, evidence, kind,
    words in the text) with kind "gold", "other" (elsewhere in a spun text) or "clean"; and the shipped term stage's
    counts of the same kinds on the same texts, with the words of spun and of clean texts."""
    from repair.terms import TermImages

    shipped = detector.terms
    loose = TermImages(shipped.lexicon, terms)
    found, reference = [], Counter()
    for text, gold, words, base in scored_texts(detector, items):
        clean = gold is None
        reference["clean_words" if clean else "spun_words"] += len(words)
        for span in shipped.extend(text, base, words):
            if span.source == "term":
                reference[kind_of(span, gold)] += 1
        for image in loose.images(text):
            if _overlaps(image, [(s.start, s.end) for s in base]):
                continue
            found.append((text, image, loose.features(text, image, words), kind_of(image, gold), len(words)))
    return found, reference


def admitted(found, model, threshold):
    """What the images at ``threshold`` flag, taking them in text order as ``TermImages.extend`` does."""
    counts, taken = Counter(), {}
    for text, image, row, kind, _ in found:
        if model.probability(row) < threshold:
            continue
        earlier = taken.setdefault(id(text), [])
        if _overlaps(image, earlier):
            continue
        earlier.append((image.start, image.end))
        counts[kind] += 1
    return counts


def figures(counts, words):
    flagged = counts["gold"] + counts["other"] + counts["clean"]
    return {"gold": counts["gold"], "other": counts["other"], "clean": counts["clean"],
            "clean_per_1k": round(1000 * counts["clean"] / max(words, 1), 2),
            "precision": round(counts["gold"] / flagged, 3) if flagged else None}


def main(argv=None) -> int:
    args = arguments(argv)
    from repair.components import default_model_dir, load_component
    from repair.terms import TERM_FEATURES
    from repair.vet import fit

    detector = load_component(Path(args.model_dir or default_model_dir()) / "detector")
    if detector.terms is None:
        print("fit_term_vet: the detector has no term_images settings to start from", file=sys.stderr)
        return 2
    terms = detector.terms.settings.loose()
    samples = sample_specs(args.splits, args.per_domain)
    per_split = {}
    for split, items in samples.items():
        found, reference = examples(detector, terms, items)
        per_split[split] = (found, reference)
        print(f"{split}: {len(found)} images, {sum(f[3] == 'gold' for f in found)} on swapped words; shipped stage "
              f"{dict(reference)}", flush=True)
    rows, labels, weights = [], [], []
    for found, _ in per_split.values():
        for _, _, row, kind, _ in found:
            rows.append(row)
            labels.append(kind == "gold")
            weights.append(1.0 / max(len(found), 1))
    model = fit(rows, labels, [w * len(rows) / len(per_split) for w in weights], l2=args.l2, threshold=0.5,
                names=TERM_FEATURES)
    print("weights:", {n: round(w, 3) for n, w in zip(model.names, model.weights)}, flush=True)
    report = {"settings": asdict(replace(terms, vet=model.to_config())), "splits": {}}
    for split, (found, reference) in per_split.items():
        words = reference["clean_words"]
        report["splits"][split] = {"shipped": figures(reference, words),
                                   "vet": {str(t): figures(admitted(found, model, t), words) for t in args.thresholds}}
        line = "  ".join(f"{t:g}: {f['gold']} gold / {f['clean_per_1k']} clean / P {f['precision']}"
                         for t, f in zip(args.thresholds, report["splits"][split]["vet"].values()))
        shipped = report["splits"][split]["shipped"]
        print(f"{split}: shipped {shipped['gold']} gold / {shipped['clean_per_1k']} clean / P {shipped['precision']}"
              f"  | {line}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
