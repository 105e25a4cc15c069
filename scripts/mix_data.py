"""Join two corpus builds into one training folder: all of ADD's train and dev, a sample of BASE's.

    python scripts/build_data.py --out data --seed 13
    python scripts/build_data.py --out data-sci --seed 13 --domains science --train-docs 6000 --eval-docs 300
    python scripts/mix_data.py --base data --add data-sci --base-train 12000 --base-dev 400 --out data-mix

Both builds must share a seed: held-out originals and the source split are drawn from it, so a
document of BASE's test sources never reaches the mixed train. Only train and dev are written; the
test splits stay in their own builds and are scored there.
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
from pathlib import Path


def read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise SystemExit(f"mix_data: {path} not found (build it with scripts/build_data.py)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [line for line in handle if line.strip()]


def write_lines(path: Path, lines: list[str]) -> None:
    part = path.with_name(f".{path.name}.part")
    with gzip.open(part, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    os.replace(part, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--add", type=Path, required=True)
    parser.add_argument("--base-train", type=int, required=True, help="train documents sampled from BASE")
    parser.add_argument("--base-dev", type=int, required=True, help="dev documents sampled from BASE")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(argv)
    shares = {"train": args.base_train, "dev": args.base_dev}
    # every input is read before anything is written: a missing one leaves no half-made folder
    inputs = {split: (read_lines(args.add / f"{split}.jsonl.gz"), read_lines(args.base / f"{split}.jsonl.gz"))
              for split in shares}
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, base_share in shares.items():
        added, base = inputs[split]
        sampled = rng.sample(base, min(base_share, len(base)))
        # shuffled anyway; the joining order is kept only so that the card's folder is rebuilt exactly
        lines = added + sampled if split == "train" else sampled + added
        rng.shuffle(lines)
        write_lines(args.out / f"{split}.jsonl.gz", lines)
        counts[split] = len(lines)
    print(f"mix_data: {counts['train']} train, {counts['dev']} dev documents -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
