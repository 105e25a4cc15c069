"""Repair, score or filter a whole corpus: resumable, fault-isolated, parallel.

The job is a pipeline of four small stages:

1. *Reading* turns SRC (a folder of text files, a JSONL file, or a folder of JSONL/Parquet
   shards) into an ordered stream of ``Document``s. Order is fixed (sorted paths, line order)
   so that every run, every engine and every number of workers writes the same bytes. Each
   document carries its markup (``repair.markup``), so only its prose is repaired.
2. An *engine* (in-process, a process pool, or Ray Data) turns documents into ``Outcome``s.
   Workers load the models once (ignore list included) and receive batches of texts; only
   edits come back.
3. The ``Writer`` puts outcomes into DST in input order: mirrored outputs, ``edits.jsonl``,
   ``rejects.jsonl``; then, once those bytes are on disk, one manifest line per document.
4. ``summarize`` rebuilds ``summary.json`` from ``edits.jsonl``, so it covers every document
   however many runs it took.

Crash safety: each manifest line records the byte length of every append-only output at that
point. A rerun keeps the manifest's complete lines, truncates the outputs back to the lengths
its last line recorded (dropping work that was written but never acknowledged) and carries on
with the next document: nothing is lost and nothing is written twice.

The library never imports the CLI; torch, rich, pyarrow and ray are imported only when used.
"""
from __future__ import annotations

import bisect
import copy
import fnmatch
import hashlib
import json
import logging
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .density import VERDICTS, SpinDensity
from .edits import Edit, apply_edits, count_words
from .markup import MARKUP_CHOICES, protected_ranges, resolve_markup

MODES = ("repair", "flag", "filter")
ENGINES = ("local", "ray")
MANIFEST = "manifest.jsonl"
EDITS = "edits.jsonl"
REJECTS = "rejects.jsonl"
SUMMARY = "summary.json"
RESERVED_OUTPUTS = (MANIFEST, EDITS, REJECTS, SUMMARY)
DEFAULT_MAX_SPIN = 0.05
DEFAULT_MAX_BYTES = 10_000_000
DEFAULT_BATCH_SIZE = 16
# upper edges of the spin-score histogram bins (share of words changed)
SPIN_BINS = (0.0, 0.01, 0.02, 0.05, 0.10, 0.20, 0.50, 1.0)
MAX_LISTED_FAILURES = 1000
SHARD_SUFFIXES = (".jsonl", ".parquet")
BINARY_SNIFF_BYTES = 8192


class BatchError(RuntimeError):
    """The job cannot start: bad SRC, DST holding another job, a missing optional library."""


# ---------------------------------------------------------------- documents and outcomes


@dataclass(frozen=True)
class Document:
    """One unit of work. ``text`` is None when reading already failed (``error`` says why)."""

    n: int  # position in the corpus, the resume key
    id: str
    unit: int  # index of the input file it came from
    text: str | None
    error: str | None = None
    raw: bytes | None = None  # the record as read (a JSONL line, a text file's bytes)
    record: dict | None = None  # JSONL/Parquet record around the text
    markup: str = "plain"  # how to find its prose (repair.markup), resolved per document


@dataclass(frozen=True)
class Outcome:
    """What repairing one document produced; ``error`` set means it failed."""

    n: int
    edits: tuple[Edit, ...] = ()
    words: int = 0
    words_changed: int = 0
    error: str | None = None

    @property
    def spin_score(self) -> float:
        """Share of the document's words the repairer changed."""
        return self.words_changed / self.words if self.words else 0.0

    @property
    def density(self) -> SpinDensity:
        """Spun words per 1,000 and the verdict band, exactly as ``check`` and ``fix`` report them."""
        return SpinDensity.of(self.words, self.words_changed)


@dataclass(frozen=True)
class Unit:
    """One input file and how it is read and mirrored."""

    path: Path
    relative: str  # posix path inside SRC (the output path inside DST)
    kind: str  # "text" | "jsonl" | "parquet"
    size: int


@dataclass(frozen=True)
class BatchConfig:
    mode: str = "repair"
    text_field: str = "text"
    id_field: str = "id"
    include: tuple[str, ...] = ("*.txt",)
    max_spin: float = DEFAULT_MAX_SPIN
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    engine: str = "local"
    # auto: text files by suffix (repair.markup.SUFFIX_MARKUP); JSONL/Parquet records have no suffix: plain
    markup: str = "auto"
    # words and phrases never flagged, merged with any the factory's Repairer already ignores
    ignore_words: tuple[str, ...] = ()

    def identity(self) -> dict:
        """Settings that change the output; a resumed job must use the same ones.

        ``ignore_words`` is left out: the Repairer's signature (also in the job header) carries the
        list's fingerprint, which does not change when a long list is merely reordered.
        """
        return {k: v for k, v in asdict(self).items()
                if k not in ("jobs", "batch_size", "engine", "ignore_words")}


@dataclass(frozen=True)
class BatchStats:
    """What one invocation did; ``summary`` covers the whole job, earlier runs included."""

    summary: dict
    processed: int
    skipped: int  # acknowledged by an earlier run
    words: int
    seconds: float

    @property
    def failures(self) -> int:
        return self.summary["failures"]

    @property
    def flagged(self) -> int:
        return self.summary["spin_score"]["flagged"]

    @property
    def exit_code(self) -> int:
        """0 all well; 1 some documents failed, or (flag mode) some are over --max-spin."""
        return 1 if self.failures or self.flagged else 0


# ---------------------------------------------------------------- repairer construction


@dataclass(frozen=True)
class RepairerSpec:
    """A picklable recipe for a Repairer, so that every worker can load its own copy."""

    model_dir: str | None = None
    threshold: float | None = None
    detector: str | None = None
    rewriter: str | None = None
    rerank: str = "none"
    verify: str = "none"

    def __call__(self):
        from .repairer import Repairer

        return Repairer.from_pretrained(self.model_dir, self.threshold, self.detector, self.rewriter,
                                        rerank=self.rerank, verify=self.verify)


def ignore_entries(words: Iterable[str]) -> tuple[str, ...]:
    """``words`` merged with the shipped default list, checked: what ``IgnoringFactory`` applies."""
    from .ignore import IgnoreFileError, IgnoreRules

    if isinstance(words, str):  # one string would be read as a list of its letters
        raise BatchError("ignore_words must be a list of words and phrases, not one string")
    try:
        return IgnoreRules.from_sources(words=words).entries
    except IgnoreFileError as error:
        raise BatchError(f"ignore-words: {error}") from None


def with_ignore_words(repairer, words: Sequence[str]):
    """A shallow copy of ``repairer`` that also ignores ``words`` (the caller's object is left as it was)."""
    from .ignore import IgnoreRules

    if not words:
        return repairer
    current = getattr(repairer, "ignore", None)
    merged = IgnoreRules.from_sources(words=tuple(current.entries if current else ()) + tuple(words))
    repairer = copy.copy(repairer)
    repairer.ignore = merged or None
    return repairer


@dataclass(frozen=True)
class IgnoringFactory:
    """``factory`` whose Repairers also ignore ``words``: picklable, so every worker and Ray actor
    builds the same rules (from the words, not the files, which a cluster node may not have)."""

    factory: Callable
    words: tuple[str, ...]

    def __call__(self):
        return with_ignore_words(self.factory(), self.words)


def document_markup(unit: Unit, choice: str) -> str:
    """The markup of a document of ``unit``: a text file's suffix decides ``auto``; records have none."""
    return resolve_markup(choice, unit.relative if unit.kind == "text" else None)


def repair_one(repairer, n: int, text: str, markup: str = "plain") -> Outcome:
    try:
        # only prose is repaired: code, URLs, tags, math and "repair: off" regions come out as written
        result = repairer.repair(text, protected_ranges(text, markup))
        return Outcome(n, tuple(result.edits), count_words(text), result.words_changed)
    except Exception as error:  # one bad document must not stop the corpus
        return Outcome(n, error=f"repair failed: {type(error).__name__}: {error}")


def repair_many(repairer, items: Sequence[tuple[int, str, str]]) -> list[Outcome]:
    """Outcomes of ``(n, text, markup)`` items."""
    return [repair_one(repairer, n, text, markup) for n, text, markup in items]


# ---------------------------------------------------------------- reading SRC


def list_units(src: Path, include: Sequence[str]) -> list[Unit]:
    """Input files in a fixed order; a file SRC is one JSONL/Parquet shard or one text file."""
    src = Path(src)
    if src.is_file():
        return [_unit(src, src.name)]
    if not src.is_dir():
        raise BatchError(f"{src}: no such file or folder")
    paths = sorted(p for p in src.rglob("*") if p.is_file())
    shards = [p for p in paths if p.suffix in SHARD_SUFFIXES]
    if shards:
        return [_unit(p, p.relative_to(src).as_posix()) for p in shards]
    texts = [p for p in paths if any(fnmatch.fnmatch(p.name, pattern) for pattern in include)]
    if not texts:
        raise BatchError(f"{src}: no files match {', '.join(include)} and no .jsonl/.parquet shards")
    return [_unit(p, p.relative_to(src).as_posix()) for p in texts]


def _unit(path: Path, relative: str) -> Unit:
    kind = {".jsonl": "jsonl", ".parquet": "parquet"}.get(path.suffix, "text")
    return Unit(path, relative, kind, path.stat().st_size)


def decode_text(data: bytes, max_bytes: int) -> tuple[str | None, str | None]:
    """(text, None) or (None, why it is not a usable text document)."""
    if len(data) > max_bytes:
        return None, f"too large: {len(data)} bytes > --max-bytes {max_bytes}"
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        return None, "binary content (NUL bytes)"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return None, f"invalid UTF-8 at byte {error.start}"


def _check_text(text, max_bytes: int) -> str | None:
    if not isinstance(text, str):
        return f"text field is {type(text).__name__}, not a string"
    if len(text) > max_bytes:
        return f"too large: {len(text)} characters > --max-bytes {max_bytes}"
    if "\x00" in text:
        return "binary content (NUL characters)"
    return None


def _record_id(record: dict, id_field: str, fallback: str) -> str:
    value = record.get(id_field)
    return str(value) if value is not None and not isinstance(value, (dict, list)) else fallback


def read_unit(unit: Unit, index: int, first_n: int, config: BatchConfig) -> Iterator[Document]:
    reader = UNIT_READERS[unit.kind]
    markup = document_markup(unit, config.markup)
    for offset, (doc_id, text, error, raw, record) in enumerate(reader(unit, config)):
        yield Document(first_n + offset, doc_id, index, text, error, raw, record, markup)


def _read_text_unit(unit: Unit, config: BatchConfig):
    if unit.size > config.max_bytes:  # never pull a huge file into memory just to refuse it
        yield unit.relative, None, f"too large: {unit.size} bytes > --max-bytes {config.max_bytes}", None, None
        return
    data = unit.path.read_bytes()
    text, error = decode_text(data, config.max_bytes)
    yield unit.relative, text, error, data, None


def _read_jsonl_unit(unit: Unit, config: BatchConfig):
    with open(unit.path, "rb") as handle:
        line_no = 0
        for line in handle:
            line_no += 1
            if not line.strip():
                continue  # blank lines are not records
            raw = line if line.endswith(b"\n") else line + b"\n"
            fallback = f"{unit.relative}:{line_no}"
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield fallback, None, f"invalid UTF-8 at byte {error.start} of the line", raw, None
                continue
            except json.JSONDecodeError as error:
                yield fallback, None, f"invalid JSON: {error.msg}", raw, None
                continue
            if not isinstance(record, dict):
                yield fallback, None, "record is not a JSON object", raw, None
                continue
            doc_id = _record_id(record, config.id_field, fallback)
            text = record.get(config.text_field)
            error = f"no {config.text_field!r} field" if config.text_field not in record else \
                _check_text(text, config.max_bytes)
            yield doc_id, None if error else text, error, raw, record


def _read_parquet_unit(unit: Unit, config: BatchConfig):
    pq = _pyarrow_parquet()
    table = pq.read_table(unit.path)
    if config.text_field not in table.column_names:
        raise BatchError(f"{unit.path}: no column {config.text_field!r} (see --text-field)")
    for row_no, record in enumerate(table.to_pylist()):
        doc_id = _record_id(record, config.id_field, f"{unit.relative}:{row_no}")
        text = record.get(config.text_field)
        error = _check_text(text, config.max_bytes)
        yield doc_id, None if error else text, error, None, record


UNIT_READERS: dict[str, Callable] = {
    "text": _read_text_unit,
    "jsonl": _read_jsonl_unit,
    "parquet": _read_parquet_unit,
}


def count_documents(unit: Unit) -> int:
    """Documents in a unit without parsing them (for the progress bar and resume checks)."""
    if unit.kind == "text":
        return 1
    if unit.kind == "parquet":
        return _pyarrow_parquet().ParquetFile(unit.path).metadata.num_rows
    with open(unit.path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchError("Parquet shards need pyarrow: pip install pyarrow") from None
    return pq


# ---------------------------------------------------------------- durable writing


def _fsync_file(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary sibling, flush it to disk, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    with open(temporary, "wb") as handle:
        handle.write(data)
        _fsync_file(handle)
    os.replace(temporary, path)


def _json_line(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


class AppendFile:
    """An append-only output whose committed length the manifest records."""

    def __init__(self, path: Path, length: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = open(path, "r+b" if path.exists() else "w+b")
        self.handle.truncate(length)  # drop bytes written after the last acknowledged document
        self.handle.seek(length)

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def tell(self) -> int:
        return self.handle.tell()

    def sync(self) -> None:
        _fsync_file(self.handle)

    def close(self) -> None:
        self.handle.close()


@dataclass(frozen=True)
class ResumePoint:
    done: int  # documents acknowledged by the manifest
    offsets: dict  # append-only output -> committed length after the last acknowledged document
    manifest_bytes: int  # length of the manifest prefix to keep


def read_manifest(path: Path, header: dict, units: Sequence[Unit], unit_starts: Sequence[int]) -> ResumePoint:
    """Where an interrupted job stopped, after checking that it was this same job."""
    entries, ends, total = [], [], 0
    for line in path.read_bytes().split(b"\n")[:-1]:  # what follows the last newline is a partial line
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            break
        total += len(line) + 1
        ends.append(total)
    if not entries or entries[0].get("header") != header:
        raise BatchError(f"{path.parent} holds a different job (other input or settings); "
                         "use another output folder or --restart")
    header_end, entries, ends = ends[0], entries[1:], ends[1:]
    if entries:
        # a Parquet shard is written whole when its last document is done: resuming inside
        # one means redoing it from its first document
        done = entries[-1]["n"] + 1
        unit = _unit_of(done, unit_starts)
        if unit is not None and units[unit].kind == "parquet" and unit_starts[unit] != done:
            keep = sum(1 for e in entries if e["n"] < unit_starts[unit])
            entries, ends = entries[:keep], ends[:keep]
    if not entries:
        return ResumePoint(0, {}, header_end)
    return ResumePoint(entries[-1]["n"] + 1, dict(entries[-1]["offsets"]), ends[-1])


def _unit_of(n: int, unit_starts: Sequence[int]) -> int | None:
    """Index of the unit holding document ``n`` (None past the end)."""
    index = bisect.bisect_right(unit_starts, n) - 1
    return index if 0 <= index < len(unit_starts) - 1 else None


@dataclass(frozen=True)
class _Pending:
    """A document whose outputs are written (or buffered) but not yet acknowledged."""

    doc: Document
    status: str
    edits_line: bytes
    reject_line: bytes | None
    shard_end: tuple[str, int] | None  # (shard, its length right after this document)


class Writer:
    """Writes outcomes in corpus order and acknowledges them in the manifest once durable.

    Every manifest line carries the lengths the append-only outputs had right after its
    document, so any prefix of the manifest describes a consistent state to resume from.
    """

    def __init__(self, dst: Path, config: BatchConfig, units: Sequence[Unit], unit_starts: Sequence[int],
                 signature: str, resume: ResumePoint, header: dict):
        self.dst, self.config, self.units, self.unit_starts = dst, config, units, unit_starts
        self.signature = signature
        self.resume = resume
        self.manifest = AppendFile(dst / MANIFEST, resume.manifest_bytes)
        if not resume.manifest_bytes:
            self.manifest.write(_json_line({"header": header}))
            self.manifest.sync()
        self.edits = AppendFile(dst / EDITS, resume.offsets.get(EDITS, 0))
        self.rejects = AppendFile(dst / REJECTS, resume.offsets.get(REJECTS, 0)) if config.mode == "filter" else None
        self.unit: int | None = None  # the input file being mirrored
        self.shard: AppendFile | None = None
        self.parquet_rows: list[dict] = []
        self.pending: list[_Pending] = []
        self.directories: set[Path] = set()

    # -- per document
    def add(self, doc: Document, outcome: Outcome) -> None:
        if doc.unit != self.unit:
            self._finish_unit()
            self.unit = doc.unit
        unit = self.units[doc.unit]
        status = self._status(outcome)
        keep = self.config.mode == "repair" or (self.config.mode == "filter" and status == "ok")
        shard_end = None
        if self.config.mode != "flag":
            OUTPUT_WRITERS[unit.kind](self, doc, outcome, unit, keep)
            if self.shard is not None:
                shard_end = (unit.relative, self.shard.tell())
        reject = _json_line(self._reject_entry(doc, outcome, unit)) if status == "rejected" else None
        edits_line = _json_line(self._edits_entry(doc, outcome, unit, status))
        self.pending.append(_Pending(doc, status, edits_line, reject, shard_end))

    def _status(self, outcome: Outcome) -> str:
        if outcome.error:
            return "failed"
        over = outcome.spin_score > self.config.max_spin
        return STATUS_OVER_MAX_SPIN[self.config.mode] if over else "ok"

    def _edits_entry(self, doc: Document, outcome: Outcome, unit: Unit, status: str) -> dict:
        entry = {"id": doc.id, "source": unit.relative, "status": status}
        if outcome.error:
            entry["error"] = outcome.error
            return entry
        density = outcome.density
        entry.update(
            markup=doc.markup,
            words=outcome.words,
            words_changed=outcome.words_changed,
            spin_score=round(outcome.spin_score, 6),
            spin_per_1000=round(density.per_1000, 2),
            verdict=density.verdict,
            edits=[e.to_dict() for e in outcome.edits],
            signature=self.signature,
        )
        return entry

    def _reject_entry(self, doc: Document, outcome: Outcome, unit: Unit) -> dict:
        density = outcome.density
        entry = {"id": doc.id, "source": unit.relative, "spin_score": round(outcome.spin_score, 6),
                 "spin_per_1000": round(density.per_1000, 2), "verdict": density.verdict}
        if doc.record is not None:
            entry["record"] = doc.record
        else:
            entry["text"] = doc.text
        return entry

    # -- mirrored outputs, one writer per input kind
    def _write_text(self, doc: Document, outcome: Outcome, unit: Unit, keep: bool) -> None:
        if not keep or doc.raw is None:  # a file too large to read is recorded, not copied
            return
        if self.config.mode == "repair" and not outcome.error and doc.text is not None:
            data = apply_edits(doc.text, outcome.edits).encode("utf-8")
        else:
            data = doc.raw  # kept by the filter, or not repairable: passed through unchanged
        target = self.dst / unit.relative
        write_atomic(target, data)
        self.directories.add(target.parent)

    def _write_jsonl(self, doc: Document, outcome: Outcome, unit: Unit, keep: bool) -> None:
        if self.shard is None:
            first = doc.n == self.unit_starts[doc.unit]
            self.shard = AppendFile(self.dst / unit.relative, 0 if first else self.resume.offsets.get(unit.relative, 0))
        if not keep:
            return
        if outcome.error or not outcome.edits or self.config.mode != "repair":
            self.shard.write(doc.raw)  # unchanged records keep their exact bytes
        else:
            record = dict(doc.record)
            record[self.config.text_field] = apply_edits(doc.text, outcome.edits)
            self.shard.write(_json_line(record))

    def _write_parquet(self, doc: Document, outcome: Outcome, unit: Unit, keep: bool) -> None:
        if not keep:
            return
        record = dict(doc.record)
        if self.config.mode == "repair" and not outcome.error and outcome.edits:
            record[self.config.text_field] = apply_edits(doc.text, outcome.edits)
        self.parquet_rows.append(record)

    def _finish_unit(self) -> None:
        """The current input file is done: make its mirror durable."""
        if self.unit is None:
            return
        unit = self.units[self.unit]
        if self.shard is not None:
            self.shard.sync()
            self.shard.close()
            self.shard = None
        if unit.kind == "parquet" and self.config.mode != "flag":
            self._write_parquet_file(unit)
        self.unit = None

    def _write_parquet_file(self, unit: Unit) -> None:
        import io

        import pyarrow as pa

        pq = _pyarrow_parquet()
        table = pa.Table.from_pylist(self.parquet_rows, schema=pq.read_schema(unit.path))
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        write_atomic(self.dst / unit.relative, buffer.getvalue())
        self.directories.add((self.dst / unit.relative).parent)
        self.parquet_rows = []

    # -- acknowledgement
    def ready(self) -> bool:
        """Pending documents may be acknowledged unless a Parquet file is still being filled."""
        return bool(self.pending) and not (self.unit is not None and self.units[self.unit].kind == "parquet")

    def commit(self) -> None:
        if not self.pending:
            return
        if self.shard is not None:
            self.shard.sync()
        for directory in self.directories:
            _fsync_directory(directory)
        self.directories.clear()
        lines = []
        rejects_end = self.rejects.tell() if self.rejects is not None else None
        for item in self.pending:
            self.edits.write(item.edits_line)
            offsets = {EDITS: self.edits.tell()}
            if self.rejects is not None:
                if item.reject_line is not None:
                    self.rejects.write(item.reject_line)
                rejects_end = self.rejects.tell()
                offsets[REJECTS] = rejects_end
            if item.shard_end is not None:
                offsets[item.shard_end[0]] = item.shard_end[1]
            lines.append(_json_line({"n": item.doc.n, "id": item.doc.id, "status": item.status, "offsets": offsets}))
        self.edits.sync()
        if self.rejects is not None:
            self.rejects.sync()
        # the outputs now hold these documents; only now may the manifest say so
        for line in lines:
            self.manifest.write(line)
        self.manifest.sync()
        self.pending = []

    def close(self) -> None:
        """Finish normally: the last file is completed and everything acknowledged."""
        self._finish_unit()
        self.commit()
        self.release()

    def release(self) -> None:
        """Let go of the files without acknowledging anything more (after an error)."""
        for handle in (self.shard, self.edits, self.rejects, self.manifest):
            if handle is not None and not handle.handle.closed:
                handle.close()


STATUS_OVER_MAX_SPIN = {"repair": "ok", "flag": "flagged", "filter": "rejected"}

OUTPUT_WRITERS: dict[str, Callable] = {
    "text": Writer._write_text,
    "jsonl": Writer._write_jsonl,
    "parquet": Writer._write_parquet,
}


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# ---------------------------------------------------------------- engines


_WORKER_REPAIRER = None


def _worker_init(factory, threads: int) -> None:
    global _WORKER_REPAIRER
    # Ctrl-C is the driver's to handle (it stops cleanly and resumes later); a worker dying of it
    # would look like a document crashing the model
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    _WORKER_REPAIRER = factory()
    torch = sys.modules.get("torch")  # only a model that already pulled in torch pays for this
    if torch is not None:
        torch.set_num_threads(threads)


def _exit_with_parent(poll_seconds: float = 1.0) -> None:
    """A driver killed outright (kill -9, OOM) cannot stop its pool, and an idle worker would wait
    on the task queue for ever: watch the parent and leave when it is gone."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_repair(items: list[tuple[int, str, str]]) -> list[Outcome]:
    return repair_many(_WORKER_REPAIRER, items)


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in documents:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _failed_outcome(doc: Document) -> Outcome:
    return Outcome(doc.n, error=doc.error)


def run_inline(documents: Iterable[Document], factory, batch_size: int) -> Iterator[tuple[Document, Outcome]]:
    """One process, no pickling: the right engine for one core, tests and debugging."""
    repairer = factory()
    for batch in _batches(documents, batch_size):
        yield from _pair(batch, repair_many(repairer, _work(batch)))


def _pair(batch: list[Document], outcomes: list[Outcome]) -> Iterator[tuple[Document, Outcome]]:
    by_n = {o.n: o for o in outcomes}
    for doc in batch:
        yield doc, by_n.get(doc.n) or _failed_outcome(doc)


def run_pool(documents: Iterable[Document], factory, jobs: int, batch_size: int) -> Iterator[tuple[Document, Outcome]]:
    """Batches go to ``jobs`` worker processes; results come back in corpus order."""
    threads = max(1, (os.cpu_count() or 1) // jobs)

    def new_pool(workers: int = jobs) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(factory, threads))

    window = 2 * jobs  # batches in flight: enough to keep every worker busy, bounded memory
    executor = new_pool()
    in_flight: list[tuple[list[Document], object]] = []
    source = _batches(documents, batch_size)
    try:
        while True:
            while len(in_flight) < window:
                batch = next(source, None)
                if batch is None:
                    break
                in_flight.append((batch, executor.submit(_worker_repair, _work(batch))))
            if not in_flight:
                break
            batch, future = in_flight.pop(0)
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                # a worker died (a document crashed the model, memory ran out): redo this batch
                # one document at a time to find the culprit, then carry on in a fresh pool
                executor.shutdown(cancel_futures=True)
                outcomes = _isolate(new_pool, batch)
                executor = new_pool()
                in_flight = [(b, executor.submit(_worker_repair, _work(b))) for b, _ in in_flight]
            yield from _pair(batch, outcomes)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not wait for running batches
        raise
    executor.shutdown()


def _work(batch: list[Document]) -> list[tuple[int, str, str]]:
    return [(d.n, d.text, d.markup) for d in batch if d.text is not None]


def _isolate(new_pool: Callable, batch: list[Document]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    executor = new_pool(1)
    try:
        for doc in batch:
            if doc.text is None:
                continue
            try:
                outcomes += executor.submit(_worker_repair, _work([doc])).result()
            except BrokenProcessPool:
                outcomes.append(Outcome(doc.n, error="the worker process died on this document"))
                executor.shutdown(cancel_futures=True)
                executor = new_pool(1)
    finally:
        executor.shutdown(cancel_futures=True)
    return outcomes


class RayRepairActor:
    """Ray Data batch actor: loads the models once, repairs whole batches."""

    def __init__(self, factory):
        self.repairer = factory()

    def __call__(self, batch: dict) -> dict:
        items = list(zip((int(n) for n in batch["n"]), (str(t) for t in batch["text"]),
                         (str(m) for m in batch["markup"])))
        outcomes = repair_many(self.repairer, items)
        return {"n": [o.n for o in outcomes], "outcome": [json.dumps(_outcome_to_dict(o)) for o in outcomes]}


def _outcome_to_dict(outcome: Outcome) -> dict:
    return {"n": outcome.n, "edits": [e.to_dict() for e in outcome.edits], "words": outcome.words,
            "words_changed": outcome.words_changed, "error": outcome.error}


def _outcome_from_dict(data: dict) -> Outcome:
    return Outcome(data["n"], tuple(Edit.from_dict(e) for e in data["edits"]), data["words"],
                   data["words_changed"], data["error"])


def _actor_pool(ray_data, size: int) -> dict:
    """A fixed pool of ``size`` actors: ``compute=ActorPoolStrategy`` where Ray has it, else ``concurrency``."""
    strategy = getattr(ray_data, "ActorPoolStrategy", None)
    return {"compute": strategy(size=size)} if strategy else {"concurrency": size}


def run_ray(documents: Iterable[Document], factory, jobs: int, batch_size: int) -> Iterator[tuple[Document, Outcome]]:
    """Same work on Ray Data: local when RAY_ADDRESS is unset, the cluster when it is set.

    The driver reads SRC and writes DST (so resume works exactly as locally); the actors, one
    per ``jobs``, hold the models and do the repairing.
    """
    try:
        import ray
        import ray.data
    except ImportError:
        raise BatchError("--engine ray needs Ray: pip install 'spun-repair[ray]'") from None
    if not ray.is_initialized():
        # Ray's own notices (token auth, progress bars) mean nothing to a batch user: errors only
        options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        if not os.environ.get("RAY_ADDRESS"):
            options["num_cpus"] = max(jobs, 1)  # local mode: as many actors as asked, no more
        ray.init(**options)
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    documents = list(documents)
    work = [{"n": n, "text": text, "markup": markup} for n, text, markup in _work(documents)]
    results: dict[int, Outcome] = {}
    if work:
        dataset = ray.data.from_items(work, override_num_blocks=max(1, -(-len(work) // batch_size)))
        repaired = dataset.map_batches(
            RayRepairActor,
            fn_constructor_kwargs={"factory": factory},
            batch_size=batch_size,
            num_cpus=1,
            **_actor_pool(ray.data, max(jobs, 1)),
        )
        for row in repaired.iter_rows():
            outcome = _outcome_from_dict(json.loads(row["outcome"]))
            results[outcome.n] = outcome
    for doc in documents:
        yield doc, results.get(doc.n) or _failed_outcome(doc)


# ---------------------------------------------------------------- the job


def _job_header(src: Path, units: Sequence[Unit], config: BatchConfig, signature: str) -> dict:
    listing = hashlib.sha256()
    for unit in units:
        listing.update(f"{unit.relative}\0{unit.size}\n".encode())
    header = {"src": str(Path(src).resolve()), "inputs": listing.hexdigest()[:16], "config": config.identity(),
              "signature": signature}
    return json.loads(json.dumps(header))  # as it reads back from the manifest (tuples -> lists)


def _reset_outputs(dst: Path, units: Sequence[Unit]) -> None:
    for name in RESERVED_OUTPUTS:
        (dst / name).unlink(missing_ok=True)
    for unit in units:
        (dst / unit.relative).unlink(missing_ok=True)


def run_batch(
    src: os.PathLike | str,
    dst: os.PathLike | str,
    config: BatchConfig = BatchConfig(),
    factory: Callable | None = None,
    restart: bool = False,
    progress: bool | None = None,
) -> BatchStats:
    """Run (or continue) a batch job from ``src`` into ``dst``; see the module docstring.

    ``factory`` builds a Repairer (default: ``RepairerSpec()``, the shipped models); with
    ``jobs > 1`` or the Ray engine it must be picklable, since every worker calls it once.
    ``config.ignore_words`` are added to whatever that Repairer already ignores.
    """
    if config.mode not in MODES:
        raise BatchError(f"unknown mode {config.mode!r}; choose from {', '.join(MODES)}")
    if config.engine not in ENGINES:
        raise BatchError(f"unknown engine {config.engine!r}; choose from {', '.join(ENGINES)}")
    if config.markup not in MARKUP_CHOICES:
        raise BatchError(f"unknown markup {config.markup!r}; choose from {', '.join(MARKUP_CHOICES)}")
    src, dst = Path(src), Path(dst)
    factory = factory or RepairerSpec()
    words = ignore_entries(config.ignore_words)
    if words:
        factory = IgnoringFactory(factory, words)
    units = list_units(src, config.include)
    if src.is_dir() and dst.resolve().is_relative_to(src.resolve()):
        raise BatchError(f"output folder {dst} lies inside the input folder {src}")
    clash = [u.relative for u in units if u.relative in RESERVED_OUTPUTS]
    if clash:
        raise BatchError(f"input file {clash[0]} would collide with the job's own {clash[0]}")
    unit_starts = [0]
    for unit in units:
        unit_starts.append(unit_starts[-1] + count_documents(unit))

    repairer = factory()  # fails fast on missing models, and names the job's signature
    signature = repairer.signature
    header = _job_header(src, units, config, signature)
    if restart:
        _reset_outputs(dst, units)
    manifest_path = dst / MANIFEST
    if manifest_path.exists():
        resume = read_manifest(manifest_path, header, units, unit_starts)
    elif not restart and dst.exists() and any(dst.iterdir()):
        raise BatchError(f"{dst} is not empty and holds no batch manifest; use an empty folder or --restart")
    else:
        resume = ResumePoint(0, {}, 0)
    dst.mkdir(parents=True, exist_ok=True)

    inline = config.engine == "local" and config.jobs <= 1
    if inline:
        runner = lambda docs: run_inline(docs, lambda: repairer, config.batch_size)  # noqa: E731
    else:
        del repairer  # workers load their own; the driver need not hold the models
        engine = run_ray if config.engine == "ray" else run_pool
        runner = lambda docs: engine(docs, factory, config.jobs, config.batch_size)  # noqa: E731

    writer = Writer(dst, config, units, unit_starts, signature, resume, header)
    started = time.perf_counter()
    processed = words = 0
    with _progress_bar(unit_starts[-1], resume.done, progress) as bar:
        try:
            for doc, outcome in runner(_documents_from(units, unit_starts, config, resume.done)):
                writer.add(doc, outcome)
                processed += 1
                words += outcome.words
                if writer.ready() and len(writer.pending) >= config.batch_size:
                    writer.commit()
                bar.advance(1, outcome.words)
        except BaseException:
            writer.release()  # what is acknowledged stays; the rest is redone next time
            raise
        writer.close()
    seconds = time.perf_counter() - started
    summary = summarize(dst, config, signature)
    summary["throughput"] = {
        "documents": processed,
        "resumed_after": resume.done,
        "words": words,
        "seconds": round(seconds, 3),
        "documents_per_second": round(processed / seconds, 2) if seconds else None,
        "words_per_second": round(words / seconds, 1) if seconds else None,
        "engine": config.engine,
        "jobs": config.jobs,
    }
    write_atomic(dst / SUMMARY, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    return BatchStats(summary, processed, resume.done, words, seconds)


def _documents_from(units: Sequence[Unit], unit_starts: Sequence[int], config: BatchConfig,
                    done: int) -> Iterator[Document]:
    for index, unit in enumerate(units):
        if unit_starts[index + 1] <= done:
            continue
        for doc in read_unit(unit, index, unit_starts[index], config):
            if doc.n >= done:
                yield doc


def summarize(dst: Path, config: BatchConfig, signature: str) -> dict:
    """Whole-job totals from ``edits.jsonl`` (the per-document record of every run)."""
    labels = [_bin_label(i) for i in range(len(SPIN_BINS))]
    histogram = dict.fromkeys(labels, 0)
    verdicts = dict.fromkeys(VERDICTS[::-1], 0)  # clean first
    counts = {"ok": 0, "failed": 0, "rejected": 0, "flagged": 0}
    words = changed = edits = 0
    failures = []
    with open(dst / EDITS, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            counts[entry["status"]] += 1
            if entry["status"] == "failed":
                failures.append({"id": entry["id"], "source": entry["source"], "reason": entry["error"]})
                continue
            words += entry["words"]
            changed += entry["words_changed"]
            edits += len(entry["edits"])
            histogram[labels[_bin_index(entry["spin_score"])]] += 1
            verdicts[SpinDensity.of(entry["words"], entry["words_changed"]).verdict] += 1
    documents = sum(counts.values())
    return {
        "mode": config.mode,
        "signature": signature,
        "documents": documents,
        "words": words,
        "words_changed": changed,
        "spin_per_1000": round(SpinDensity.of(words, changed).per_1000, 2),  # the corpus as one text
        "verdicts": verdicts,  # documents per verdict band; failed documents have none
        "edits": edits,
        "spin_score": {"max_spin": config.max_spin, "flagged": counts["flagged"], "rejected": counts["rejected"],
                       "histogram": histogram},
        "failures": counts["failed"],
        "failed_documents": failures[:MAX_LISTED_FAILURES],
    }


def _bin_index(score: float) -> int:
    for index, edge in enumerate(SPIN_BINS):
        if score <= edge:
            return index
    return len(SPIN_BINS) - 1


def _bin_label(index: int) -> str:
    if index == 0:
        return "0"
    return f"({SPIN_BINS[index - 1]:g}, {SPIN_BINS[index]:g}]"


# ---------------------------------------------------------------- progress


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, documents: int, words: int) -> None:
        pass


class _RichBar(_NoBar):
    """documents done / total, documents/s and words/s, on stderr."""

    def __init__(self, total: int, done: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("repair batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[docs_rate]} docs/s  {task.fields[words_rate]} words/s"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task("batch", total=total, completed=done, docs_rate="-", words_rate="-")
        self.started = time.perf_counter()
        self.documents = self.words = 0

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def advance(self, documents: int, words: int) -> None:
        self.documents += documents
        self.words += words
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=documents, docs_rate=f"{self.documents / elapsed:,.1f}",
                             words_rate=f"{self.words / elapsed:,.0f}")


def _progress_bar(total: int, done: int, progress: bool | None):
    if progress is None:
        progress = sys.stderr.isatty() and sys.stdout.isatty()
    return _RichBar(total, done) if progress else _NoBar()


# ---------------------------------------------------------------- Hugging Face datasets


class BatchRepairer:
    """``dataset.map(batch_repairer(), batched=True)``: adds repaired text, spin score, edits.

    Loads the models on first use (and again after pickling), so that ``datasets`` can hash
    and ship it to ``num_proc`` workers cheaply.
    """

    def __init__(self, factory: Callable, text_field: str = "text", prefix: str = "", markup: str = "plain"):
        self.factory = factory
        self.text_field = text_field
        self.prefix = prefix
        self.markup = markup
        self._repairer = None

    def __getstate__(self):
        return {"factory": self.factory, "text_field": self.text_field, "prefix": self.prefix,
                "markup": self.markup, "_repairer": None}

    @property
    def repairer(self):
        if self._repairer is None:
            self._repairer = self.factory()
        return self._repairer

    def __call__(self, batch: dict) -> dict:
        if self.text_field not in batch:
            raise KeyError(f"batch has no {self.text_field!r} column (columns: {', '.join(batch)})")
        repaired, scores, edits = [], [], []
        for n, text in enumerate(batch[self.text_field]):
            outcome = repair_one(self.repairer, n, text, self.markup) if isinstance(text, str) \
                else Outcome(n, error="not text")
            if outcome.error:
                repaired.append(text)
                scores.append(None)
                edits.append(None)
                continue
            repaired.append(apply_edits(text, outcome.edits))
            scores.append(outcome.spin_score)
            edits.append(json.dumps([e.to_dict() for e in outcome.edits], ensure_ascii=False))
        return {f"{self.prefix}repaired": repaired, f"{self.prefix}spin_score": scores,
                f"{self.prefix}edits": edits}


def batch_repairer(
    model_dir: os.PathLike | str | None = None,
    text_field: str = "text",
    threshold: float | None = None,
    repairer=None,
    factory: Callable | None = None,
    prefix: str = "",
    ignore_words: Iterable[str] = (),
    markup: str = "plain",
) -> BatchRepairer:
    """A batched map function for Hugging Face ``datasets`` (or any dict of lists).

    Returns columns ``repaired``, ``spin_score`` (share of words changed; None when the row's
    text is missing or failed) and ``edits`` (JSON list of edits), each prefixed by ``prefix``.
    Pass a loaded ``repairer`` to reuse one, or a picklable ``factory`` for multiprocess maps.
    ``ignore_words`` (words and phrases, as in ``[tool.repair] ignore-words``) are never flagged;
    ``markup`` (plain, markdown, latex, html; a row has no file suffix, so auto means plain) says
    which parts of each text are prose.
    """
    markup = resolve_markup(markup)  # MarkupError (a ValueError) names the choices
    words = ignore_entries(ignore_words)
    if repairer is not None:
        repairer = with_ignore_words(repairer, words)  # a copy: the caller's repairer is left as it was
        function = BatchRepairer(lambda: repairer, text_field, prefix, markup)
        function._repairer = repairer
        return function
    factory = factory or RepairerSpec(str(model_dir) if model_dir else None, threshold)
    return BatchRepairer(IgnoringFactory(factory, words) if words else factory, text_field, prefix, markup)
