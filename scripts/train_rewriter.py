"""Train, evaluate and tune the seq2seq rewriter (repair/rewrite.py).

Train (resumes from runs/rewriter/checkpoint.pt, stops after --minutes of training time):
    nohup nice python scripts/train_rewriter.py train --data /work/data --minutes 50 &
Evaluate on gold spans (oracle detection) plus clean distractor words, and tune the decision
settings (fit weight, keep margin) on dev; --save writes the tuned settings into the model:
    python scripts/train_rewriter.py evaluate --data /work/data --split dev --tune --save
Never point --data at /work/shared/eval: that set is for the final evaluation only.
"""
from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import json
import math
import random
import re
import shlex
import shutil
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repair.edits import Span  # noqa: E402
from repair.rewrite import (  # noqa: E402
    SYNONYMS_FILE,
    DecideConfig,
    ModelConfig,
    Seq2SeqRewriter,
    TrainingPair,
    consistent_choices,
    frequent_pieces,
    training_loss,
    training_pairs,
)

CHECKPOINT = "checkpoint.pt"


def fail(message: str) -> None:
    print(f"train_rewriter: {message}", file=sys.stderr)
    raise SystemExit(2)


def read_docs(path: Path, limit: int | None = None) -> list[dict]:
    if not path.is_file():
        fail(f"no data file {path}")
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            docs.append(json.loads(line))
            if limit and len(docs) >= limit:
                break
    return docs


def guard_data(path: Path) -> None:
    if "shared/eval" in str(path.resolve()):
        fail("refusing to train or tune on the evaluation set")


# --------------------------------------------------------------------------- training

def lr_at(step_fraction: float, warm: float, peak: float) -> float:
    """Warm-up then cosine decay over the time budget (so a resumed run continues the schedule)."""
    if step_fraction < warm:
        return peak * step_fraction / warm
    progress = min(1.0, (step_fraction - warm) / max(1e-9, 1 - warm))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def with_other_substitutes(pair: TrainingPair, rng: random.Random, share: float,
                           keep_share: float = 0.0) -> TrainingPair:
    """``pair`` with each one-word spun span, at rate ``share``, spun again by some other tool
    (``repair.spinner.other_substitute``): the model has to restore originals from substitutes it
    never met written for them, which is what real spun text mostly holds (stop 47: the training
    tools' dictionaries hold 94% of the test tools' swaps, and unseen swaps are restored far less).
    At rate ``keep_share`` a clean word marked to be kept is spun the same way and becomes a word to
    restore, so originals that no training tool swaps are written too (the held-out splits' kind)."""
    from repair.edits import WORD
    from repair.spinner import other_substitute

    words = [(m.start(), m.group()) for m in WORD.finditer(pair.text)]
    pieces, spans, cursor, length, changed = [], [], 0, 0, False
    for (start, end), target in zip(pair.spans, pair.targets):
        spun = pair.text[start:end]
        new = None
        rate = share if target != spun else keep_share
        if " " not in target and rng.random() < rate:
            at = bisect.bisect_left(words, (start,))
            previous = words[at - 1][1] if at else ""
            following = WORD.search(pair.text, end)
            new = other_substitute(target, previous, following.group() if following else "", rng)
        written = new or spun
        pieces += [pair.text[cursor:start], written]
        length += start - cursor
        spans.append((length, length + len(written)))
        length += len(written)
        cursor = end
        changed = changed or new is not None
    if not changed:
        return pair
    pieces.append(pair.text[cursor:])
    return replace(pair, text="".join(pieces), spans=tuple(spans))


def train(args) -> None:
    import torch

    guard_data(Path(args.data))
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)

    docs = read_docs(Path(args.data) / "train.jsonl.gz", args.max_docs)
    for extra in args.add:  # e.g. the lone term sentences beside a build where every word is an original
        guard_data(Path(extra))
        docs += read_docs(Path(extra))
    pairs = [p for doc in docs for p in training_pairs(doc, rng, keep_rate=args.keep_rate)]
    if not pairs:
        fail("no training pairs in the data")
    if args.other_substitutes or args.respin_keeps:
        started = time.time()
        pairs = [with_other_substitutes(p, rng, args.other_substitutes, args.respin_keeps) for p in pairs]
        print(f"other tools' substitutes drawn in {time.time() - started:.0f} s", flush=True)
    # a share of sentences also comes with its spans hidden: the model must say from the context
    # alone what stood there, which is what it needs to judge originals it never saw in training
    pairs += [replace(p, hidden=True) for p in pairs if rng.random() < args.hidden_share]
    n_targets = sum(len(p.spans) for p in pairs)
    print(f"{len(docs)} docs -> {len(pairs)} marked sentences, {n_targets} targets", flush=True)

    config = ModelConfig(encoder_layers=args.encoder_layers, tuned_layers=args.tuned_layers,
                         decoder_layers=args.decoder_layers)
    checkpoint = runs / CHECKPOINT
    saved = None
    if checkpoint.is_file() and not args.fresh:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if args.init:  # a run started from a model folder has that model's shape
            config = ModelConfig(**saved["model_config"])
        if saved.get("model_config") != asdict(config):
            fail(f"{checkpoint} was made with other model settings; use --fresh or the same settings")
    if saved is not None:  # the output shortlist is part of the model: keep the checkpoint's
        rewriter = Seq2SeqRewriter.fresh(config, shortlist=saved["shortlist"])
    elif args.init:
        rewriter = Seq2SeqRewriter.from_pretrained(args.init)
        config = rewriter.net.config  # its shape, not the flags', and the checkpoint records it
        print(f"starting from the trained weights in {args.init}", flush=True)
        if args.frequent_words:
            added = rewriter.extend_shortlist(frequent_pieces(rewriter.codec, args.frequent_words))
            print(f"{added} wordpieces of the {args.frequent_words} most frequent English words added to the "
                  f"output shortlist ({len(rewriter.codec.shortlist)} now)", flush=True)
    else:
        originals = [e["original"] for doc in docs for e in doc["edits"]]
        rewriter = Seq2SeqRewriter.fresh(config, target_texts=originals, frequent_words=args.frequent_words)
    net = rewriter.net.to(args.device)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    state = {"step": 0, "seconds": 0.0, "examples": 0, "epoch": 0, "position": 0}
    if saved is not None:
        net.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        print(f"resumed at step {state['step']} after {state['seconds'] / 60:.1f} min", flush=True)

    state["hidden_share"] = max(state.get("hidden_share", 0.0), args.hidden_share)
    budget = args.minutes * 60.0
    order = list(range(len(pairs)))
    random.Random(args.seed + state["epoch"]).shuffle(order)
    net.train()
    # the frozen layers keep dropout off: they are used as pretrained feature extractors
    log = open(runs / "log.txt", "a", encoding="utf-8")
    started, last_save, running = time.time(), time.time(), None
    base_seconds = state["seconds"]
    while state["seconds"] < budget and (not args.max_steps or state["step"] < args.max_steps):
        if state["position"] >= len(order):
            state["epoch"] += 1
            state["position"] = 0
            random.Random(args.seed + state["epoch"]).shuffle(order)
        batch = [pairs[i] for i in order[state["position"]:state["position"] + args.batch]]
        state["position"] += args.batch
        for group in optimizer.param_groups:
            group["lr"] = lr_at(state["seconds"] / budget, 0.05, args.lr)
        loss, count = training_loss(net, rewriter.codec, batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        state["step"] += 1
        state["examples"] += count
        state["seconds"] = base_seconds + time.time() - started
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if state["step"] % 50 == 0:
            line = (f"step {state['step']} epoch {state['epoch']} loss {running:.3f} "
                    f"lr {optimizer.param_groups[0]['lr']:.2e} min {state['seconds'] / 60:.1f}")
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
        if time.time() - last_save > args.save_every * 60:
            save_checkpoint(checkpoint, net, optimizer, state, config, rewriter.codec.shortlist)
            last_save = time.time()
    save_checkpoint(checkpoint, net, optimizer, state, config, rewriter.codec.shortlist)
    net.eval()
    rewriter.net = net.to("cpu")
    rewriter.reads_context = rewriter.reads_context or state["hidden_share"] > 0
    info = {
        "training": {
            "data": str(args.data),
            "docs": len(docs),
            "added": list(args.add),
            "marked_sentences": len(pairs),
            "steps": state["step"],
            "examples_seen": state["examples"],
            "minutes": round(state["seconds"] / 60, 1),
            "batch": args.batch,
            "lr": args.lr,
            "keep_rate": args.keep_rate,
            "hidden_share": args.hidden_share,
            "other_substitutes": args.other_substitutes,
            "respin_keeps": args.respin_keeps,
            "init": args.init,
            "device": args.device,
            "final_loss": round(running or float("nan"), 4),
            "command": "python scripts/train_rewriter.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        }
    }
    rewriter.save_pretrained(args.out, extra=info)
    carry_synonyms(Path(args.out), Path(args.init) if args.init else None)
    print(f"saved {args.out} after {state['step']} steps, {state['seconds'] / 60:.1f} min", flush=True)


def carry_synonyms(out: Path, started_from: Path | None) -> None:
    """Give a written model folder the WordNet synonym table if it has none. The table is data,
    not weights (the same for every model), so it comes from the folder the run started from, else
    from the shipped rewriter; without it the folder would silently lose those candidates."""
    target = out / SYNONYMS_FILE
    sources = [folder / SYNONYMS_FILE for folder in (started_from, ROOT / "models" / "rewriter") if folder]
    source = next((path for path in sources if path.is_file()), None)
    if not target.is_file() and source is not None and source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    if not target.is_file():
        print(f"note: {target} missing; `train_rewriter.py synonyms --out {target}` adds the WordNet candidates",
              flush=True)


def save_checkpoint(path: Path, net, optimizer, state: dict, config: ModelConfig, shortlist) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save({"model": net.trained_state(), "optimizer": optimizer.state_dict(), "state": state,
                "model_config": asdict(config), "shortlist": list(shortlist)}, tmp)
    tmp.replace(path)


# --------------------------------------------------------------------------- evaluation

def oracle_cases(docs: list[dict], rng: random.Random, distractor_rate: float):
    """Per document: gold spans (with their originals) plus clean words marked as distractors."""
    from repair.edits import WORD

    cases = []
    for doc in docs:
        spun = doc["spun"]
        gold = {}
        for e in doc["edits"]:
            if e["spun"].strip():
                gold[(e["spun_start"], e["spun_end"])] = e["original"]
        free = [m for m in WORD.finditer(spun) if len(m.group()) >= 3
                and not any(m.start() < b and m.end() > a for a, b in gold)]
        n = min(len(free), max(1 if not gold else 0, round(distractor_rate * max(len(gold), 3))))
        distractors = [(m.start(), m.end()) for m in rng.sample(free, n)]
        spans = sorted([Span(a, b, spun[a:b], 1.0, "gold") for a, b in gold]
                       + [Span(a, b, spun[a:b], 1.0, "distractor") for a, b in distractors],
                       key=lambda s: s.start)
        cases.append((spun, spans, gold))
    return cases


def detector_cases(docs: list[dict], detector, threshold: float):
    """Per document: the spans the shipped detector marks; those that match a gold edit exactly
    carry its original, the others are distractors (a change there is wrong). Gold edits the
    detector missed are counted apart: they cost recall whatever the rewriter decides."""
    from repair.detect_metrics import widened_edits

    cases, missed = [], 0
    for doc in docs:
        spun = doc["spun"]
        originals = {span: edit["original"] for span, edit in widened_edits(doc)}
        spans = detector.detect(spun, threshold)
        found = {(s.start, s.end) for s in spans}
        gold = {k: v for k, v in originals.items() if k in found}
        missed += len(originals) - len(gold)
        cases.append((spun, spans, gold))
    return cases, missed


def score_cases(scored, settings: DecideConfig, missed: int = 0) -> dict:
    """Edit precision/recall/F0.5 over gold spans and distractors for one decision setting
    (``missed``: gold spans never marked, counted as misses)."""
    tp = fp = restored = clean_changed = 0
    fn = missed
    gold_total = distractor_total = 0
    for decisions, gold in scored:
        choices = consistent_choices(decisions, settings)
        for d in decisions:
            key = (d.span.start, d.span.end)
            choice = choices.get(key)
            if key in gold:
                gold_total += 1
                right = choice is not None and choice.text == gold[key].lower().strip()
                tp += right
                restored += right
                fn += not right
                fp += choice is not None and not right
            else:
                distractor_total += 1
                if choice is not None:
                    fp += 1
                    clean_changed += 1
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f05 = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
    return {"f0.5": round(f05, 4), "precision": round(p, 4), "recall": round(r, 4),
            "restoration": round(restored / max(1, gold_total), 4),
            "distractors_changed": round(clean_changed / max(1, distractor_total), 4),
            "gold_spans": gold_total, "distractors": distractor_total}


def rescore(decisions, settings: DecideConfig):
    """Recombine stored model log-probs, fits and LM shares under other settings (no model run)."""
    return [d.rescored(settings) for d in decisions]


def score_edits(cases, edits_per_case, missed: int = 0) -> dict:
    """Edit precision/recall/F0.5 of rewriter edits over gold spans and distractors: a gold span
    counts as restored when an edit covers it and ends with the original (an a/an fix may lead)."""
    tp = fp = clean_changed = gold_total = distractor_total = 0
    fn = missed
    for (text, spans, gold), edits in zip(cases, edits_per_case):
        for span in spans:
            covering = [e for e in edits if e.start <= span.start and span.end <= e.end]
            changed = bool(covering) and covering[0].replacement != covering[0].original
            if (span.start, span.end) in gold:
                gold_total += 1
                want = " ".join(gold[(span.start, span.end)].lower().split())
                got = " ".join(covering[0].replacement.lower().split()) if changed else ""
                right = changed and (got == want or got.endswith(" " + want))
                tp += right
                fn += not right
                fp += changed and not right
            else:
                distractor_total += 1
                clean_changed += changed
                fp += changed
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f05 = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
    return {"f0.5": round(f05, 4), "precision": round(p, 4), "recall": round(r, 4),
            "restoration": round(tp / max(1, gold_total), 4),
            "distractors_changed": round(clean_changed / max(1, distractor_total), 4),
            "gold_spans": gold_total, "distractors": distractor_total}


def evaluate(args) -> None:
    import torch

    guard_data(Path(args.data))
    torch.set_num_threads(args.threads)
    # several splits (dev,dev-heldout: seen and unseen swaps) are scored together, and --tune
    # takes the mean of their F0.5, so the split with more spans does not decide alone
    splits = args.split.split(",")
    per_split = {split: read_docs(Path(args.data) / f"{split}.jsonl.gz", args.docs) for split in splits}
    docs = [d for split in splits for d in per_split[split]]
    parts, at = {}, 0
    for split in splits:
        parts[split] = slice(at, at + len(per_split[split]))
        at += len(per_split[split])
    missed, missed_by_split = 0, {split: 0 for split in splits}
    if args.spans == "detector":
        from repair.components import load_component, read_component_config

        detector = load_component(args.detector)
        threshold = args.detector_threshold
        if threshold is None:
            threshold = read_component_config(Path(args.detector)).get("threshold", 0.5)
        cases = []
        for split in splits:
            found, missed_by_split[split] = detector_cases(per_split[split], detector, threshold)
            cases += found
        missed = sum(missed_by_split.values())
        report = {"split": args.split, "docs": len(docs), "spans": f"detector {args.detector} at {threshold}",
                  "missed_gold_spans": missed}
    else:
        cases = oracle_cases(docs, random.Random(args.seed), args.distractors)
        report = {"split": args.split, "docs": len(docs), "oracle": "gold spans + clean distractor words"}
    if args.compare_lexicon:
        from repair.components import load_component

        baseline = load_component(args.compare_lexicon)
        started = time.time()
        report["lexicon"] = score_edits(cases, [baseline.rewrite(text, spans) for text, spans, _ in cases], missed)
        report["lexicon"]["seconds"] = round(time.time() - started, 1)
        print("lexicon:", json.dumps(report["lexicon"]), flush=True)
    if args.model == "none":
        return
    overrides = {"use_synonyms": False} if args.no_synonyms else {}
    if args.neighbours is not None:
        overrides["neighbour_candidates"] = args.neighbours
    if args.scored is not None:
        overrides["scored_candidates"] = args.scored
    rewriter = Seq2SeqRewriter.from_pretrained(args.model, lexicon_folder=args.lexicon, **overrides)
    if args.beam is not None:
        rewriter.decide = replace(rewriter.decide, beam=args.beam)
    if args.context is not None:
        rewriter.with_context(args.context)
    if args.rerank != "none":
        from repair.rerank import RerankSettings, load_reranker

        settings = RerankSettings()  # the shipped reranker's, unless told how many candidates it re-scores
        if args.rerank_candidates is not None:
            settings = replace(settings, candidates=args.rerank_candidates)
        rewriter = rewriter.with_reranker(load_reranker(args.rerank), settings)
    context_weights = (rewriter.decide.context_weight,)
    if args.tune and rewriter.reads_context:
        context_weights = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
        rewriter.decide = replace(rewriter.decide, context_weight=1.0)  # so that the context fit is computed
    started = time.time()
    scored = [(rewriter.score_spans(text, spans), gold) for text, spans, gold in cases]
    seconds = time.time() - started
    print(f"scored {sum(len(d) for d, _ in scored)} spans in {len(cases)} {args.split} docs in {seconds:.1f}s "
          f"(lexicon candidates: {'yes' if rewriter.source.lexicon is not None else 'no'})", flush=True)
    settings = rewriter.decide
    if args.ranking:
        report["ranking"] = originals_first(scored, parts, settings, args.ranking)
    if args.tune:
        best = None
        for fit_weight, context_weight in itertools.product((0.0, 0.5, 1.0, 1.5, 2.0, 3.0), context_weights):
            weights = replace(settings, fit_weight=fit_weight, context_weight=context_weight)
            rescored = [(rescore(d, weights), g) for d, g in scored]
            for margin in (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0):
                for consistency in (1.0, 3.0):
                    for unlisted in (args.unlisted or (0.0, 1.0, 2.0, 4.0, 8.0)):
                        trial = replace(weights, keep_margin=margin, consistency_margin=consistency,
                                        unlisted_margin=unlisted)
                        objective = sum(score_cases(rescored[part], trial, missed_by_split[split])["f0.5"]
                                        for split, part in parts.items()) / len(parts)
                        if best is None or objective > best[1]:
                            best = (trial, objective)
        settings = best[0]
        print("tuned:", json.dumps(asdict(settings)), flush=True)
    final = [rescore(d, settings) for d, _ in scored]
    edits = [rewriter.edits_for(text, d, settings) for (text, _, _), d in zip(cases, final)]
    report["rewriter"] = score_edits(cases, edits, missed)
    report["rewriter"]["seconds"] = round(seconds, 1)
    if len(parts) > 1:
        report["rewriter"]["by_split"] = {split: score_edits(cases[part], edits[part], missed_by_split[split])
                                          for split, part in parts.items()}
    report["settings"] = asdict(settings)
    print("rewriter:", json.dumps(report["rewriter"]), flush=True)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.tune and args.save:
        meta_path = Path(args.model) / "component.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["decide"] = asdict(settings)
        meta["model"] = asdict(rewriter.net.config)
        meta.setdefault("tuned_on", {})[args.split] = {"docs": len(docs), "spans": args.spans, **report["rewriter"]}
        meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        print(f"wrote tuned settings to {meta_path}")


def originals_first(scored, parts: dict, settings: DecideConfig, grid: list[str]) -> dict:
    """How many gold spans of each split have their original ranked first among the candidates, under each
    ``unlisted_weight/neighbour_weight`` pair of ``grid`` (ranking only: no test against keeping the span)."""
    figures = {}
    for pair in grid:
        unlisted, _, neighbour = pair.partition("/")
        weights = replace(settings, unlisted_weight=float(unlisted), neighbour_weight=float(neighbour or 0))
        figures[pair] = {}
        for split, part in parts.items():
            first = gold_spans = among = 0
            for decisions, gold in scored[part]:
                for decision in decisions:
                    wanted = (gold.get((decision.span.start, decision.span.end)) or "").lower()
                    if not wanted:
                        continue
                    ranked = decision.rescored(weights).ranked
                    gold_spans += 1
                    among += any(c.text == wanted for c in ranked)
                    first += bool(ranked) and ranked[0].text == wanted
            figures[pair][split] = {"gold_spans": gold_spans, "original_among": among, "original_first": first}
        print(f"ranking unlisted/neighbour {pair}: " + "  ".join(
            f"{split} {f['original_first']}/{f['gold_spans']} (among {f['original_among']})"
            for split, f in figures[pair].items()), flush=True)
    return figures


def build_synonyms(args) -> None:
    """Compile WordNet synonyms (synset co-members and adjective "similar to" links), keyed by
    lemma, into a small table the rewriter reads as a second candidate source beside the lexicon."""
    import collections
    import gzip as gz

    wordnet = Path(args.wordnet)
    if not (wordnet / "data.noun").is_file():
        fail(f"no WordNet data files in {wordnet}")
    synonyms: dict[str, set] = collections.defaultdict(set)
    for pos in ("noun", "verb", "adj", "adv"):
        members, similar = {}, {}
        with open(wordnet / f"data.{pos}", encoding="latin-1") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue  # the licence header
                fields = line.split(" ")
                count = int(fields[3], 16)
                words = [fields[4 + 2 * i].lower().replace("_", " ").split("(")[0] for i in range(count)]
                members[fields[0]] = words
                at = 4 + 2 * count
                pointers = int(fields[at])
                similar[fields[0]] = [fields[at + 2 + 4 * j] for j in range(pointers) if fields[at + 1 + 4 * j] == "&"]
                for a in words:
                    synonyms[a].update(b for b in words if b != a)
        for offset, others in similar.items():
            for other in others:
                for a in members[offset]:
                    for b in members.get(other, ()):
                        synonyms[a].add(b)
                        synonyms[b].add(a)
    plain = re.compile(r"^[a-z]+(?:[ '-][a-z]+){0,3}$")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with gz.open(tmp, "wt", encoding="utf-8") as handle:
        for word in sorted(synonyms):
            kept = sorted(w for w in synonyms[word] if plain.match(w))
            if plain.match(word) and kept:
                handle.write(word + "\t" + "\t".join(kept) + "\n")
    tmp.replace(out)
    print(f"wrote {len(synonyms)} entries to {out} ({out.stat().st_size / 1e6:.1f} MB)")


def export(args) -> None:
    """Write the latest checkpoint as a model folder (to evaluate while training goes on)."""
    import torch

    saved = torch.load(Path(args.runs) / CHECKPOINT, map_location="cpu", weights_only=False)
    config = ModelConfig(**saved["model_config"])
    rewriter = Seq2SeqRewriter.fresh(config, shortlist=saved["shortlist"])
    rewriter.net.load_state_dict(saved["model"], strict=False)
    rewriter.net.eval()
    state = saved["state"]
    rewriter.reads_context = state.get("hidden_share", 0.0) > 0
    rewriter.save_pretrained(args.out, extra={"training": {"steps": state["step"], "examples_seen": state["examples"],
                                                           "minutes": round(state["seconds"] / 60, 1)}})
    carry_synonyms(Path(args.out), None)
    print(f"exported step {state['step']} to {args.out}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", default="data")
    t.add_argument("--out", default=str(ROOT / "models" / "rewriter"))
    t.add_argument("--runs", default=str(ROOT / "runs" / "rewriter"))
    t.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    t.add_argument("--minutes", type=float, default=45.0)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--max-docs", type=int, default=None)
    t.add_argument("--batch", type=int, default=32, help="marked sentences per step")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--keep-rate", type=float, default=0.35)
    t.add_argument("--hidden-share", type=float, default=0.0,
                   help="share of sentences also trained with their spans masked (context fit, see DecideConfig)")
    t.add_argument("--other-substitutes", type=float, default=0.0, metavar="SHARE",
                   help="share of one-word spun spans spun again by another tool's thesaurus draw")
    t.add_argument("--respin-keeps", type=float, default=0.0, metavar="SHARE",
                   help="share of clean words marked to be kept that are spun the same way and restored instead")
    t.add_argument("--init", default=None, help="start from this model folder's weights (when --runs holds no checkpoint)")
    t.add_argument("--frequent-words", type=int, default=0, metavar="N",
                   help="the output shortlist holds the wordpieces of the N most frequent English words (added to "
                        "an --init model's; first in a fresh one's), not only the training originals'")
    t.add_argument("--add", action="append", default=[], metavar="FILE",
                   help="another file of the build's records (e.g. data/train-terms.jsonl.gz) whose sentences join "
                        "train's; repeatable")
    t.add_argument("--encoder-layers", type=int, default=ModelConfig.encoder_layers)
    t.add_argument("--tuned-layers", type=int, default=ModelConfig.tuned_layers)
    t.add_argument("--decoder-layers", type=int, default=ModelConfig.decoder_layers)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    e = sub.add_parser("evaluate")
    e.add_argument("--data", default="data")
    e.add_argument("--model", default=str(ROOT / "models" / "rewriter"))
    e.add_argument("--lexicon", default=None, help="lexicon folder (default: beside the model)")
    e.add_argument("--split", default="dev")
    e.add_argument("--docs", type=int, default=200)
    e.add_argument("--distractors", type=float, default=0.3, help="clean words marked per gold span")
    e.add_argument("--spans", choices=["oracle", "detector"], default="oracle",
                   help="oracle: gold spans + distractors; detector: what the shipped detector marks")
    e.add_argument("--detector", default=str(ROOT / "models" / "detector"))
    e.add_argument("--detector-threshold", type=float, default=None,
                   help="with --spans detector: its threshold (default: the detector's own)")
    e.add_argument("--beam", type=int, default=None)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--seed", type=int, default=7)
    e.add_argument("--tune", action="store_true")
    e.add_argument("--save", action="store_true", help="store the tuned settings in component.json")
    e.add_argument("--compare-lexicon", default=None, metavar="FOLDER",
                   help="also score the lexicon baseline's rewriting on the same spans")
    e.add_argument("--context", type=int, default=None, help="context wordpieces either side (default: the model's)")
    e.add_argument("--unlisted", type=float, nargs="*", default=None,
                   help="margins tried for candidates no thesaurus lists (default 0 1 2 4 8)")
    e.add_argument("--no-synonyms", action="store_true", help="lexicon candidates only (no WordNet table)")
    e.add_argument("--neighbours", type=int, default=None,
                   help="thesaurus neighbours added to each span's candidates (default: the model's setting)")
    e.add_argument("--scored", type=int, default=None,
                   help="candidates per span scored by the decoder (default: the model's)")
    e.add_argument("--report", default=None, help="write the figures to this JSON file")
    e.add_argument("--ranking", nargs="+", default=None, metavar="U/N",
                   help="also count the gold spans whose original ranks first under unlisted_weight U and "
                        "neighbour_weight N (e.g. 0/0 3/1)")
    e.add_argument("--rerank", default="none", choices=["none", "lm"],
                   help="re-score the best candidates with the causal LM (repair.rerank)")
    e.add_argument("--rerank-candidates", type=int, default=None,
                   help="best candidates the LM re-scores (default: the shipped RerankSettings')")
    w = sub.add_parser("synonyms", help="compile the WordNet synonym table into the model folder")
    w.add_argument("--wordnet", default="/usr/share/wordnet")
    w.add_argument("--out", default=str(ROOT / "models" / "rewriter" / "synonyms.tsv.gz"))
    x = sub.add_parser("export")
    x.add_argument("--runs", default=str(ROOT / "runs" / "rewriter"))
    x.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.mode == "train" and args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            fail("--device cuda but no GPU is available")
    {"train": train, "evaluate": evaluate, "export": export, "synonyms": build_synonyms}[args.mode](args)


if __name__ == "__main__":
    main()
