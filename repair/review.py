"""Reviewing proposed edits one by one, and decision logs that can be applied later.

``ReviewSession`` is the state machine behind ``repair review`` (terminal) and the HTML review
page: it walks the edits in document order and records one ``Decision`` per edit (accept,
reject, pick an alternative, or a custom replacement), with undo and "accept every remaining
edit scoring at least X". It does no I/O; the CLI drives it and renders it.

A ``DecisionLog`` is what a review produces: the decisions plus the SHA-256 of the exact input
text they were made on. ``apply_decisions`` re-applies a log to a file without any model, and
refuses if the file is not byte-for-byte the text that was reviewed. The same JSON format is
the resumable state of an interrupted review, the ``--decisions-out`` file, and the download
of the HTML page.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .edits import Edit, apply_edits, check_edits
from .textio import write_text_atomic

DECISIONS_FORMAT = "spun-repair-decisions"
DECISIONS_VERSION = 1
STATE_SUFFIX = ".repair-review.json"

ACCEPT, REJECT, ALTERNATIVE, CUSTOM = "accept", "reject", "alternative", "custom"
ACTIONS = (ACCEPT, REJECT, ALTERNATIVE, CUSTOM)


class DecisionsError(ValueError):
    """A decisions file that cannot be read or does not fit the text it is applied to."""


class StaleDecisionsError(DecisionsError):
    """The text changed since the decisions were made."""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Decision:
    """What the reviewer did with the edit at ``start:end`` (where the text reads ``original``).

    ``proposed`` is what the repairer suggested; ``replacement`` is what goes into the text
    when ``action`` is not "reject" (for a rejection it equals ``original``).
    """

    start: int
    end: int
    original: str
    proposed: str
    action: str
    replacement: str
    score: float = 1.0

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise DecisionsError(f"unknown action {self.action!r} (known: {', '.join(ACTIONS)})")

    @property
    def changes_text(self) -> bool:
        return self.action != REJECT and self.replacement != self.original

    def as_edit(self) -> Edit:
        return Edit(self.start, self.end, self.original, self.replacement, self.score, source="review")

    def matches(self, edit: Edit) -> bool:
        """Whether this decision was made about ``edit`` (same place, same words)."""
        return (self.start, self.end, self.original) == (edit.start, edit.end, edit.original)

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "original": self.original,
            "proposed": self.proposed,
            "action": self.action,
            "replacement": self.replacement,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        try:
            decision = cls(
                start=int(data["start"]),
                end=int(data["end"]),
                original=str(data["original"]),
                proposed=str(data.get("proposed", data["original"])),
                action=str(data["action"]),
                replacement=str(data.get("replacement", data["original"])),
                score=float(data.get("score", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, DecisionsError):
                raise
            raise DecisionsError(f"a decision lacks or garbles {error}") from None
        if decision.action == REJECT:
            decision = replace(decision, replacement=decision.original)
        return decision


@dataclass(frozen=True)
class DecisionLog:
    """Decisions about one input text, identified by its hash and length."""

    input_sha256: str
    input_chars: int
    decisions: tuple[Decision, ...]
    name: str = ""
    signature: str = ""
    complete: bool = True

    @property
    def applied(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.changes_text)

    def to_dict(self) -> dict:
        return {
            "format": DECISIONS_FORMAT,
            "version": DECISIONS_VERSION,
            "input": {"name": self.name, "sha256": self.input_sha256, "chars": self.input_chars},
            "signature": self.signature,
            "complete": self.complete,
            "decisions": [d.to_dict() for d in self.decisions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data) -> "DecisionLog":
        if not isinstance(data, dict) or data.get("format") != DECISIONS_FORMAT:
            raise DecisionsError(f"not a {DECISIONS_FORMAT} file")
        if data.get("version") != DECISIONS_VERSION:
            raise DecisionsError(f"decisions format version {data.get('version')!r}; this repair reads {DECISIONS_VERSION}")
        source = data.get("input")
        if not isinstance(source, dict) or not isinstance(source.get("sha256"), str):
            raise DecisionsError("the decisions do not say which input they were made on (input.sha256)")
        items = data.get("decisions")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise DecisionsError("'decisions' must be a list of objects")
        return cls(
            input_sha256=source["sha256"],
            input_chars=int(source.get("chars", -1)),
            decisions=tuple(Decision.from_dict(item) for item in items),
            name=str(source.get("name", "")),
            signature=str(data.get("signature", "")),
            complete=bool(data.get("complete", True)),
        )

    @classmethod
    def load(cls, path: os.PathLike | str) -> "DecisionLog":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DecisionsError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise DecisionsError(f"{path}: cannot read it ({error})") from None
        except json.JSONDecodeError as error:
            raise DecisionsError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
        try:
            return cls.from_dict(data)
        except DecisionsError as error:
            raise DecisionsError(f"{path}: {error}") from None

    def save(self, path: os.PathLike | str) -> None:
        write_text_atomic(path, self.to_json())

    def check_input(self, text: str) -> None:
        """Refuse a text other than the one reviewed: offsets into a changed file would be wrong."""
        if text_sha256(text) != self.input_sha256:
            was = f"{self.input_chars:,} characters" if self.input_chars >= 0 else "another text"
            raise StaleDecisionsError(
                f"the file changed since the review (it has {len(text):,} characters and a different "
                f"SHA-256; the decisions were made on {was}, sha256 {self.input_sha256[:12]}…)"
            )


def apply_decisions(text: str, log: DecisionLog) -> str:
    """The text with every non-rejected decision applied; refuses a changed text or a bad log."""
    log.check_input(text)
    try:
        return apply_edits(text, [d.as_edit() for d in log.applied])
    except ValueError as error:
        raise DecisionsError(f"the decisions do not fit the text: {error}") from None


def state_path_for(path: os.PathLike | str) -> Path:
    """Where an unfinished review of ``path`` keeps its decisions: beside the file."""
    path = Path(path)
    return path.with_name(path.name + STATE_SUFFIX)


# ---------------------------------------------------------------------------------------------
# the review state machine


class ReviewError(ValueError):
    """A review command that does not apply (no such alternative, nothing to undo, ...)."""


@dataclass(frozen=True)
class ResumeOutcome:
    restored: int
    dropped: int


class ReviewSession:
    """Walks the edits of one text in order, recording a decision for each.

    The reviewer always faces the first undecided edit; ``accept_above`` may decide later
    edits early, and ``undo`` takes back the most recent command (a whole batch for
    ``accept_above``).
    """

    def __init__(self, text: str, edits: Sequence[Edit], name: str = "", signature: str = ""):
        self.text = text
        self.edits: tuple[Edit, ...] = tuple(check_edits(text, edits))
        self.name = name
        self.signature = signature
        self.sha256 = text_sha256(text)
        self._decisions: dict[int, Decision] = {}
        self._history: list[tuple[int, ...]] = []

    # -- where we are
    @property
    def current_index(self) -> int | None:
        return next((i for i in range(len(self.edits)) if i not in self._decisions), None)

    @property
    def current(self) -> Edit | None:
        index = self.current_index
        return None if index is None else self.edits[index]

    @property
    def done(self) -> bool:
        return len(self._decisions) == len(self.edits)

    @property
    def decided(self) -> int:
        return len(self._decisions)

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return tuple(self._decisions[i] for i in sorted(self._decisions))

    def decision_for(self, index: int) -> Decision | None:
        return self._decisions.get(index)

    # -- decisions about the current edit
    def accept(self) -> Decision:
        edit = self._require_current()
        return self._decide(edit, ACCEPT, edit.replacement)

    def reject(self) -> Decision:
        edit = self._require_current()
        return self._decide(edit, REJECT, edit.original)

    def choose(self, number: int) -> Decision:
        """Take alternative ``number`` (1-based, as shown to the reviewer)."""
        edit = self._require_current()
        if not 1 <= number <= len(edit.alternatives):
            have = f"1-{len(edit.alternatives)}" if edit.alternatives else "none"
            raise ReviewError(f"no alternative {number} for this change (alternatives: {have})")
        return self._decide(edit, ALTERNATIVE, edit.alternatives[number - 1].text)

    def custom(self, replacement: str) -> Decision:
        edit = self._require_current()
        return self._decide(edit, CUSTOM, replacement)

    def accept_above(self, threshold: float) -> int:
        """Accept every undecided edit scoring at least ``threshold``; returns how many."""
        batch = [i for i, e in enumerate(self.edits) if i not in self._decisions and e.score >= threshold]
        for index in batch:
            edit = self.edits[index]
            self._decisions[index] = self._decision(edit, ACCEPT, edit.replacement)
        if batch:
            self._history.append(tuple(batch))
        return len(batch)

    def undo(self) -> tuple[Decision, ...]:
        """Take back the most recent command; returns the decisions it had made."""
        if not self._history:
            raise ReviewError("nothing to undo")
        batch = self._history.pop()
        return tuple(self._decisions.pop(i) for i in batch)

    # -- results
    def result_text(self) -> str:
        return apply_edits(self.text, [d.as_edit() for d in self.decisions if d.changes_text])

    def log(self, complete: bool | None = None) -> DecisionLog:
        return DecisionLog(
            input_sha256=self.sha256,
            input_chars=len(self.text),
            decisions=self.decisions,
            name=self.name,
            signature=self.signature,
            complete=self.done if complete is None else complete,
        )

    def resume(self, log: DecisionLog) -> ResumeOutcome:
        """Restore the decisions of an interrupted review of this same text.

        Decisions about edits the repairer no longer proposes (other model, other threshold)
        are dropped and counted, never applied blindly.
        """
        log.check_input(self.text)
        by_place = {(e.start, e.end, e.original): i for i, e in enumerate(self.edits)}
        restored = dropped = 0
        for decision in log.decisions:
            index = by_place.get((decision.start, decision.end, decision.original))
            if index is None or index in self._decisions:
                dropped += 1
                continue
            self._decisions[index] = replace(decision, proposed=self.edits[index].replacement)
            self._history.append((index,))
            restored += 1
        return ResumeOutcome(restored, dropped)

    # -- internals
    def _require_current(self) -> Edit:
        edit = self.current
        if edit is None:
            raise ReviewError("every change has been decided")
        return edit

    @staticmethod
    def _decision(edit: Edit, action: str, replacement: str) -> Decision:
        return Decision(edit.start, edit.end, edit.original, edit.replacement, action, replacement, edit.score)

    def _decide(self, edit: Edit, action: str, replacement: str) -> Decision:
        index = self.edits.index(edit)
        decision = self._decision(edit, action, replacement)
        self._decisions[index] = decision
        self._history.append((index,))
        return decision


# ---------------------------------------------------------------------------------------------
# showing an edit in its sentence

SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+|(?:\r?\n|\r)[ \t]*(?:\r?\n|\r)")
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EditContext:
    """The sentence around an edit, whitespace collapsed for display."""

    before: str
    original: str
    after: str
    truncated_before: bool = False
    truncated_after: bool = False


def _squash(text: str) -> str:
    return WHITESPACE.sub(" ", text)


def edit_context(text: str, edit: Edit, limit: int = 160) -> EditContext:
    """The sentence holding ``edit`` (at most ``limit`` characters each side)."""
    window_start = max(0, edit.start - limit)
    sentence_start = window_start
    for match in SENTENCE_END.finditer(text, window_start, edit.start):
        sentence_start = match.end()
    limit_end = min(len(text), edit.end + limit)
    match = SENTENCE_END.search(text, edit.end, limit_end)
    # the sentence keeps its closing punctuation and quotes, not the space after them
    sentence_end = match.start() + len(match.group().rstrip()) if match else limit_end
    return EditContext(
        before=_squash(text[sentence_start:edit.start]).lstrip(),
        original=edit.original,
        after=_squash(text[edit.end:sentence_end]).rstrip(),
        truncated_before=sentence_start == window_start > 0,
        truncated_after=not match and limit_end < len(text),
    )

