#!/usr/bin/env python
"""Train the spun-word tagger (models/detector) on the data corpus, within a time budget.

    nohup nice python scripts/train_detector.py --data /work/data --minutes 45 --threads 2 &

Batches are whole documents (all their windows), so the document-level pass sees every
word of each document. The run checkpoints to --runs every few minutes and resumes from
there when started again with the same --runs folder. When the budget is spent it scores
dev with every head (the ablations), calibrates the threshold on dev so that clean text
gets at most 2 flagged words per 1,000, and saves the trained parts to --out.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repair.detect import (  # noqa: E402
    DEFAULT_CONFIG,
    WEIGHTS_FILE,
    TaggerDetector,
    _quantized,
    spans_from_scores,
    trainable_prefixes,
    word_labels,
)
from repair.encoder import rename_bert_weights  # noqa: E402
from repair.spinner import SPARSE_KEEP_RATE, SPARSE_SENTENCES, respin_record, thin_record  # noqa: E402
from repair.detect_metrics import calibrate, clean_flags_by_domain, figures, gold_from_record  # noqa: E402

HEADS = ("document", "first", "local_features", "encoder_only", "features_only")
HEAD_NOTES = {
    "document": "encoder + lexical features + pass-1 document statistics (shipped)",
    "first": "encoder + lexical features (no pass-1 document statistics)",
    "local_features": "encoder + word-local lexical features only (no document-level features at all)",
    "encoder_only": "encoder alone (linear probe)",
    "features_only": "lexical + document features, no encoder",
}
LOSS_WEIGHTS = {"document": 1.0, "first": 0.5, "local_features": 0.5, "encoder_only": 0.5, "features_only": 0.5}


def fail(message: str) -> None:
    print(f"train_detector: {message}", file=sys.stderr)
    raise SystemExit(2)


def read_split(data: Path, split: str, limit: int | None = None, seed: int = 0) -> list[dict]:
    path = data / f"{split}.jsonl.gz"
    if not path.is_file():
        fail(f"{path} not found")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if limit and len(records) > limit:
        records = random.Random(seed).sample(records, limit)
    return records


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("models/detector"))
    parser.add_argument("--runs", type=Path, default=Path("runs/detector"))
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--minutes", type=float, default=45.0, help="training time budget (evaluation comes on top)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, default=2048, help="word pieces per batch (whole documents)")
    parser.add_argument("--lr", type=float, default=2e-4, help="learning rate of the fine-tuned encoder layers")
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--encoder-layers", type=int, default=DEFAULT_CONFIG["encoder_layers"])
    parser.add_argument("--trainable-layers", type=int, default=DEFAULT_CONFIG["trainable_layers"])
    parser.add_argument("--scratch", type=int, nargs=3, metavar=("HIDDEN", "HEADS", "FFN"), default=None,
                        help="train an encoder of this shape from scratch (--encoder-layers layers, all trained) "
                             "instead of fine-tuning MiniLM")
    parser.add_argument("--drop-features", nargs="*", default=[], metavar="NAME",
                        help="lexical features (repair.detect_features.FEATURE_NAMES) the model does not read, for ablations")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_CONFIG["max_tokens"])
    parser.add_argument("--dev-docs", type=int, default=600, help="dev documents for ablations and calibration")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget only)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in --runs")
    parser.add_argument("--sparse-share", type=float, default=0.0,
                        help="share of training documents replaced by a sparsely spun variant (1-3 sentences "
                             "or the whole text, 5-30%% of its swaps kept; repair.spinner.thin_record)")
    parser.add_argument("--mask-words", type=float, default=0.0,
                        help="share of words whose pieces the encoder sees as [MASK] in training (their features "
                             "stay): it must judge a word by its context and the thesaurus, not by its identity")
    parser.add_argument("--respin", type=float, default=0.0, metavar="SHARE",
                        help="share of one-word swaps given another thesaurus neighbour of their original, as some "
                             "other tool would write it (repair.spinner.respin_record): the tagger meets substitutes "
                             "no training tool's dictionary holds")
    parser.add_argument("--respin-clean", type=float, default=0.0, metavar="SHARE",
                        help="share of clean words swapped the same way, so that originals no training tool swaps "
                             "are spun too")
    parser.add_argument("--mix", action="append", default=[], metavar="SPLIT:SHARE",
                        help="draw this share of training records from another split in --data instead of train "
                             "(e.g. train-terms:0.5, single sentences from build_data.py --train-term-sentences); "
                             "repeatable")
    parser.add_argument("--train-only", action="append", default=[], metavar="PREFIX",
                        help="train only the parameters whose names start with PREFIX (e.g. head_document: the "
                             "second pass that reads the document's statistics), the rest stays as --init left it; "
                             "repeatable")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from the trained weights in this model folder (when --runs holds no checkpoint)")
    return parser.parse_args(argv)


def file_id(data: Path, split: str) -> str:
    """Which build of a split's file a run read: its path and size (checkpoints and the card keep it)."""
    path = (data / f"{split}.jsonl.gz").resolve()
    return f"{path}:{path.stat().st_size}"


def parse_mixes(args) -> tuple[list[tuple[float, list[dict]]], list[str]]:
    """``--mix SPLIT:SHARE`` as (share, records), checked before training starts, and each mixed
    file's ``file_id`` with its share, for the record of the run."""
    mixes, ids = [], []
    for item in args.mix:
        name, _, share = item.rpartition(":")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not name or not 0.0 < value < 1.0:
            fail(f"--mix wants SPLIT:SHARE with 0 < SHARE < 1 (got {item!r})")
        mixes.append((value, read_split(args.data, name)))
        ids.append(f"{file_id(args.data, name)}@{share}")
    if sum(share for share, _ in mixes) >= 1.0:
        fail("--mix shares must add up to less than 1 (train supplies the rest)")
    return mixes, ids


def mixed_record(mixes: list[tuple[float, list[dict]]], rng: random.Random) -> dict | None:
    """A record drawn from one of the ``--mix`` splits, or None when train's turn comes."""
    if not mixes:
        return None  # no draw: runs without --mix keep the random stream of the runs in the card
    draw = rng.random()
    for share, records in mixes:
        if draw < share:
            return records[rng.randrange(len(records))]
        draw -= share
    return None


def relayout_heads(state: dict, network, old_names: list[str], new_names: list[str]) -> dict:
    """The heads' first layers of a model trained on ``old_names`` features, laid out for
    ``new_names`` (features added to FEATURE_NAMES since, or dropped for an ablation): a feature
    the old model never had starts with zero weights, so an added one changes nothing at first."""
    from repair.detect import DOC_FEATURE_NAMES, DOCUMENT_LEXICAL_FEATURES

    if list(old_names) == list(new_names):
        return state
    hidden = [f"hidden{i}" for i in range(network.encoder.hidden_size)]
    doc = list(DOC_FEATURE_NAMES)

    def local(names):
        return [n for n in names if n not in DOCUMENT_LEXICAL_FEATURES]

    layouts = {"head_first.0.weight": lambda n: hidden + n, "head_document.0.weight": lambda n: hidden + n + doc,
               "probe_local.0.weight": lambda n: hidden + local(n), "probe_features.0.weight": lambda n: n + doc}
    laid_out = dict(state)
    current = network.state_dict()
    for key, layout in layouts.items():
        if key not in state:
            continue
        old_columns = {name: i for i, name in enumerate(layout(list(old_names)))}
        new = current[key].new_zeros(current[key].shape).to(state[key].dtype)
        for j, name in enumerate(layout(list(new_names))):
            if name in old_columns:
                new[:, j] = state[key][:, old_columns[name]]
        laid_out[key] = new
    return laid_out


def mask_words(encoded, mask_id: int, share: float, rng: random.Random):
    """``encoded`` with a ``share`` of its words read as one [MASK] piece (labels and features kept)."""
    from dataclasses import replace

    pieces = tuple((mask_id,) if unit.is_word and rng.random() < share else p
                   for unit, p in zip(encoded.units.units, encoded.pieces))
    return replace(encoded, pieces=pieces)


def lr_factor(step: int, fraction: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay over the *time* budget (so resuming keeps the schedule)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


def main(argv=None) -> int:
    args = arguments(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda but no GPU is visible")
    config = {"encoder_layers": args.encoder_layers, "trainable_layers": args.trainable_layers,
              "max_tokens": args.max_tokens}
    if args.drop_features:
        from repair.detect_features import FEATURE_NAMES

        unknown = sorted(set(args.drop_features) - set(FEATURE_NAMES))
        if unknown:
            fail(f"unknown feature(s) {', '.join(unknown)} (choose from {', '.join(FEATURE_NAMES)})")
        config["features"] = [n for n in FEATURE_NAMES if n not in args.drop_features]
    if args.scratch:
        config.update(pretrained=False, hidden=args.scratch[0], heads=args.scratch[1], ffn=args.scratch[2],
                      trainable_layers=args.encoder_layers)
    detector = TaggerDetector.fresh(config, lexicon_folder=args.lexicon, device=args.device)
    if detector.features.is_frequency_only:
        print("warning: no lexicon found; reverse-thesaurus features are zero", file=sys.stderr, flush=True)
    network = detector.network
    if args.train_only:
        prefixes = tuple(args.train_only)
        if not any(n.startswith(prefixes) for n, _ in network.named_parameters()):
            fail(f"--train-only {' '.join(prefixes)} names no parameter of the network")
        for name, parameter in network.named_parameters():
            if not name.startswith(prefixes):
                parameter.requires_grad_(False)
    encoder_params = [p for n, p in network.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    head_params = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW([{"params": encoder_params, "lr": args.lr},
                                   {"params": head_params, "lr": args.head_lr}], weight_decay=0.01)
    base_lrs = [args.lr, args.head_lr]

    train = read_split(args.data, "train")
    mixes, mix_ids = parse_mixes(args)
    order = list(range(len(train)))
    random.Random(args.seed).shuffle(order)
    args.runs.mkdir(parents=True, exist_ok=True)
    checkpoint_path = args.runs / "checkpoint.pt"
    step, position, elapsed, epoch = 0, 0, 0.0, 0
    data_id = file_id(args.data, "train")
    history: list[dict] = []  # one entry per run segment, for the model card
    if checkpoint_path.is_file() and not args.fresh:
        saved = torch.load(checkpoint_path, map_location=args.device, weights_only=False)
        network.load_state_dict(rename_bert_weights(saved["trainable"]), strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        step, position, elapsed, epoch = saved["step"], saved["position"], saved["elapsed"], saved["epoch"]
        history = saved.get("history", [])
        if saved.get("data_id") != data_id:
            # resumed on another corpus (e.g. a pilot build first): start its documents from the top
            print(f"data changed ({saved.get('data_id')} -> {data_id}): new pass over it", flush=True)
            position, epoch = 0, 0
        elif epoch:
            random.Random(args.seed + epoch).shuffle(order)
        print(f"resumed at step {step} ({elapsed / 60:.1f} min done)", flush=True)
    elif args.init is not None:
        from safetensors.torch import load_file

        shipped = rename_bert_weights(load_file(str(args.init / WEIGHTS_FILE)))
        old_names = json.loads((args.init / "component.json").read_text(encoding="utf-8"))["features"]
        shipped = relayout_heads(shipped, network, old_names, detector.config["features"])
        network.load_state_dict({k: v.float() for k, v in shipped.items()}, strict=False)
        print(f"starting from the trained weights in {args.init} ({len(shipped)} tensors)", flush=True)

    def save_checkpoint():
        trainable = {k: v for k, v in network.state_dict().items() if k.startswith(trainable_prefixes(detector.config))}
        temporary = checkpoint_path.with_suffix(".tmp")
        torch.save({"trainable": trainable, "optimizer": optimizer.state_dict(), "step": step,
                    "position": position, "elapsed": elapsed, "epoch": epoch, "args": vars(args),
                    "data_id": data_id, "history": history + [segment()]}, temporary)
        os.replace(temporary, checkpoint_path)

    segment_start = {"step": step, "elapsed": elapsed}

    def segment() -> dict:
        return {"data": data_id, "mix": mix_ids, "command": " ".join(sys.argv if argv is None else ["train_detector.py", *argv]),
                "steps": step - segment_start["step"], "minutes": round((elapsed - segment_start["elapsed"]) / 60, 1),
                "documents": position if epoch == 0 else epoch * len(train) + position}

    budget = args.minutes * 60
    network.train()
    started = time.time() - elapsed
    last_checkpoint = time.time()
    running, seen_words, log_started = {h: 0.0 for h in HEADS}, 0, time.time()
    ce = torch.nn.CrossEntropyLoss()
    # one stream for every training-time variation of a document (sparse variants, masked words)
    augment_rng = random.Random(f"{args.seed}|sparse|{step}")  # the seed string of the runs in the card
    mask_id = detector.vocabulary.tokenizer.token_to_id("[MASK]")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))  # finish the step, checkpoint, leave
    while elapsed < budget and (not args.max_steps or step < args.max_steps) and not stop:
        documents, size = [], 0
        while size < args.batch_tokens:
            if position >= len(order):
                epoch += 1
                position = 0
                random.Random(args.seed + epoch).shuffle(order)
            record = mixed_record(mixes, augment_rng)
            if record is None:
                record = train[order[position]]
                position += 1
            if args.respin or args.respin_clean:
                record = respin_record(record, augment_rng, args.respin, args.respin_clean)
            if args.sparse_share and augment_rng.random() < args.sparse_share:
                record = thin_record(record, augment_rng, augment_rng.uniform(*SPARSE_KEEP_RATE),
                                     augment_rng.choice(SPARSE_SENTENCES + (None,)))
            encoded = detector.encode(record["spun"], lambda units, r=record: word_labels(units, r["edits"]))
            if args.mask_words:
                encoded = mask_words(encoded, mask_id, args.mask_words, augment_rng)
            if not encoded.windows:
                continue
            documents.append(encoded)
            size += sum(len(p) + 0 for p in encoded.pieces) + 2 * len(encoded.windows)
        batch = detector.batch(documents)
        outputs = network(batch, probes=True)
        mask = batch["first_piece"]
        gold = batch["word_labels"][batch["token_word"][mask]]
        losses = {h: ce(outputs[h][mask].float(), gold) for h in HEADS}
        loss = sum(LOSS_WEIGHTS[h] * losses[h] for h in HEADS)
        factor = lr_factor(step, elapsed / budget, args.warmup_steps)
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * factor
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in network.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        step += 1
        seen_words += int(mask.sum())
        for h in HEADS:
            running[h] += float(losses[h].detach())
        elapsed = time.time() - started
        if step % 20 == 0:
            rate = seen_words / (time.time() - log_started)
            print(f"step {step} epoch {epoch} docs {position} {elapsed / 60:.1f} min {rate:.0f} words/s loss "
                  + " ".join(f"{h}={running[h] / 20:.4f}" for h in HEADS), flush=True)
            running, seen_words, log_started = {h: 0.0 for h in HEADS}, 0, time.time()
        if time.time() - last_checkpoint > args.checkpoint_minutes * 60:
            save_checkpoint()
            last_checkpoint = time.time()
    save_checkpoint()
    if stop:
        print(f"stopped at step {step} ({elapsed / 60:.1f} min); run again to resume", flush=True)
        return 3
    training_minutes = elapsed / 60
    print(f"training done: {step} steps, {training_minutes:.1f} min, epoch {epoch}, position {position}", flush=True)

    network.eval()
    detector.save_pretrained(args.out, lexicon_features=not detector.features.is_frequency_only)
    # calibrate the network as it runs for users (int8 encoder on CPU); the ablation probes stay on
    if detector.config.get("quantize") and args.device == "cpu":
        detector.network = _quantized(network)
    report = evaluate_and_calibrate(detector, args)
    report.update({"steps": step, "training_minutes": round(training_minutes, 1), "epochs_done": epoch,
                   "train_documents_seen": epoch * len(train) + position, "train_documents": len(train),
                   "command": "python scripts/train_detector.py " + " ".join(sys.argv[1:] if argv is None else argv),
                   "settings": {k: str(v) for k, v in vars(args).items()},
                   "segments": history + [segment()],
                   "lexicon_features": not detector.features.is_frequency_only})
    config_path = args.out / "component.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["threshold"] = report["threshold"]
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.runs / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


def evaluate_and_calibrate(detector: TaggerDetector, args) -> dict:
    """Ablation figures on dev for every head, each at its own calibrated threshold."""
    dev = read_split(args.data, "dev", args.dev_docs, args.seed)
    golds = [gold_from_record(r) for r in dev]
    encoded = [detector.encode(r["spun"]) for r in dev]
    started = time.time()
    scored = detector.score_documents(encoded, HEADS)
    seconds = time.time() - started
    report = {"dev_documents": len(dev), "dev_scoring_seconds": round(seconds, 1), "ablations": {}}
    for head in HEADS:
        scores = scored[head]

        def spans_at(threshold, scores=scores):
            return [spans_from_scores(g.text, s, threshold) for g, s in zip(golds, scores)]

        candidates = [round(0.3 + 0.01 * i, 2) for i in range(70)] + [0.995, 0.999]
        threshold, result = calibrate(golds, spans_at, candidates)
        entry = {"note": HEAD_NOTES[head], "threshold": threshold, **result.to_dict(),
                 "at_0.5": figures(golds, spans_at(0.5)).to_dict()}
        report["ablations"][head] = entry
        print(f"{head:15s} t={threshold:.2f} {result.to_dict()}", flush=True)
    shipped = report["ablations"]["document"]
    report["threshold"] = shipped["threshold"]
    report["dev"] = {k: v for k, v in shipped.items() if k != "note"}
    report["dev_clean_flags_by_domain"] = clean_flags_by_domain(
        golds, [spans_from_scores(g.text, s, shipped["threshold"]) for g, s in zip(golds, scored["document"])])
    return report


if __name__ == "__main__":
    sys.exit(main())
