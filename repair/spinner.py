"""A synthetic article spinner that behaves like the real tools, for training and test data.

What real spinners do, and this module imitates (a naive "random synonym of any sense" spinner
teaches a model that any odd word is spun, which is not what spun text looks like):

* each tool owns a FIXED dictionary: a word maps to one chosen substitute, and every document
  the tool spins uses it consistently; different tools (seeds) own different dictionaries;
* dictionaries prefer the dominant sense and frequent, same-part-of-speech substitutes, so
  most swaps read fluently and only some land on a wrong sense;
* function words, connectives and set phrases are swapped from a paraphrase table
  (``repair/data/paraphrases.tsv``), one word for several and several for one;
* the heavy profile goes word by word, also through multiword terms, and sometimes leaves
  a/an wrong; the light one leaves WordNet collocations ("stock market") alone;
* the term profile is the paper mill's: it leaves most of the prose alone and goes through the
  text's technical terms (noun compounds) word by word, sense-blind, so "data mining" comes out
  with one or both words swapped, the way the published tortured phrases look;
* names, numbers and quotations are mostly left alone.

``Spinner(profile, seed).spin(text)`` returns a ``SpinResult`` whose edits map spans of the
spun text back onto the original; applying them to ``spun`` gives back ``original``.
"""
from __future__ import annotations

import bisect
import hashlib
import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable

from . import thesaurus

TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")

# Words the thesaurus path never touches: swapping these from WordNet gives nonsense
# ("is" -> "exist"); the ones a spinner does swap are in the paraphrase table instead.
FUNCTION_WORDS = frozenset("""
a an the this that these those some any no every each either neither all both half
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
one ones myself yourself himself herself itself ourselves themselves who whom whose which what
be am is are was were been being have has had having do does did doing done will would shall
should can could may might must ought not nor and or but if then than so as because since
although though while whereas unless until till when whenever where wherever whether why how
of to in on at by for with from into onto upon about above below over under between among
through throughout during before after against without within along across around behind
beyond near off out up down toward towards via per like unlike despite except besides
there here now just only also too very quite rather well even still yet already ever never
again once twice more most less least much many few several such same other another else
own enough however therefore thus hence moreover furthermore indeed instead otherwise
s t don didn doesn isn aren wasn weren won wouldn shouldn couldn let lets
""".split())

ARTICLES = frozenset({"a", "an"})
# pronoun-like words WordNet lists as nouns ("nothing" -> "cypher"); never an original or a substitute
_NEVER_SUBSTITUTES = frozenset("""
nothing something anything everything nobody somebody anybody everybody someone anyone everyone none
thing things mr mrs ms dr yes ok okay
""".split())
_VOWEL_SOUND_EXCEPTIONS = ("uni", "use", "usu", "usa", "uti", "eu", "one", "once", "ewe", "ure", "uro")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")


def needs_an(word: str) -> bool:
    lower = word.lower()
    if lower.startswith(_SILENT_H):
        return True
    return lower[:1] in "aeiou" and not lower.startswith(_VOWEL_SOUND_EXCEPTIONS)


@dataclass(frozen=True)
class SpinEdit:
    """``spun[spun_start:spun_end]`` replaced ``original[orig_start:orig_end]``."""

    spun_start: int
    spun_end: int
    orig_start: int
    orig_end: int
    spun: str
    original: str
    kind: str  # "word" (thesaurus), "phrase" (multiword table entry), "function" (function words)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SpinResult:
    original: str
    spun: str
    edits: tuple[SpinEdit, ...]
    profile: str

    def restore(self) -> str:
        """Apply the edits to ``spun``: gives back ``original`` (the data contract's invariant)."""
        out, cursor = [], 0
        for edit in self.edits:
            out.append(self.spun[cursor:edit.spun_start])
            out.append(edit.original)
            cursor = edit.spun_end
        out.append(self.spun[cursor:])
        return "".join(out)


@dataclass(frozen=True)
class Profile:
    """How one family of spinning tools behaves. Rates are per document, drawn from a range."""

    name: str
    word_rate: tuple[float, float]  # share of a document's thesaurus-eligible lemmas swapped
    function_rate: tuple[float, float]  # share of table-eligible function words/phrases swapped
    coverage: float  # share of lemmas the tool's dictionary has an entry for at all
    max_sense_rank: int  # senses beyond this are never drawn from WordNet
    sources: frozenset  # candidate kinds drawn: synset, similar, related (hyper/hyponym), moby (sense-blind)
    min_zipf: float  # substitutes rarer than this are never chosen
    frequency_weight: float  # how strongly frequent substitutes are preferred
    sharpness: float  # exponent on the sense prior: high = dominant sense almost always
    multiword_substitutes: bool
    table_multiword: bool  # match multiword table originals (phrase rewriters do)
    table_share: float  # share of table entries the tool knows
    respect_collocations: bool  # leave "stock market" alone
    careful_pos: bool  # skip words whose part of speech the context leaves in doubt
    article_fix: float  # probability a/an is corrected after a swap
    quote_spin: float  # probability a document's quotations are spun too
    name_spin: float  # probability a capitalised mid-sentence common word is swapped
    term_rate: tuple[float, float] = (0.0, 0.0)  # share of a document's noun-compound terms spun word by word
    term_word_rate: float = 0.0  # each word of a spun term is swapped with this probability (at least one is)


PROFILES: dict[str, Profile] = {
    # careful synonym swapper: dominant sense, frequent single words, leaves collocations alone
    "light": Profile("light", word_rate=(0.5, 0.8), function_rate=(0.2, 0.4), coverage=0.85,
                     max_sense_rank=1, sources=frozenset({"synset", "similar"}), min_zipf=3.0,
                     frequency_weight=1.5, sharpness=2.0, multiword_substitutes=False, table_multiword=False,
                     table_share=0.4, respect_collocations=True, careful_pos=True, article_fix=1.0,
                     quote_spin=0.0, name_spin=0.0),
    # word-by-word spinner: every word it can, any sense, through multiword terms, a/an left wrong
    "heavy": Profile("heavy", word_rate=(0.9, 1.0), function_rate=(0.75, 0.95), coverage=1.0,
                     max_sense_rank=6, sources=frozenset({"synset", "similar", "related", "moby"}), min_zipf=2.0,
                     frequency_weight=1.0, sharpness=1.0, multiword_substitutes=True, table_multiword=False,
                     table_share=1.0, respect_collocations=False, careful_pos=False, article_fix=0.5,
                     quote_spin=0.15, name_spin=0.05),
    # phrase rewriter: connectives and set phrases from the table, some careful word swaps
    "phrase": Profile("phrase", word_rate=(0.25, 0.45), function_rate=(0.7, 0.95), coverage=0.8,
                      max_sense_rank=2, sources=frozenset({"synset", "similar", "related"}), min_zipf=2.8,
                      frequency_weight=1.2, sharpness=1.5, multiword_substitutes=True, table_multiword=True,
                      table_share=0.9, respect_collocations=True, careful_pos=True, article_fix=1.0,
                      quote_spin=0.05, name_spin=0.0),
    # paper mill: through technical terms word by word, any sense, the prose around them mostly untouched
    "term": Profile("term", word_rate=(0.0, 0.15), function_rate=(0.0, 0.1), coverage=0.95,
                    max_sense_rank=6, sources=frozenset({"synset", "similar", "related", "moby"}), min_zipf=2.5,
                    frequency_weight=1.0, sharpness=0.5, multiword_substitutes=False, table_multiword=False,
                    table_share=0.3, respect_collocations=False, careful_pos=True, article_fix=0.8,
                    quote_spin=0.0, name_spin=0.0, term_rate=(0.4, 0.9), term_word_rate=0.7),
}


@dataclass(frozen=True)
class TableEntry:
    original: str
    substitute: str
    kind: str


def _kind_of(original: str) -> str:
    """function: only function words ("because of", "while"); phrase: other multiword; word: one content word."""
    words = original.split()
    if all(w in FUNCTION_WORDS for w in words):
        return "function"
    return "phrase" if len(words) > 1 else "word"


@lru_cache(maxsize=1)
def paraphrase_table() -> tuple[TableEntry, ...]:
    """The hand-written table of function-word and multiword paraphrases shipped with the package."""
    text = resources.files("repair").joinpath("data/paraphrases.tsv").read_text(encoding="utf-8")
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        original, substitute = line.split("\t")
        entries.append(TableEntry(original, substitute, _kind_of(original)))
    return tuple(entries)


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) for a tuple of keys (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@lru_cache(maxsize=1)
def _zipf():
    from wordfreq import zipf_frequency
    return lru_cache(maxsize=300_000)(lambda text: zipf_frequency(text, "en"))


def zipf(text: str) -> float:
    return _zipf()(text)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str  # the spinnable part (a possessive 's is left outside)


@dataclass(frozen=True)
class _Swap:
    first: int  # token index range [first, last]
    last: int
    substitute: str
    kind: str


class Spinner:
    """One spinning tool: a profile plus the dictionary its seed draws (lazily, deterministically).

    ``exclude_originals`` never get swapped; when ``only_originals`` is given, nothing else
    does (used for the held-out split). Keys are lower-case lemmas and table originals.
    """

    def __init__(self, profile: str | Profile, seed: int = 0, exclude_originals: Iterable[str] = (),
                 only_originals: Iterable[str] | None = None):
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown spinner profile {profile!r} (choose from {', '.join(PROFILES)})")
            profile = PROFILES[profile]
        self.profile = profile
        self.seed = seed
        self.exclude = frozenset(exclude_originals)
        self.only = None if only_originals is None else frozenset(only_originals)
        self._dictionary: dict[tuple[str, str], str | None] = {}
        self._table = self._draw_table()
        self._max_phrase = max((len(k.split()) for k in self._table), default=1)

    # ---------------------------------------------------------------- the tool's dictionary
    def allowed(self, original: str) -> bool:
        if original in self.exclude:
            return False
        return self.only is None or original in self.only

    def _draw_table(self) -> dict[str, TableEntry]:
        chosen: dict[str, list[TableEntry]] = {}
        for entry in paraphrase_table():
            multiword = " " in entry.original
            if multiword and not self.profile.table_multiword:
                continue
            if not self.allowed(entry.original):
                continue
            if _unit(self.profile.name, self.seed, "table", entry.original) >= self.profile.table_share:
                continue
            chosen.setdefault(entry.original, []).append(entry)
        # one substitute per original, fixed for the tool
        return {original: options[int(_unit(self.seed, "pick", original) * len(options))]
                for original, options in chosen.items()}

    def substitute_for(self, lemma: str, upos: str) -> str | None:
        """The tool's fixed dictionary entry for ``lemma`` as ``upos`` (None: no entry)."""
        key = (lemma, upos)
        if key not in self._dictionary:
            self._dictionary[key] = self._draw(lemma, upos)
        return self._dictionary[key]

    def _draw(self, lemma: str, upos: str) -> str | None:
        p = self.profile
        if not self.allowed(lemma) or _unit(p.name, self.seed, "cover", lemma, upos) >= p.coverage:
            return None
        weighted = []
        for cand in thesaurus.candidates(lemma, upos):
            if cand.sense_rank > p.max_sense_rank or cand.source not in p.sources:
                continue
            if not _usable_substitute(cand.text, p.multiword_substitutes, p.min_zipf):
                continue
            frequency = zipf(cand.text)
            weight = cand.sense_prior ** p.sharpness * 10 ** (p.frequency_weight * (frequency - 4.0))
            weighted.append((cand.text, weight))
        if not weighted:
            return None
        total = sum(w for _, w in weighted)
        point = _unit(p.name, self.seed, "draw", lemma, upos) * total
        for text, weight in weighted:
            point -= weight
            if point < 0:
                return text
        return weighted[-1][0]

    # ---------------------------------------------------------------- spinning one document
    def spin(self, text: str) -> SpinResult:
        p = self.profile
        rng = random.Random(f"{p.name}|{self.seed}|{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}")
        word_rate = rng.uniform(*p.word_rate)
        function_rate = rng.uniform(*p.function_rate)
        spin_quotes = rng.random() < p.quote_spin
        # drawn only by profiles that spin terms, so the other profiles' documents stay as they were
        term_rate = rng.uniform(*p.term_rate) if p.term_rate[1] > 0 else 0.0
        tokens = self._tokens(text)
        protected = self._protected(text, tokens, spin_quotes, rng)
        terms = _terms(text, tokens, protected) if term_rate else {}
        decisions: dict[object, bool] = {}  # original key -> swap in this document (consistency)

        def decide(key: object, rate: float) -> bool:
            if key not in decisions:
                decisions[key] = rng.random() < rate
            return decisions[key]

        swaps: list[_Swap] = []
        i = 0
        while i < len(tokens):
            if i in protected:
                i += 1
                continue
            if i in terms:
                last = terms[i]
                key = ("term",) + tuple(t.text.lower() for t in tokens[i:last + 1])
                if decide(key, term_rate):
                    swaps.extend(self._term_swaps(text, tokens, i, last, key, decide))
                    i = last + 1
                    continue
            match = self._table_match(text, tokens, i, protected)
            if match is not None:
                last, entry = match
                if decide(("table", entry.original), function_rate if entry.kind == "function" else word_rate):
                    surface = " ".join(t.text for t in tokens[i:last + 1])
                    swaps.append(_Swap(i, last, _match_case(surface, entry.substitute), entry.kind))
                    i = last + 1
                    continue
                if last > i:
                    i = last + 1
                    continue
            swap = self._word_swap(text, tokens, i, decide, word_rate)
            if swap is not None:
                swaps.append(swap)
            i += 1
        return self._assemble(text, tokens, swaps, rng)

    def spin_term(self, text: str, start: int, end: int) -> SpinResult:
        """``text`` with only the term ``text[start:end]`` spun, as ``spin`` spins a term it chose: each
        word swapped with the profile's ``term_word_rate`` (at least one, if any can be), the rest of
        the text untouched. For test sets of terms spun one at a time, the way paper mills leave them."""
        rng = random.Random(f"{self.profile.name}|{self.seed}|term|{start}|{end}|"
                            f"{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}")
        tokens = self._tokens(text)
        inside = [i for i, t in enumerate(tokens) if start <= t.start and t.end <= end]
        swaps = []
        if inside:
            key = ("term",) + tuple(tokens[i].text.lower() for i in inside)
            decisions: dict[object, bool] = {}

            def decide(choice: object, rate: float) -> bool:
                if choice not in decisions:
                    decisions[choice] = rng.random() < rate
                return decisions[choice]

            swaps = self._term_swaps(text, tokens, inside[0], inside[-1], key, decide)
        return self._assemble(text, tokens, swaps, rng)

    @staticmethod
    def _tokens(text: str) -> list[_Token]:
        tokens = []
        for m in TOKEN.finditer(text):
            word = m.group()
            parts = re.split(r"['’]", word, maxsplit=1)
            if len(parts) == 2 and parts[1].lower() == "s":  # possessive: the noun itself can be swapped
                tokens.append(_Token(m.start(), m.start() + len(parts[0]), parts[0]))
                continue
            tokens.append(_Token(m.start(), m.end(), word))
        return tokens

    def _protected(self, text: str, tokens: list[_Token], spin_quotes: bool, rng: random.Random) -> set[int]:
        """Token indexes the tool leaves alone: names, code-ish words, quotations, contractions."""
        quoted = [] if spin_quotes else _quoted_ranges(text)
        protected = set()
        for index, token in enumerate(tokens):
            before = text[token.start - 1] if token.start else " "
            after = text[token.end] if token.end < len(text) else " "
            after2 = text[token.end + 1] if token.end + 1 < len(text) else " "
            word = token.text
            if ("'" in word or "’" in word) or len(word) < 2:
                protected.add(index)
            elif before in "-_/\\@#$%&*=<>.`" and not (before == "." and text[token.start - 2:token.start - 1].isspace()):
                protected.add(index)
            elif after in "-_/\\@=<>`(" or (after == "." and after2.isalnum()) or after.isdigit():
                protected.add(index)
            elif any(a <= token.start < b for a, b in quoted):
                protected.add(index)
            elif word.isupper() and len(word) > 1:
                protected.add(index)
            elif word[0].isupper() and not _sentence_start(text, token.start):
                if not (rng.random() < self.profile.name_spin and zipf(word.lower()) > zipf(word) + 0.5):
                    protected.add(index)
            elif any(c.isupper() for c in word[1:]):
                protected.add(index)
        if self.profile.respect_collocations:
            protected |= _collocation_tokens(tokens)
        return protected

    def _table_match(self, text, tokens, i, protected):
        """Longest table original starting at token ``i`` (tokens separated by single spaces)."""
        words = [tokens[i].text.lower()]
        best = None
        if words[0] in self._table:
            best = (i, self._table[words[0]])
        for j in range(i + 1, min(len(tokens), i + self._max_phrase)):
            if j in protected or text[tokens[j - 1].end:tokens[j].start] != " ":
                break
            words.append(tokens[j].text.lower())
            entry = self._table.get(" ".join(words))
            if entry is not None:
                best = (j, entry)
        return best

    def _term_swaps(self, text, tokens, first, last, key, decide) -> list[_Swap]:
        """Words of the term ``tokens[first:last + 1]`` swapped one by one (at least one, if any can
        be); which ones is decided once per document, so a recurring term is spun the same way."""
        possible = [(j - first, s) for j in range(first, last + 1)
                    if (s := self._word_swap(text, tokens, j, None, 1.0)) is not None]
        kept = [s for position, s in possible if decide(key + ("word", position), self.profile.term_word_rate)]
        if possible and not kept:
            kept = [possible[int(_unit(self.seed, "term", *key) * len(possible))][1]]
        return kept

    def _word_swap(self, text, tokens, i, decide, rate) -> _Swap | None:
        """The swap of token ``i``; ``decide`` None: the caller has decided already (a spun term)."""
        token = tokens[i]
        word = token.text
        lower = word.lower()
        if lower in FUNCTION_WORDS or lower in _NEVER_SUBSTITUTES or len(lower) < 3:
            return None
        analysis = analyse(lower, tokens[i - 1].text.lower() if i else "", tokens[i + 1].text.lower() if i + 1 < len(tokens) else "")
        if analysis is None:
            return None
        lemma, upos, tag, certain = analysis
        if self.profile.careful_pos and not certain and decide is not None:
            return None
        substitute = self.substitute_for(lemma, upos)
        if substitute is None or (decide is not None and not decide(("word", lemma, upos), rate)):
            return None
        inflected = inflect(substitute, upos, tag)
        if inflected is None or inflected.lower() == lower:
            return None
        return _Swap(i, i, _match_case(word, inflected), "word")

    def _assemble(self, text, tokens, swaps, rng) -> SpinResult:
        pieces, edits = [], []
        cursor = 0  # in original
        spun_length = 0
        for swap in swaps:
            start, end = tokens[swap.first].start, tokens[swap.last].end
            substitute = swap.substitute
            # a/an before the swapped word: fixed by careful tools, sometimes left wrong by heavy ones
            article = _article_before(text, tokens, swap.first)
            if article is not None and article[0] >= cursor:
                a_start, a_end = article
                old_article = text[a_start:a_end]
                wanted = "an" if needs_an(substitute) else "a"
                if old_article.lower() != wanted and rng.random() < self.profile.article_fix:
                    start = a_start
                    substitute = _match_case(old_article, wanted) + text[a_end:tokens[swap.first].start] + substitute
            pieces.append(text[cursor:start])
            spun_length += start - cursor
            edits.append(SpinEdit(spun_length, spun_length + len(substitute), start, end, substitute, text[start:end], swap.kind))
            pieces.append(substitute)
            spun_length += len(substitute)
            cursor = end
        pieces.append(text[cursor:])
        return SpinResult(text, "".join(pieces), tuple(edits), self.profile.name)


# -------------------------------------------------------------------- helpers
def _match_case(template: str, replacement: str) -> str:
    if template[:1].isupper() and not template.isupper():
        return replacement[:1].upper() + replacement[1:]
    if template.isupper() and len(template) > 1:
        return replacement.upper()
    return replacement


def _sentence_start(text: str, start: int) -> bool:
    j = start - 1
    while j >= 0 and (text[j] in " \t\"'“‘(["):
        j -= 1
    return j < 0 or text[j] in ".!?:\n"


def _quoted_ranges(text: str) -> list[tuple[int, int]]:
    ranges = [(m.start(), m.end()) for m in re.finditer(r"“[^”\n]*”|\"[^\"\n]*\"", text)]
    return ranges


@lru_cache(maxsize=1)
def _collocation_index() -> frozenset:
    return thesaurus.collocations()


@lru_cache(maxsize=1)
def _collocation_starts() -> frozenset:
    return frozenset(phrase.split()[0] for phrase in _collocation_index())


def _collocation_tokens(tokens: list[_Token]) -> set[int]:
    found = set()
    index = _collocation_index()
    starts = _collocation_starts()
    for i in range(len(tokens) - 1):
        if tokens[i].text.lower() not in starts:
            continue
        for width in (2, 3):
            if i + width > len(tokens):
                break
            words = [t.text.lower() for t in tokens[i:i + width]]
            phrase = " ".join(words)
            if phrase in index or " ".join(words[:-1] + [_noun_lemma(words[-1])]) in index:
                if not all(w in FUNCTION_WORDS for w in words[:-1]):
                    found.update(range(i, i + width))
    return found


def term_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the noun compounds a term spinner goes through in ``text`` (names,
    quotations and code-ish words aside)."""
    tokens = Spinner._tokens(text)
    protected = {i for i, t in enumerate(tokens)
                 if not t.text.isalpha() or (t.text[0].isupper() and not _sentence_start(text, t.start))
                 or any(c.isupper() for c in t.text[1:])}
    quoted = _quoted_ranges(text)
    protected |= {i for i, t in enumerate(tokens) if any(a <= t.start < b for a, b in quoted)}
    return [(tokens[first].start, tokens[last].end) for first, last in sorted(_terms(text, tokens, protected).items())]


_TERM_WORDS = 4
_DETERMINERS = frozenset("the a an this that these those its their our his her my your some any no every each".split())


def _terms(text: str, tokens: list[_Token], protected: set[int]) -> dict[int, int]:
    """Noun compounds ("activation function", "vanishing gradient problem"): first token index ->
    last. A run of 2-4 unprotected content words joined by single spaces, every word but the last
    readable as an adjective, a noun or a verb's -ing/-ed form, the last as a noun."""
    def content(j: int) -> bool:
        lower = tokens[j].text.lower()
        return (j not in protected and len(lower) >= 3 and lower not in FUNCTION_WORDS
                and lower not in _NEVER_SUBSTITUTES and bool(_readings(lower)))

    def modifier(j: int) -> bool:
        lower = tokens[j].text.lower()
        kinds = {upos for upos, _ in _readings(lower)}
        return bool(kinds & {"NOUN", "ADJ"}) or ("VERB" in kinds and lower.endswith(("ing", "ed")))

    def noun(j: int) -> bool:
        return any(upos == "NOUN" for upos, _ in _readings(tokens[j].text.lower()))

    terms, i = {}, 0
    while i < len(tokens):
        last = i
        while (last + 1 < len(tokens) and last - i + 1 < _TERM_WORDS and content(last + 1)
               and text[tokens[last].end:tokens[last + 1].start] == " "):
            last += 1
        if not content(i):
            i += 1
            continue
        # "the loss function measures the error": a word before a determiner is the verb, not the term's head
        if last > i and last + 1 < len(tokens) and tokens[last + 1].text.lower() in _DETERMINERS:
            last -= 1
        while last > i and not noun(last):
            last -= 1
        if last > i and all(modifier(j) for j in range(i, last)):
            terms[i] = last
            i = last + 1
        else:
            i += 1
    return terms


@lru_cache(maxsize=200_000)
def _noun_lemma(word: str) -> str:
    from lemminflect import getLemma
    lemmas = getLemma(word, upos="NOUN", lemmatize_oov=False)
    return lemmas[0] if lemmas else word


def _article_before(text: str, tokens: list[_Token], i: int) -> tuple[int, int] | None:
    if i == 0:
        return None
    prev = tokens[i - 1]
    if prev.text.lower() in ARTICLES and text[prev.end:tokens[i].start] == " ":
        return prev.start, prev.end
    return None


@lru_cache(maxsize=200_000)
def _readings(word: str) -> tuple[tuple[str, str], ...]:
    """(universal POS, lemma) pairs lemminflect knows for ``word`` that WordNet also has."""
    from lemminflect import getAllLemmas
    return tuple((upos, lemmas[0]) for upos, lemmas in getAllLemmas(word).items()
                 if upos in ("NOUN", "VERB", "ADJ", "ADV") and thesaurus.has_pos(lemmas[0], upos))


_NOUN_CUES = frozenset("the a an this that these those his her its their our my your some any no every each of".split())
_VERB_CUES = frozenset("to will would shall should can could may might must not i we they you he she it who "
                       "did does do don't didn't".split())
_PAST_PARTICIPLE_CUES = frozenset("have has had been be is are was were being get got".split())


@lru_cache(maxsize=200_000)
def analyse(word: str, previous: str, following: str) -> tuple[str, str, str, bool] | None:
    """(lemma, universal POS, Penn tag, certain) for a lower-case word in a tiny context window.

    No tagger is available offline, so the part of speech comes from lemminflect's possible
    readings, a couple of context cues and WordNet's usage counts; the mistakes this makes are
    the same kind a real spinner makes.
    """
    from lemminflect import getAllInflections
    readings = dict(_readings(word))
    if not readings:
        return None
    certain = len(readings) == 1
    if len(readings) > 1:
        if previous in _VERB_CUES and "VERB" in readings:
            readings = {"VERB": readings["VERB"]}
        elif previous in _NOUN_CUES and ("NOUN" in readings or "ADJ" in readings):
            readings = {k: v for k, v in readings.items() if k in ("NOUN", "ADJ")}
            if len(readings) > 1:
                readings = {"NOUN": readings["NOUN"]} if following in FUNCTION_WORDS or not following else {"ADJ": readings["ADJ"]}
    if len(readings) == 1:
        certain = True
    counts = sorted(((thesaurus.sense_count(lemma, u), u == "NOUN", u) for u, lemma in readings.items()), reverse=True)
    upos = counts[0][2]
    # a reading used far more often than any other is a safe bet even without a context cue
    certain = certain or counts[0][0] >= 4 * (counts[1][0] + 1)
    lemma = readings[upos]
    forms = getAllInflections(lemma)
    tag = {"NOUN": "NN", "VERB": "VB", "ADJ": "JJ", "ADV": "RB"}[upos]
    if word != lemma:
        order = {"NOUN": ("NNS",), "VERB": ("VBG", "VBZ", "VBD", "VBN"), "ADJ": ("JJR", "JJS"), "ADV": ("RBR", "RBS")}[upos]
        matches = [t for t in order if word in forms.get(t, ())]
        if not matches:
            return None
        tag = matches[0]
        if upos == "VERB" and "VBD" in matches and "VBN" in matches and previous in _PAST_PARTICIPLE_CUES:
            tag = "VBN"
    return lemma, upos, tag, certain


def inflect(substitute: str, upos: str, tag: str) -> str | None:
    """Give a (possibly multiword) substitute lemma the inflection ``tag``; verbs inflect their
    first word ("look into" -> "looked into"), nouns their last ("dwelling house" -> "dwelling houses")."""
    if tag in ("NN", "VB", "JJ", "RB"):
        return substitute
    from lemminflect import getInflection
    words = substitute.split()
    head = 0 if upos == "VERB" else len(words) - 1
    forms = getInflection(words[head], tag=tag)
    if not forms or (forms[0] == words[head] and tag in ("NNS", "VBZ", "VBG")):
        return None  # lemminflect could not inflect it: better no swap than a broken one
    words[head] = forms[0]
    return " ".join(words)


def _usable_substitute(text: str, multiword: bool, min_zipf: float) -> bool:
    """Whether a thesaurus candidate is a word a spinning tool would write: no function word or
    word it never swaps in, no phrase unless the tool writes phrases, not rarer than ``min_zipf``."""
    if text in FUNCTION_WORDS or text in _NEVER_SUBSTITUTES or (" " in text and not multiword):
        return False
    return zipf(text) >= min_zipf


def other_substitute(original: str, previous: str, following: str, rng: random.Random,
                     min_zipf: float = 2.0) -> str | None:
    """Some other tool's substitute for the one-word ``original``: any single-word thesaurus
    neighbour of its lemma, in any sense, drawn uniformly and inflected alike (None: it has none).

    Used to train models on swaps no training tool's dictionary holds, so that they learn the
    thesaurus relation rather than the dictionaries."""
    lower = original.lower()
    if not lower.isalpha() or lower in FUNCTION_WORDS or lower in _NEVER_SUBSTITUTES:
        return None
    analysis = analyse(lower, previous.lower(), following.lower())
    if analysis is None:
        return None
    lemma, upos, tag, _ = analysis
    options = [c.text for c in thesaurus.candidates(lemma, upos) if _usable_substitute(c.text, False, min_zipf)]
    while options:
        substitute = inflect(options.pop(rng.randrange(len(options))), upos, tag)
        if substitute is not None and substitute.lower() != lower:
            return _match_case(original, substitute)
    return None


def respin_record(record: dict, rng: random.Random, share: float, clean_share: float = 0.0) -> dict:
    """``record`` as some other tool would have spun it: each one-word swap, at rate ``share``, gets
    another substitute of the same original (``other_substitute``), and each clean word outside a
    swap, at rate ``clean_share``, is swapped the same way.

    The training tools' dictionaries hold about 94% of the test tools' swaps (stop 47), so a tagger
    trained on them alone learns their substitutes and their originals; real spun text holds swaps
    of any thesaurus neighbour of any word. Swaps of more than one word are kept as they are.
    """
    from .edits import WORD

    original = record["original"]
    words = [(m.start(), m.end(), m.group()) for m in WORD.finditer(original)]
    starts = [w[0] for w in words]

    def around(start: int, end: int) -> tuple[str, str]:
        at = bisect.bisect_left(starts, start)
        after = bisect.bisect_left(starts, end)
        return (words[at - 1][2] if at else ""), (words[after][2] if after < len(words) else "")

    edits, changed = [], False
    for e in sorted(record["edits"], key=lambda e: e["orig_start"]):
        target = original[e["orig_start"]:e["orig_end"]]
        if share and " " not in target and rng.random() < share:
            new = other_substitute(target, *around(e["orig_start"], e["orig_end"]), rng)
            if new is not None and new != e["spun"]:
                e, changed = {**e, "spun": new}, True
        edits.append(e)
    if clean_share:
        taken = [(e["orig_start"], e["orig_end"]) for e in edits]  # the tool's swaps, in order
        taken_starts = [a for a, _ in taken]
        for start, end, word in words:
            at = bisect.bisect_right(taken_starts, start) - 1
            if (at >= 0 and taken[at][1] > start) or rng.random() >= clean_share:
                continue
            new = other_substitute(word, *around(start, end), rng)
            if new is not None:
                edits.append({"spun_start": 0, "spun_end": 0, "orig_start": start, "orig_end": end,
                              "spun": new, "original": word, "kind": "word"})
                changed = True
    if not changed:
        return record
    respun = with_edits(record, edits)
    return {**respun, "profile": record["profile"] if record["edits"] else "respun"}


# sparse variants: 5-30% of a document's swaps kept, in windows of 1-3 sentences
SPARSE_KEEP_RATE = (0.05, 0.3)
SPARSE_SENTENCES = (1, 2, 3)


def thin_record(record: dict, rng: random.Random, keep_rate: float, sentences: int | None = None) -> dict:
    """A sparsely spun variant of a data record: fewer swaps, optionally fewer sentences.

    The tools above rewrite most of what they can, but a real spun text is often sparse: a paper
    mill spins a term here and there, and a user checks one sentence at a time. Without such
    texts a tagger learns that a swap only counts in a document full of them. The variant keeps
    ``keep_rate`` of the record's swaps (at least one if it had any), made by the same dictionary,
    inside a window of ``sentences`` consecutive sentences of the original (None: all of it).
    """
    from .chunks import sentence_bounds

    original, edits = record["original"], sorted(record["edits"], key=lambda e: e["orig_start"])
    start, end = 0, len(original)
    if sentences:
        bounds = sentence_bounds(original)
        inside = [k for k, (a, b) in enumerate(bounds) if any(a <= e["orig_start"] and e["orig_end"] <= b for e in edits)]
        first = rng.choice(inside) if inside else rng.randrange(len(bounds))
        first = max(0, min(first - rng.randrange(sentences), len(bounds) - sentences))
        start, end = bounds[first][0], bounds[min(first + sentences, len(bounds)) - 1][1]
        end = start + len(original[start:end].rstrip())
    candidates = [e for e in edits if start <= e["orig_start"] and e["orig_end"] <= end]
    kept = [e for e in candidates if rng.random() < keep_rate]
    if candidates and not kept:
        kept = [rng.choice(candidates)]
    return {**with_edits(record, kept, start, end), "id": f"{record['id']}~sparse"}


def with_edits(record: dict, kept: list[dict], start: int = 0, end: int | None = None) -> dict:
    """``record`` with only the swaps in ``kept`` (a subset of its edits, in any order) left in its spun text,
    cut to ``original[start:end]``; the others read as the original. A record left with no swap is clean."""
    original = record["original"]
    end = len(original) if end is None else end
    pieces, new_edits, cursor, length = [], [], start, 0
    for e in sorted(kept, key=lambda e: e["orig_start"]):
        before = original[cursor:e["orig_start"]]
        pieces.append(before)
        length += len(before)
        new_edits.append({**e, "spun_start": length, "spun_end": length + len(e["spun"]),
                          "orig_start": e["orig_start"] - start, "orig_end": e["orig_end"] - start})
        pieces.append(e["spun"])
        length += len(e["spun"])
        cursor = e["orig_end"]
    pieces.append(original[cursor:end])
    return {**record, "original": original[start:end], "spun": "".join(pieces), "edits": new_edits,
            "profile": record["profile"] if new_edits or record["profile"] == "clean" else "clean"}
