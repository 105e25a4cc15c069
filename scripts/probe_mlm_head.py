"""Does the MiniLM encoder know which word fits a gap? Train a BERT-style masked-LM head on it, frozen.

The detector card named a masked-LM objective as the next way to give the tagger a sense of "this
word does not belong here" that does not depend on the training spinners' words. The encoder ships
without an MLM head, so this trains one (dense + GELU + LayerNorm, output tied to the frozen word
embeddings, its own bias) on the encoder's ``--layers`` bottom layers, 15% of word pieces masked, over
clean sentences of the corpus sources (State of the Union, technical and science documentation), then
prints the head's guesses for a few gaps of common terms and its running loss.

    python scripts/probe_mlm_head.py --layers 6 --minutes 8

Nothing is saved: the answer (see the detector card, stop 34) is the loss and the guesses.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROBES = (
    "The patients were taken to the nearest [MASK] by ambulance.",
    "The stock [MASK] fell sharply on Monday.",
    "The [MASK] council voted to repair the bridge.",
    "He said he would [MASK] the decision next year.",
    "She paid with her credit [MASK] at the shop.",
    "The kids ate ice [MASK] after lunch.",
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6, help="encoder layers read (1-6)")
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--batch", type=int, default=64, help="sentences per step")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from torch import nn

    from build_data import load_science, load_sotu, load_technical
    from repair.encoder import WordPieces, build_encoder

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    pieces = WordPieces.load()
    encoder = build_encoder(args.layers).eval().requires_grad_(False)
    mask_id = pieces.tokenizer.token_to_id("[MASK]")
    sentences = [s for doc in load_sotu() + load_technical() + load_science() for para in doc.paragraphs
                 for s in re.split(r"(?<=[.!?])\s+", para) if 6 <= len(s.split()) <= 40]
    rng.shuffle(sentences)
    print(f"{len(sentences):,} sentences", flush=True)

    embeddings = encoder.word.weight
    hidden = embeddings.shape[1]
    head = nn.ModuleDict({"dense": nn.Linear(hidden, hidden), "norm": nn.LayerNorm(hidden, eps=1e-12)})
    bias = nn.Parameter(torch.zeros(embeddings.shape[0]))

    def logits(states):
        return head["norm"](F.gelu(head["dense"](states))) @ embeddings.T + bias

    def batch(texts):
        ids = [[pieces.cls_id, *p[:62], pieces.sep_id] for p in pieces.pieces_many(texts)]
        width = max(map(len, ids))
        tokens = torch.full((len(ids), width), pieces.pad_id)
        for i, row in enumerate(ids):
            tokens[i, :len(row)] = torch.tensor(row)
        return tokens, (tokens != pieces.pad_id).long()

    optimiser = torch.optim.AdamW([*head.parameters(), bias], lr=2e-3)
    started, step, losses = time.time(), 0, []
    while time.time() - started < args.minutes * 60:
        at = (step * args.batch) % (len(sentences) - args.batch)
        tokens, attention = batch(sentences[at:at + args.batch])
        words = (attention == 1) & (tokens != pieces.cls_id) & (tokens != pieces.sep_id)
        chosen = words & (torch.rand(tokens.shape) < 0.15)
        inputs = tokens.masked_fill(chosen & (torch.rand(tokens.shape) < 0.8), mask_id)
        with torch.no_grad():
            states = encoder(inputs, torch.zeros_like(inputs), attention)
        loss = F.cross_entropy(logits(states[chosen]), tokens[chosen])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        step += 1
        if step % 100 == 0:
            print(f"step {step}: mean loss of the last 100 {sum(losses[-100:]) / 100:.2f} nats "
                  f"({time.time() - started:.0f} s)", flush=True)
    with torch.no_grad():
        for probe in PROBES:
            tokens, attention = batch([probe])
            states = encoder(tokens, torch.zeros_like(tokens), attention)
            where = (tokens[0] == mask_id).nonzero()[0, 0]
            guesses = [pieces.tokenizer.id_to_token(t) for t in logits(states[0, where]).topk(8).indices.tolist()]
            print(f"{probe} -> {guesses}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
