"""Words and phrases a user never wants flagged (brand names, jargon, house style).

An entry matches case-insensitively and in any inflection (``lemminflect``): ignoring "data lake"
also ignores "Data Lakes"; ignoring "run" also ignores "ran" and "running". A detected span that
overlaps an occurrence of an ignored entry is dropped before rewriting, so its words stay as
written. Sources merge: the shipped default list, ``ignore-words = [...]`` in ``[tool.repair]``,
and ``--ignore-words FILE`` (one entry per line, ``#`` starts a comment).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, product
from typing import Iterable, Sequence

from .edits import WORD, Span

# the shipped list every user list is merged with; deliberately empty until a word earns its place
DEFAULT_IGNORE_WORDS: tuple[str, ...] = ()

# words of one phrase may be joined by spaces or hyphens ("stock-market" == "stock market")
PHRASE_GAP = re.compile(r"[\s\-‐‑–]+")
# an entry of n words expands to at most this many surface forms; beyond it, only the last
# word (the usual head of an English noun phrase) is inflected
MAX_FORMS_PER_ENTRY = 512


class IgnoreFileError(ValueError):
    pass


def _normalise(word: str) -> str:
    return word.lower().replace("’", "'")


@lru_cache(maxsize=4096)
def word_forms(word: str) -> frozenset[str]:
    """``word`` with its lemmas and every inflection of them, lower-case."""
    from lemminflect import getAllInflections, getAllInflectionsOOV, getAllLemmas

    word = _normalise(word)
    lemmas = {word} | {lemma.lower() for forms in getAllLemmas(word).values() for lemma in forms}
    forms = set(lemmas)
    for lemma in lemmas:
        inflections = getAllInflections(lemma)
        if not inflections and lemma == word:
            inflections = getAllInflectionsOOV(lemma, "NOUN")
        forms |= {form.lower() for group in inflections.values() for form in group}
    return frozenset(forms)


def _entry_forms(words: Sequence[str]) -> set[tuple[str, ...]]:
    choices = [sorted(word_forms(w)) for w in words]
    size = 1
    for choice in choices:
        size *= len(choice)
    if size > MAX_FORMS_PER_ENTRY:
        choices = [[_normalise(w)] for w in words[:-1]] + [choices[-1]]
    return set(islice(product(*choices), MAX_FORMS_PER_ENTRY))


def read_ignore_file(path: os.PathLike | str) -> list[str]:
    """Entries of an ignore-words file: one word or phrase per line; blank lines and ``#`` comments skipped."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise IgnoreFileError(f"ignore-words file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise IgnoreFileError(f"cannot read ignore-words file {path}: {error}") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@dataclass(frozen=True)
class IgnoreRules:
    """The merged ignore list; ``filter(text, spans)`` drops spans touching an ignored word."""

    entries: tuple[str, ...] = ()
    _forms: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        for entry in self.entries:
            words = tuple(_normalise(w) for w in WORD.findall(entry))
            if words:
                self._forms.setdefault(len(words), set()).update(_entry_forms(words))

    @classmethod
    def from_sources(
        cls,
        words: Iterable[str] = (),
        files: Iterable[os.PathLike | str] = (),
        defaults: Iterable[str] = DEFAULT_IGNORE_WORDS,
    ) -> "IgnoreRules":
        """Merge the shipped defaults, config ``ignore-words`` and ``--ignore-words`` files."""
        merged: dict[str, None] = {}
        for entry in list(defaults) + list(words) + [e for f in files for e in read_ignore_file(f)]:
            if not isinstance(entry, str):
                raise IgnoreFileError(f"ignore-words entries must be strings, got {entry!r}")
            key = " ".join(entry.split())
            if key:
                merged.setdefault(key, None)
        return cls(tuple(merged))

    def __bool__(self) -> bool:
        return bool(self._forms)

    @property
    def fingerprint(self) -> str:
        """Short stable hash of the entries, for result signatures (cached results differ by list)."""
        joined = "\n".join(sorted({_normalise(e) for e in self.entries}))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:10]

    def matches(self, phrase: str) -> bool:
        words = tuple(_normalise(w) for w in WORD.findall(phrase))
        return words in self._forms.get(len(words), ())

    def ranges(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of every occurrence of an ignored entry in ``text``."""
        if not self._forms:
            return []
        tokens = list(WORD.finditer(text))
        words = [_normalise(t.group(0)) for t in tokens]
        found = []
        for i in range(len(tokens)):
            for length, forms in self._forms.items():
                if i + length > len(tokens) or tuple(words[i:i + length]) not in forms:
                    continue
                joined = all(PHRASE_GAP.fullmatch(text[tokens[j].end():tokens[j + 1].start()])
                             for j in range(i, i + length - 1))
                if joined:
                    found.append((tokens[i].start(), tokens[i + length - 1].end()))
        return found

    def filter(self, text: str, spans: Sequence[Span]) -> list[Span]:
        """The spans that overlap no ignored word or phrase."""
        if not self._forms or not spans:
            return list(spans)
        ignored = self.ranges(text)
        return [s for s in spans if not any(s.start < b and s.end > a for a, b in ignored)]
