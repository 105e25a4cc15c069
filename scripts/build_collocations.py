"""Distil the causal LM's word-to-word collocations into a small table for the lexicon.

For each of the most frequent words ``w1`` of the lexicon, SmolLM2-135M reads ``" w1"`` after a
document separator (no other context) and its next-token distribution gives P(w2 | w1) for every
word ``w2`` that is one token with a leading space ("deep" -> "learning"); both words are content
words (zipf below ``--max-zipf``). The pairs at or above
``--min-p`` (at most ``--per-word`` per word) are written to ``collocations.tsv.gz``:

    w1 \t w2 \t log10 p \t w2 \t log10 p ...

The Google bigrams in ``bigrams.tsv.gz`` stop at 2006 web text and at 100,000 occurrences, so
technical and recent terms ("random forest", "gradient descent") are missing there; the LM knows
them. Only a word's first token is read, so a word that the tokenizer splits is never a ``w2``,
and P(w2) includes the rare continuations that would make a longer word of it ("learn" + "ed").

    python scripts/build_collocations.py --lexicon models/lexicon --words 40000

With ``--prefix`` the LM reads a text before ``" w1"`` ("In this paper, we study"), so the table holds what
follows ``w1`` in that register (``--out .../paper_collocations.tsv.gz``; lexicon card, stop 40).

Deterministic for a given LM file (sorted, gzip mtime 0); 2-core CPU time is in the lexicon card.
"""
from __future__ import annotations

import argparse
import gzip
import math
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repair.rerank import CausalLMScorer  # noqa: E402

WORD = re.compile(r"[a-z]+")


def frequent_words(lexicon: Path, limit: int, max_zipf: float) -> list[str]:
    """The ``limit`` most frequent plain lowercase words below ``max_zipf``."""
    rows = []
    with gzip.open(lexicon / "words.tsv.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            term, zipf, *_ = line.rstrip("\n").split("\t")
            if WORD.fullmatch(term) and float(zipf) < max_zipf:
                rows.append((-float(zipf), term))
    return [term for _, term in sorted(rows)[:limit]]


def word_tokens(tokenizer, vocabulary: set[str]) -> dict[int, str]:
    """Token id -> the lexicon word it spells with a leading space."""
    found = {}
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if text.startswith(" ") and text[1:] in vocabulary:
            found[token_id] = text[1:]
    return found


def next_word_logp(model, ids: list[list[int]], target_ids):
    """ln P(next token) over ``target_ids`` after each row of ``ids`` (one batch)."""
    import torch

    width = max(map(len, ids))
    # left-padded, so the last position is every row's last word piece
    padded = torch.tensor([[0] * (width - len(r)) + r for r in ids])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in ids])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        logits = model(input_ids=padded, attention_mask=mask, position_ids=positions).logits[:, -1].float()
    return logits.log_softmax(-1)[:, target_ids]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--out", type=Path, default=None, help="default: LEXICON/collocations.tsv.gz")
    parser.add_argument("--words", type=int, default=40000, help="how many of the most frequent words are read as w1")
    parser.add_argument("--min-p", type=float, default=0.005)
    # function words ("the", "is", "of": zipf 6 and over) are left to the Google bigrams, which
    # count them well; the context-free LM would rate "change is" or "list of" far too surely
    parser.add_argument("--max-zipf", type=float, default=6.0)
    parser.add_argument("--per-word", type=int, default=40)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="read only the first N words (a trial)")
    parser.add_argument("--prefix", action="append", default=[],
                        help="text the LM reads before \" w1\" (repeat for several; P is their mean): "
                             "a paper's register instead of none")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    started = time.time()
    lm = CausalLMScorer.load()
    tokenizer, model = lm.tokenizer, lm.model
    words = frequent_words(args.lexicon, args.words, args.max_zipf)
    vocabulary = set(frequent_words(args.lexicon, 10 ** 9, args.max_zipf))
    targets = word_tokens(tokenizer, vocabulary)
    target_ids = torch.tensor(sorted(targets))
    target_words = [targets[i] for i in target_ids.tolist()]
    print(f"{len(words)} words read, {len(targets)} one-token words as w2", file=sys.stderr)
    if args.limit:
        words = words[:args.limit]

    rows: dict[str, list[tuple[str, float]]] = {}
    by_length = sorted(words, key=lambda w: (len(lm._ids(" " + w)), w))
    floor = math.log(args.min_p)
    prefixes = [lm._ids(prefix) for prefix in args.prefix] or [[]]
    for i in range(0, len(by_length), args.batch):
        chunk = by_length[i:i + args.batch]
        logp = torch.stack([next_word_logp(model, [[lm.start_id] + prefix + lm._ids(" " + w) for w in chunk], target_ids)
                            for prefix in prefixes]).logsumexp(0) - math.log(len(prefixes))
        top = logp.topk(args.per_word, dim=-1)
        for word, values, indices in zip(chunk, top.values.tolist(), top.indices.tolist()):
            kept = [(target_words[j], v / math.log(10)) for v, j in zip(values, indices) if v >= floor and target_words[j] != word]
            if kept:
                rows[word] = kept
        if (i // args.batch) % 20 == 0:
            print(f"{i + len(chunk)}/{len(by_length)} words, {time.time() - started:.0f} s", file=sys.stderr)

    out = args.out or args.lexicon / "collocations.tsv.gz"
    pairs = 0
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        for word in sorted(rows):
            fields = "\t".join(f"{w2}\t{p:.2f}" for w2, p in rows[word])
            handle.write(f"{word}\t{fields}\n".encode("utf-8"))
            pairs += len(rows[word])
    print(f"wrote {out}: {len(rows)} words, {pairs} pairs, {time.time() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
