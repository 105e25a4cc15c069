"""The synthetic spinner: its paraphrase table, determinism, consistency, offsets, inflection."""
from __future__ import annotations

import json
import re

import pytest

from repair.spinner import FUNCTION_WORDS, PROFILES, Spinner, paraphrase_table, needs_an
from repair.thesaurus import WORDNET_DIR  # noqa: E402

# the spinner draws its dictionaries from Debian's WordNet (wordnet-base + wordnet-sense-index)
pytestmark = pytest.mark.skipif(not (WORDNET_DIR / "index.sense").exists(),
                                reason=f"WordNet not in {WORDNET_DIR}: apt-get install wordnet-base wordnet-sense-index")

TEXT = (
    "The company said on Monday that it would buy a large share of the market because of rising "
    "demand. Analysts expected the company to report higher profits, and the government promised to "
    "help families who bought houses during the crisis. However, many workers lost their jobs, so "
    "the union asked for better wages. For example, the factory closed two plants in Ohio and moved "
    "production abroad.\n\n"
    "In the long run, the economy depends on good schools and strong institutions. Teachers worked "
    "hard to improve the results of their students, while parents often helped with homework. The "
    "company's leaders believed that careful planning would protect the business from sudden changes "
    "in the market, and they quickly adopted new methods."
)

NAMES_AND_NUMBERS = (
    "Margaret Thatcher met Ronald Reagan in Washington on 16 November 1988, and the two leaders "
    "discussed trade with Canada. Later, Mikhail Gorbachev visited London with 42 advisers. "
    "The report cost 3,500 dollars and listed 17 recommendations for the Federal Reserve. "
    "Senator Johnson quoted Abraham Lincoln at length, and President Kennedy answered in Boston."
)


def check_contract(original: str, result) -> None:
    cursor = 0
    for edit in result.edits:
        assert result.spun[edit.spun_start:edit.spun_end] == edit.spun
        assert original[edit.orig_start:edit.orig_end] == edit.original
        assert edit.spun_start >= cursor and edit.orig_start <= edit.orig_end
        assert edit.kind in ("word", "phrase", "function")
        assert edit.spun != edit.original
        cursor = edit.spun_end
    assert result.restore() == original


# ---------------------------------------------------------------- the table
def test_paraphrase_table_is_real_english_without_identities_or_duplicates():
    from wordfreq import zipf_frequency

    entries = paraphrase_table()
    assert len(entries) >= 300
    pairs = [(e.original, e.substitute) for e in entries]
    assert len(pairs) == len(set(pairs)), "duplicate pairs"
    for original, substitute in pairs:
        assert original != substitute, original
        assert original == original.strip().lower() and substitute == substitute.strip().lower()
        for word in re.findall(r"[a-z']+", original + " " + substitute):
            assert zipf_frequency(word, "en") >= 2.0, (original, substitute, word)
    kinds = {e.kind for e in entries}
    assert kinds == {"word", "phrase", "function"}
    # both directions of length change are represented: one-for-several and several-for-one
    assert any(len(o.split()) == 1 and len(s.split()) > 1 for o, s in pairs)
    assert any(len(o.split()) > 1 and len(s.split()) == 1 for o, s in pairs)


# ---------------------------------------------------------------- behaviour
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_offsets_satisfy_the_contract(profile):
    for seed in range(4):
        for text in (TEXT, NAMES_AND_NUMBERS, TEXT.upper()[:200], "", "Hello.", "a an the"):
            check_contract(text, Spinner(profile, seed).spin(text))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_deterministic_given_seed_and_tools_differ(profile):
    first = Spinner(profile, seed=3).spin(TEXT)
    again = Spinner(profile, seed=3).spin(TEXT)
    assert first == again
    others = {Spinner(profile, seed=s).spin(TEXT).spun for s in range(4, 10)}
    assert len(others | {first.spun}) > 3


def test_profiles_differ_in_how_much_they_change():
    def changed_share(profile):
        words = changed = 0
        for seed in range(6):
            result = Spinner(profile, seed).spin(TEXT)
            words += len(re.findall(r"\w+", TEXT))
            changed += sum(len(re.findall(r"\w+", e.original)) for e in result.edits)
        return changed / words

    light, heavy = changed_share("light"), changed_share("heavy")
    assert 0.03 < light < 0.3
    assert heavy > 0.25 and heavy > light * 1.5


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_consistent_substitute_for_repeated_words(profile):
    text = " ".join([TEXT] * 3)
    for seed in range(3):
        result = Spinner(profile, seed).spin(text)
        chosen: dict[str, set] = {}
        for edit in result.edits:
            chosen.setdefault(edit.original.lower(), set()).add(edit.spun.lower())
        assert chosen, "nothing was spun"
        inconsistent = [o for o, s in chosen.items() if len(s) > 1]
        assert not inconsistent, inconsistent
        # a word swapped once is swapped at every occurrence in the document
        for original in chosen:
            occurrences = len(re.findall(rf"\b{re.escape(original)}\b", text, flags=re.I))
            swapped = sum(1 for e in result.edits if e.original.lower() == original)
            if " " not in original and original not in ("a", "an"):
                assert swapped == occurrences or swapped >= 3, (original, swapped, occurrences)


def test_dictionary_is_fixed_across_documents():
    tool = Spinner("heavy", seed=5)
    first = tool.substitute_for("market", "NOUN")
    tool.spin(TEXT)
    assert Spinner("heavy", seed=5).substitute_for("market", "NOUN") == first


def test_inflection_is_kept():
    from lemminflect import getAllLemmas

    text = ("The workers bought new houses and sold their old cars. The girls walked to the markets, "
            "and the teachers answered the questions. She considers the proposals carefully.")
    checked = 0
    for profile in PROFILES:
        for seed in range(8):
            for edit in Spinner(profile, seed).spin(text).edits:
                if edit.kind != "word" or " " in edit.original:
                    continue
                original, head = edit.original.lower(), edit.spun.lower().split()
                if original in ("bought", "sold", "walked", "answered"):
                    verb = head[0]
                    lemmas = getAllLemmas(verb).get("VERB", ())
                    assert lemmas and verb not in lemmas, (original, edit.spun)
                    checked += 1
                elif original in ("houses", "cars", "markets", "questions", "proposals", "workers", "teachers"):
                    noun = head[-1]
                    assert noun not in getAllLemmas(noun).get("NOUN", (noun,)) or noun.endswith("s"), (original, edit.spun)
                    checked += 1
    assert checked >= 10


def test_names_numbers_and_quotes_mostly_left_alone():
    touched = total = 0
    for profile in PROFILES:
        for seed in range(6):
            result = Spinner(profile, seed).spin(NAMES_AND_NUMBERS)
            check_contract(NAMES_AND_NUMBERS, result)
            for edit in result.edits:
                assert not re.search(r"\d", edit.original)
                total += 1
                if re.search(r"\b(Thatcher|Reagan|Washington|Gorbachev|Lincoln|Kennedy|Boston|London|Canada)\b",
                             edit.original):
                    touched += 1
            if profile != "heavy":
                assert all(not e.original[:1].isupper() or e.orig_start == 0 or
                           NAMES_AND_NUMBERS[e.orig_start - 2] in ".!?" for e in result.edits)
    assert total > 0 and touched <= max(1, total // 20)
    quoted = 'He said: "We will buy the large house because of the price." Then he left quickly.'
    for profile in ("light",):  # the others spin a few documents' quotations too
        for seed in range(8):
            for edit in Spinner(profile, seed).spin(quoted).edits:
                assert edit.orig_start > quoted.index('." ') or edit.orig_end < quoted.index('"')


def test_heavy_profile_sometimes_leaves_a_wrong_article():
    text = "He saw a big problem, a small car and an old house near a huge market. " * 2
    fixed = wrong = 0
    for profile in ("light", "heavy"):
        for seed in range(40):
            result = Spinner(profile, seed).spin(text)
            for m in re.finditer(r"\b([Aa]n?) (\w+)", result.spun):
                if m.group(1).lower() == ("an" if needs_an(m.group(2)) else "a"):
                    continue
                assert profile == "heavy", (m.group(0), result.spun)
                wrong += 1
            fixed += sum(1 for e in result.edits if e.original.split()[0].lower() in ("a", "an")
                         and e.spun.split()[0].lower() != e.original.split()[0].lower())
    assert fixed > 0 and wrong > 0


def test_excluded_and_only_originals():
    result = Spinner("heavy", seed=1, exclude_originals={"company", "buy", "large"}).spin(TEXT)
    assert not any(e.original.lower() in ("company", "buy", "large") for e in result.edits)
    only = Spinner("heavy", seed=1, only_originals={"market", "because of", "however"}).spin(TEXT)
    assert only.edits
    allowed = {"market", "markets", "however", "because", "because of", "a market", "the market"}
    assert all(e.original.lower() in allowed for e in only.edits), [e.original for e in only.edits]


def test_function_words_come_only_from_the_table():
    table_originals = {e.original for e in paraphrase_table()}
    for seed in range(5):
        for edit in Spinner("heavy", seed).spin(TEXT).edits:
            words = edit.original.lower().split()
            if edit.kind == "function":
                assert edit.original.lower() in table_originals
            elif len(words) == 1:
                assert words[0] not in FUNCTION_WORDS


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown spinner profile"):
        Spinner("medium")


def test_cli_spin_prints_text_and_writes_edits(tmp_path, capsys):
    from repair.cli import main

    source = tmp_path / "in.txt"
    source.write_text(TEXT, encoding="utf-8")
    edits_path = tmp_path / "edits.json"
    assert main(["spin", "--profile", "heavy", "--seed", "1", str(source), "--edits", str(edits_path)]) == 0
    spun = capsys.readouterr().out
    payload = json.loads(edits_path.read_text(encoding="utf-8"))
    assert spun != TEXT and payload["profile"] == "heavy" and payload["edits"]
    for edit in payload["edits"]:
        assert spun[edit["spun_start"]:edit["spun_end"]] == edit["spun"]
        assert TEXT[edit["orig_start"]:edit["orig_end"]] == edit["original"]
    assert main(["spin", str(tmp_path / "missing.txt")]) == 2


TERMS = (
    "The model uses a convolutional neural network trained with gradient descent on the training data. "
    "Each hidden layer applies an activation function, and the loss function measures the mean squared error. "
    "We report the classification accuracy on the test set and discuss the vanishing gradient problem."
)


def test_term_profile_spins_terms_word_by_word_and_leaves_prose_mostly_alone():
    from repair.spinner import _terms

    tool = Spinner("term", seed=0)
    tokens = tool._tokens(TERMS)
    spans = {" ".join(t.text for t in tokens[i:j + 1]) for i, j in _terms(TERMS, tokens, set()).items()}
    assert {"activation function", "loss function", "gradient descent"} <= spans
    assert not any(w in span.split() for span in spans for w in ("the", "and", "on", "with"))

    in_terms = outside = 0
    for seed in range(8):
        result = Spinner("term", seed).spin(TERMS)
        check_contract(TERMS, result)
        tokens = Spinner("term", seed)._tokens(TERMS)
        term_chars = {c for i, j in _terms(TERMS, tokens, set()).items()
                      for c in range(tokens[i].start, tokens[j].end)}
        for edit in result.edits:
            if edit.orig_start in term_chars:
                in_terms += 1
            else:
                outside += 1
    # a paper mill's spinner: most of its swaps sit inside technical terms
    assert in_terms > 2 * outside
    # and some terms come out with both words swapped ("vanishing gradient" -> two new words)
    pairs = 0
    for seed in range(8):
        edits = Spinner("term", seed).spin(TERMS).edits
        pairs += sum(1 for a, b in zip(edits, edits[1:]) if TERMS[a.orig_end:b.orig_start] == " ")
    assert pairs >= 4


def test_other_profiles_are_unchanged_by_the_term_fields():
    # profiles without terms draw nothing extra from the document's random stream
    assert all(PROFILES[name].term_rate == (0.0, 0.0) for name in ("light", "heavy", "phrase"))


def test_spin_term_swaps_only_inside_the_term_and_is_deterministic():
    from repair.spinner import term_spans

    spans = term_spans(TERMS)
    assert {"activation function", "loss function", "gradient descent"} <= {TERMS[a:b] for a, b in spans}
    spun_terms = 0
    for seed in range(6):
        tool = Spinner("term", seed)
        for start, end in spans:
            result = tool.spin_term(TERMS, start, end)
            check_contract(TERMS, result)
            assert all(start <= e.orig_start and e.orig_end <= end for e in result.edits)
            assert result == tool.spin_term(TERMS, start, end)
            spun_terms += bool(result.edits)
    # the term spinner can swap a word of most terms
    assert spun_terms > len(spans) * 6 // 2


def test_term_spans_skip_names_and_quotations():
    from repair.spinner import term_spans

    text = 'Yesterday Grace Hopper said "the compiler design" mattered more than the network speed.'
    found = {text[a:b] for a, b in term_spans(text)}
    assert "network speed" in found
    assert not any("Hopper" in term or "compiler" in term for term in found)


def test_other_substitute_is_a_thesaurus_neighbour_inflected_and_cased_alike():
    import random

    from repair import thesaurus
    from repair.spinner import other_substitute

    rng = random.Random(3)
    neighbours = {c.text for c in thesaurus.candidates("company", "NOUN")}
    drawn = {other_substitute("Companies", "many", "said", rng) for _ in range(20)}
    assert len(drawn) > 3  # a different tool each time, not one fixed dictionary entry
    for word in drawn:
        assert word[0].isupper() and word.endswith("s") and word.lower() != "companies"
        assert any(word.lower().startswith(n[:-1]) for n in neighbours)
    # function words, names' shapes and phrases have no substitute
    assert other_substitute("the", "of", "market", rng) is None
    assert other_substitute("stock market", "the", "fell", rng) is None


def _check_record(record: dict) -> None:
    """The data contract's check (offsets, order, the original rebuilt from the spun text and edits)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from build_data import check_record
    check_record(record)


def _record(text: str, profile: str, seed: int) -> dict:
    from dataclasses import asdict
    result = Spinner(profile, seed).spin(text)
    return {"id": f"t/{profile}/{seed}", "original": text, "spun": result.spun, "profile": profile,
            "edits": [asdict(e) for e in result.edits]}


def test_respin_record_gives_swaps_other_substitutes_and_keeps_the_offsets():
    import random

    from repair.spinner import respin_record

    record = _record(TEXT, "heavy", 5)
    assert respin_record(record, random.Random(1), 0.0, 0.0) is record
    respun = respin_record(record, random.Random(1), 1.0)
    _check_record(respun)
    assert respun["original"] == TEXT
    before = {(e["orig_start"], e["orig_end"]): e for e in record["edits"]}
    after = {(e["orig_start"], e["orig_end"]): e for e in respun["edits"]}
    assert before.keys() == after.keys()  # the same originals swapped, only what they became differs
    one_word = [k for k, e in before.items() if " " not in e["original"]]
    changed = [k for k in one_word if after[k]["spun"] != before[k]["spun"]]
    assert len(changed) >= len(one_word) // 2
    for k, e in before.items():
        if " " in e["original"]:
            assert after[k]["spun"] == e["spun"]  # phrases stay as the tool wrote them
        if k in changed:
            assert after[k]["spun"].lower() != e["original"].lower()
            assert after[k]["spun"][0].isupper() == e["original"][0].isupper()


def test_respin_record_swaps_clean_words_only_outside_swaps():
    import random

    from repair.spinner import respin_record

    record = _record(TEXT, "light", 2)
    respun = respin_record(record, random.Random(4), 0.0, 1.0)
    _check_record(respun)
    assert respun["original"] == TEXT
    assert len(respun["edits"]) > 2 * len(record["edits"])
    spans = sorted((e["orig_start"], e["orig_end"]) for e in respun["edits"])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no swap inside another
    tool_swaps = {(e["orig_start"], e["orig_end"]) for e in record["edits"]}
    for e in respun["edits"]:
        if (e["orig_start"], e["orig_end"]) not in tool_swaps:
            assert e["original"].lower() not in FUNCTION_WORDS and " " not in e["spun"]
    clean = {"id": "t/clean", "original": TEXT, "spun": TEXT, "profile": "clean", "edits": []}
    assert respin_record(clean, random.Random(4), 0.0, 0.0) is clean
    assert respin_record(clean, random.Random(4), 0.0, 0.3)["edits"]
