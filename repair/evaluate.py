"""Score a repairer on spun/original pairs, GEC-style, at word level.

The scoring is a faithful re-implementation of the reference scorer that ships with the
real-spin evaluation set (``../shared/eval/score.py``): the same tokens (``\\w+|[^\\w\\s]``,
lower-cased, curly apostrophe folded), the same ``difflib`` alignment, the same growing of a
gold edit into a *region* by every changed hunk and gold edit that touches it. It is
re-implemented here, not imported, because the library must run without the shared folder;
``tests/test_evaluate.py`` checks that both give the same figures.

Definitions (all at word = token level):

* a *hunk* is a non-equal stretch of the alignment of spun tokens to repaired tokens;
* a gold edit is *detected* when a hunk touches it, and *correct* when the region around it
  reads exactly as the original text (so an edit is correct when it restores the original
  words of its span);
* a *wrong rewrite* is a detected gold edit that is not correct; a *false edit* is a hunk
  that touches no gold edit;
* edit precision = correct / (correct + wrong rewrites + false edits); recall = correct
  required edits / required edits; F0.5 weighs precision twice as much as recall;
* detection precision = hunks touching a gold edit / all hunks (1.0 when nothing changed);
  detection recall = detected required edits / required edits;
* exact restoration = correct required edits / detected required edits: once a spun span
  is found, how often the rewriter brings back exactly the original words;
* clean damage = tokens changed per 1,000 tokens when the repairer runs on the originals;
* one deliberate departure from the reference: a gold edit with an empty spun span (the
  spinner dropped a word) is credited when the repair inserts exactly the dropped words;
  the reference can never credit one (see ``_output_range``). The real-spin gold file has
  no such edit, so there the two agree exactly;
* words per second = words (``repair.edits.count_words``) of spun and original texts
  processed / wall time spent inside the repairer.
"""
from __future__ import annotations

import bisect
import difflib
import gzip
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .edits import count_words

TOKEN = re.compile(r"\w+|[^\w\s]")


class PairsError(ValueError):
    """A pairs file that cannot be read or holds a malformed pair."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class GoldEdit:
    """A spinner's change: ``spun[start:end]`` replaced the original words ``gold``."""

    start: int
    end: int
    spun: str
    gold: str
    required: bool = True


@dataclass(frozen=True)
class EvalPair:
    spun: str
    original: str
    edits: tuple[GoldEdit, ...]
    pair_id: str = ""


@dataclass(frozen=True)
class EditOutcome:
    edit: GoldEdit
    detected: bool
    correct: bool
    got: str


@dataclass(frozen=True)
class PairScore:
    outcomes: tuple[EditOutcome, ...]
    hunks: int
    false_edit_contexts: tuple[str, ...]

    @property
    def false_edits(self) -> int:
        return len(self.false_edit_contexts)


@dataclass(frozen=True)
class Damage:
    changed: int
    tokens: int


@dataclass(frozen=True)
class Figures:
    """Counts summed over a set; every rate is derived from them."""

    pairs: int = 0
    gold_edits: int = 0
    required: int = 0
    detected: int = 0
    restored: int = 0
    correct: int = 0
    wrong_rewrites: int = 0
    false_edits: int = 0
    hunks: int = 0
    clean_tokens: int = 0
    clean_tokens_changed: int = 0
    words_processed: int = 0
    seconds: float = 0.0
    misses: tuple[str, ...] = field(default=(), compare=False, repr=False)
    false_edit_contexts: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def proposed(self) -> int:
        return self.correct + self.wrong_rewrites + self.false_edits

    @property
    def precision(self) -> float:
        return self.correct / self.proposed if self.proposed else 1.0

    @property
    def recall(self) -> float | None:
        return self.restored / self.required if self.required else None

    @property
    def f05(self) -> float | None:
        p, r = self.precision, self.recall
        if r is None:
            return None
        return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0

    @property
    def detection_precision(self) -> float:
        return (self.hunks - self.false_edits) / self.hunks if self.hunks else 1.0

    @property
    def detection_recall(self) -> float | None:
        return self.detected / self.required if self.required else None

    @property
    def exact_restoration(self) -> float | None:
        return self.restored / self.detected if self.detected else None

    @property
    def clean_changed_per_1k(self) -> float | None:
        return 1000.0 * self.clean_tokens_changed / self.clean_tokens if self.clean_tokens else None

    @property
    def words_per_second(self) -> float | None:
        return self.words_processed / self.seconds if self.seconds > 0 else None

    def to_dict(self, digits: int = 4) -> dict:
        def rounded(value):
            return None if value is None else round(value, digits)

        return {
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
            "f0.5": rounded(self.f05),
            "detection_precision": rounded(self.detection_precision),
            "detection_recall": rounded(self.detection_recall),
            "exact_restoration": rounded(self.exact_restoration),
            "clean_words_changed_per_1k": None if self.clean_changed_per_1k is None
            else round(self.clean_changed_per_1k, 2),
            "words_per_second": None if self.words_per_second is None else round(self.words_per_second, 1),
            "pairs": self.pairs,
            "gold_edits": self.gold_edits,
            "required": self.required,
            "detected": self.detected,
            "restored": self.restored,
            "proposed_edits": self.proposed,
            "wrong_rewrites": self.wrong_rewrites,
            "false_edits": self.false_edits,
            "changed_hunks": self.hunks,
            "clean_tokens": self.clean_tokens,
            "clean_tokens_changed": self.clean_tokens_changed,
            "words_processed": self.words_processed,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- reading pairs


def words(text: str) -> list[str]:
    """The scorer's tokens: runs of word characters and single punctuation marks."""
    return TOKEN.findall(text)


def _scan(text: str) -> tuple[list[str], list[int], list[int]]:
    """Tokens with their start and end offsets, as parallel lists (this is the hot loop)."""
    found = list(TOKEN.finditer(text))
    return [m.group() for m in found], [m.start() for m in found], [m.end() for m in found]


def _norm(words: Iterable[str]) -> list[str]:
    return [w.lower().replace("\u2019", "'") for w in words]


def _opcodes(source: Sequence[str], output: Sequence[str]):
    return difflib.SequenceMatcher(None, _norm(source), _norm(output), autojunk=False).get_opcodes()


def derive_edits(spun: str, original: str) -> tuple[GoldEdit, ...]:
    """Gold edits from a word-level diff, for pairs that come without them."""
    src, src_starts, src_ends = _scan(spun)
    dst, dst_starts, dst_ends = _scan(original)
    edits = []
    for tag, i1, i2, j1, j2 in _opcodes(src, dst):
        if tag == "equal":
            continue
        start = src_starts[i1] if i1 < len(src) else len(spun)
        end = src_ends[i2 - 1] if i2 > i1 else start
        gold = original[dst_starts[j1]:dst_ends[j2 - 1]] if j2 > j1 else ""
        edits.append(GoldEdit(start, end, spun[start:end], gold, True))
    return tuple(edits)


def _gold_edit(raw: dict, spun: str) -> GoldEdit:
    if "start" in raw:  # the shared gold file: {"spun","gold","required","start","end"}
        edit = GoldEdit(int(raw["start"]), int(raw["end"]), raw.get("spun", spun[raw["start"]:raw["end"]]),
                        raw["gold"] if "gold" in raw else raw["original"], bool(raw.get("required", True)))
    elif "spun_start" in raw:  # the project's synthetic documents
        edit = GoldEdit(int(raw["spun_start"]), int(raw["spun_end"]), raw.get("spun", ""),
                        raw["original"], True)
        if not edit.spun:
            edit = GoldEdit(edit.start, edit.end, spun[edit.start:edit.end], edit.gold, True)
    else:
        raise PairsError("an edit has neither start/end nor spun_start/spun_end")
    if not 0 <= edit.start <= edit.end <= len(spun) or spun[edit.start:edit.end] != edit.spun:
        raise PairsError(f"edit {edit.start}:{edit.end} does not match its spun text {edit.spun!r}")
    return edit


def pair_from_dict(data: dict, pair_id: str = "") -> EvalPair:
    if not isinstance(data, dict) or not isinstance(data.get("spun"), str):
        raise PairsError('a pair needs a "spun" string')
    original = data.get("original", data.get("gold"))
    if not isinstance(original, str):
        raise PairsError('a pair needs an "original" (or "gold") string')
    spun = data["spun"]
    raw_edits = data.get("edits") or []
    if raw_edits:
        edits = tuple(sorted((_gold_edit(e, spun) for e in raw_edits), key=lambda e: (e.start, e.end)))
    else:
        edits = derive_edits(spun, original)
    return EvalPair(spun, original, edits, str(data.get("id", pair_id)))


def read_pairs(path: str | Path, limit: int | None = None) -> list[EvalPair]:
    """Read a JSONL (or .jsonl.gz) file of pairs; the first ``limit`` lines only if given."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    pairs: list[EvalPair] = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if limit is not None and len(pairs) >= limit:
                    break
                if not line.strip():
                    continue
                try:
                    pairs.append(pair_from_dict(json.loads(line), str(number)))
                except json.JSONDecodeError as error:
                    raise PairsError(f"{path}:{number}: not JSON ({error.msg})") from None
                except (PairsError, KeyError, TypeError, ValueError) as error:
                    raise PairsError(f"{path}:{number}: {error}") from None
    except OSError as error:
        raise PairsError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise PairsError(f"{path}: not UTF-8 text") from None
    if not pairs:
        raise PairsError(f"{path}: no pairs")
    return pairs


# --------------------------------------------------------------------------- scoring


def _output_position(ops, position: int) -> int:
    """Map a token boundary of the source to the output, through equal runs."""
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal" and i1 <= position <= i2:
            return j1 + (position - i1)
        if tag != "equal" and position == i1:
            return j1
        if tag != "equal" and position == i2:
            return j2
    raise ValueError(position)


def _output_range(ops, lo: int, hi: int) -> tuple[int, int]:
    """The output tokens that stand where source tokens ``lo:hi`` stood.

    Departure from the reference: for an empty region (a spinner that dropped a word) the
    reference maps both ends through the equal run before it and so reads nothing, which
    makes restoring a dropped word impossible; here an empty region reads what was inserted
    at that point. Regions with words (every edit of the real-spin gold file) map as there.
    """
    if lo == hi:
        for tag, i1, i2, j1, j2 in ops:
            if tag == "insert" and i1 == lo:
                return j1, j2
    return _output_position(ops, lo), _output_position(ops, hi)


def _touches(i1: int, i2: int, lo: int, hi: int) -> bool:
    # an empty range (insertion point) touches a range it lies in or at the edge of
    return (i1 < hi and i2 > lo) or (i1 == i2 and lo <= i1 <= hi) or (lo == hi and i1 <= lo <= i2)


def _overlaps_gold(i1: int, i2: int, a: int, b: int) -> bool:
    # the reference scorer's false-edit test is slightly narrower than _touches; kept as is
    return (i1 < b and i2 > a) or (i1 == i2 and a <= i1 <= b)


def score_pair(pair: EvalPair, repaired: str) -> PairScore:
    sw, starts, _ = _scan(pair.spun)
    tw = words(repaired)
    ops = _opcodes(sw, tw)
    changed = [(i1, i2) for tag, i1, i2, _, _ in ops if tag != "equal"]
    # a gold edit covers the tokens from the first starting at or after its start up to the
    # first starting at or after its end (bisect_left finds exactly that token)
    spans = [(bisect.bisect_left(starts, e.start), bisect.bisect_left(starts, e.end), e) for e in pair.edits]

    outcomes: list[EditOutcome] = []
    done: set[int] = set()
    for k, (a, b, _) in enumerate(spans):
        if k in done:
            continue
        lo, hi, members = a, b, {k}
        while True:  # grow to a fixed point: hunks and gold edits that touch the region join it
            nlo, nhi = lo, hi
            for i1, i2 in changed:
                if _touches(i1, i2, lo, hi):
                    nlo, nhi = min(nlo, i1), max(nhi, i2)
            for m, (c, d, _) in enumerate(spans):
                if _touches(c, d, nlo, nhi):
                    members.add(m)
                    nlo, nhi = min(nlo, c), max(nhi, d)
            if (nlo, nhi) == (lo, hi):
                break
            lo, hi = nlo, nhi
        done |= members
        want, position = [], lo
        for m in sorted(members, key=lambda m: spans[m][0]):
            c, d, member = spans[m]
            want += sw[position:c] + words(member.gold)
            position = d
        want = _norm(want + sw[position:hi])
        got = _norm(tw[slice(*_output_range(ops, lo, hi))])
        for m in members:
            c, d, member = spans[m]
            detected = any(_touches(i1, i2, c, d) for i1, i2 in changed)
            outcomes.append(EditOutcome(member, detected, got == want and detected, " ".join(got)))

    false_contexts = tuple(
        " ".join(sw[max(0, i1 - 2):i2 + 2])
        for i1, i2 in changed
        if not any(_overlaps_gold(i1, i2, a, b) for a, b, _ in spans)
    )
    return PairScore(tuple(outcomes), len(changed), false_contexts)


def clean_damage(original: str, repaired: str) -> Damage:
    """Tokens the repairer changed in a text that had nothing to repair."""
    source = words(original)
    ops = _opcodes(source, words(repaired))
    return Damage(sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal"), len(source))


def summarise(pair_scores: Sequence[PairScore], damages: Sequence[Damage] = (),
              words_processed: int = 0, seconds: float = 0.0) -> Figures:
    required = detected = restored = correct = wrong = 0
    misses: list[str] = []
    for score in pair_scores:
        for outcome in score.outcomes:
            correct += outcome.correct
            wrong += outcome.detected and not outcome.correct
            if outcome.edit.required:
                required += 1
                detected += outcome.detected
                restored += outcome.correct
                if not outcome.correct:
                    misses.append(f"{outcome.edit.spun} -> {outcome.edit.gold} (got: {outcome.got})")
    return Figures(
        pairs=len(pair_scores),
        gold_edits=sum(len(s.outcomes) for s in pair_scores),
        required=required,
        detected=detected,
        restored=restored,
        correct=correct,
        wrong_rewrites=wrong,
        false_edits=sum(s.false_edits for s in pair_scores),
        hunks=sum(s.hunks for s in pair_scores),
        clean_tokens=sum(d.tokens for d in damages),
        clean_tokens_changed=sum(d.changed for d in damages),
        words_processed=words_processed,
        seconds=seconds,
        misses=tuple(misses),
        false_edit_contexts=tuple(c for s in pair_scores for c in s.false_edit_contexts),
    )


# --------------------------------------------------------------------------- running a repairer


@dataclass(frozen=True)
class Outputs:
    """What a repairer made of each spun text and each original, and how long it took."""

    repaired_spun: tuple[str, ...]
    repaired_original: tuple[str, ...]
    words_processed: int
    seconds: float


def _repair_all(repairer, texts: Sequence[str]) -> list[str]:
    # a repairer that can batch (several texts per model call) says so with repair_batch
    batch = getattr(repairer, "repair_batch", None)
    results = batch(list(texts)) if callable(batch) else [repairer.repair(text) for text in texts]
    return [result.repaired for result in results]


def run_repairer(repairer, pairs: Sequence[EvalPair], clean: bool = True) -> Outputs:
    spun_texts = [p.spun for p in pairs]
    started = time.perf_counter()
    repaired_spun = _repair_all(repairer, spun_texts)
    words = sum(count_words(t) for t in spun_texts)
    repaired_original: list[str] = []
    if clean:
        original_texts = [p.original for p in pairs]
        repaired_original = _repair_all(repairer, original_texts)
        words += sum(count_words(t) for t in original_texts)
    seconds = time.perf_counter() - started
    return Outputs(tuple(repaired_spun), tuple(repaired_original), words, seconds)


def score_outputs(pairs: Sequence[EvalPair], outputs: Outputs) -> Figures:
    pair_scores = [score_pair(p, out) for p, out in zip(pairs, outputs.repaired_spun)]
    damages = [clean_damage(p.original, out) for p, out in zip(pairs, outputs.repaired_original)]
    return summarise(pair_scores, damages, outputs.words_processed, outputs.seconds)


def evaluate(repairer, pairs: Sequence[EvalPair], clean: bool = True) -> Figures:
    """Run ``repairer`` on every spun text (and original, for damage) and score it."""
    return score_outputs(pairs, run_repairer(repairer, pairs, clean))


# --------------------------------------------------------------------------- reporting

# row label -> (figure key, format); the table people read, in this order
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("edit precision", "precision", "{:.3f}"),
    ("edit recall", "recall", "{:.3f}"),
    ("F0.5", "f0.5", "{:.3f}"),
    ("detection precision", "detection_precision", "{:.3f}"),
    ("detection recall", "detection_recall", "{:.3f}"),
    ("exact restoration", "exact_restoration", "{:.3f}"),
    ("clean words changed /1k", "clean_words_changed_per_1k", "{:.2f}"),
    ("words / second", "words_per_second", "{:,.0f}"),
    ("pairs", "pairs", "{:,}"),
    ("gold edits", "gold_edits", "{:,}"),
    ("proposed edits", "proposed_edits", "{:,}"),
    ("wrong rewrites", "wrong_rewrites", "{:,}"),
    ("false edits", "false_edits", "{:,}"),
)


def format_table(columns: dict[str, dict], title: str = "") -> str:
    """Rows = metrics, columns = systems; ``columns`` maps system name -> ``Figures.to_dict()``."""
    names = list(columns)
    cells = [[label] + ["-" if columns[n].get(key) is None else fmt.format(columns[n][key]) for n in names]
             for label, key, fmt in TABLE_ROWS]
    header = ["metric"] + names
    widths = [max(len(row[i]) for row in cells + [header]) for i in range(len(header))]

    def line(row):
        return "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))

    lines = [title] if title else []
    lines += [line(header), "  ".join("-" * w for w in widths)] + [line(row) for row in cells]
    return "\n".join(lines)


def format_markdown(columns: dict[str, dict], title: str = "") -> str:
    names = list(columns)
    lines = [f"### {title}", ""] if title else []
    lines += ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, fmt in TABLE_ROWS:
        values = ["-" if columns[n].get(key) is None else fmt.format(columns[n][key]) for n in names]
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def figures_dict(figures: Figures, signature: str) -> dict:
    return {**figures.to_dict(), "signature": signature}

# --------------------------------------------------------------------------- several systems, several sets

SHARED_GOLD = Path("shared") / "eval" / "tortured-phrases.gold.jsonl"


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shared_gold_file() -> Path | None:
    """The real-spin gold file in ``../shared/eval`` beside the repository, if there is one."""
    for base in (repo_root().parent, Path.cwd().parent, Path.cwd()):
        candidate = base / SHARED_GOLD
        if candidate.is_file():
            return candidate
    return None


def build_systems(model_dir: str | Path | None = None, threshold: float | None = None,
                  compare: bool = False, rerank: str | None = None,
                  verify: str | None = None) -> dict[str, object]:
    """``default``: the models a plain ``repair`` uses (``rerank``, ``verify``: with the LM); with
    ``compare`` also ``lexicon``, the baseline in both roles (at its own calibrated threshold)."""
    from .components import default_model_dir
    from .repairer import Repairer

    systems: dict[str, object] = {"default": Repairer.from_pretrained(model_dir, threshold=threshold, rerank=rerank,
                                                                   verify=verify)}
    if compare:
        lexicon = Path(model_dir or default_model_dir()) / "lexicon"
        systems["lexicon"] = Repairer.from_pretrained(model_dir, detector=lexicon, rewriter=lexicon)
    return systems


@dataclass(frozen=True)
class SystemScore:
    name: str
    signature: str
    figures: Figures

    def to_dict(self) -> dict:
        return {**self.figures.to_dict(), "signature": self.signature}


def evaluate_systems(systems: dict[str, object], pairs: Sequence[EvalPair]) -> list[SystemScore]:
    """Score each system on the same pairs; systems with the same signature run once."""
    by_signature: dict[str, Figures] = {}
    scores = []
    for name, repairer in systems.items():
        signature = getattr(repairer, "signature", name)
        if signature not in by_signature:
            by_signature[signature] = evaluate(repairer, pairs)
        scores.append(SystemScore(name, signature, by_signature[signature]))
    return scores
