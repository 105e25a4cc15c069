"""A tiny corpus build satisfies the data contract (scripts/build_data.py)."""
from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import build_data  # noqa: E402
from repair.thesaurus import WORDNET_DIR  # noqa: E402

# the spinner draws its dictionaries from Debian's WordNet (wordnet-base + wordnet-sense-index)
pytestmark = pytest.mark.skipif(not (WORDNET_DIR / "index.sense").exists(),
                                reason=f"WordNet not in {WORDNET_DIR}: apt-get install wordnet-base wordnet-sense-index")

PARAGRAPHS = [
    "The town council met on Tuesday evening to discuss the new budget. Several members argued that the "
    "library needed more money, while others wanted to repair the roads before winter arrived.",
    "After a long debate, the council agreed to delay the final vote until next month. The mayor said the "
    "decision would give residents more time to share their opinions about the plan.",
    "Farmers in the region have struggled with dry weather for three years. Many of them changed the crops "
    "they grow, and some sold part of their land to pay for new equipment and better irrigation.",
    "Scientists at the local university studied the soil and found that careful planning could reduce the "
    "damage. They recommended planting trees along the fields to keep the ground from drying out.",
    "The school opened a new building last autumn, and teachers quickly noticed that students were more "
    "focused in the bright classrooms. Parents praised the change and asked for longer opening hours.",
    "A small company near the river started making furniture from recycled wood. Its owner explained that "
    "customers liked the idea because each table had a story and the prices remained reasonable.",
]


def make_sources(count: int) -> list[build_data.SourceDoc]:
    docs = []
    for n in range(count):
        rotated = PARAGRAPHS[n % len(PARAGRAPHS):] + PARAGRAPHS[:n % len(PARAGRAPHS)]
        docs.append(build_data.SourceDoc(f"toy/{n}", "news" if n % 2 else "essay", tuple(rotated * 2)))
    return docs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    summary = build_data.build(out, seed=7, sources=make_sources(60), train_docs=60, eval_docs=12, log=lambda m: None)
    return out, summary


def read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_files_and_contract(built):
    out, summary = built
    for split in ("train", "dev", "test", "heldout"):
        records = read(out / f"{split}.jsonl.gz")
        assert records, split
        for record in records:
            assert set(record) == {"id", "domain", "split", "profile", "original", "spun", "edits"}
            assert record["split"] == split
            assert record["profile"] in ("light", "heavy", "phrase", "clean")
            words = len(record["original"].split())
            assert 100 <= words <= 500, words
            if record["profile"] == "clean":
                assert record["spun"] == record["original"] and record["edits"] == []
            rebuilt, cursor = [], 0
            for edit in record["edits"]:
                assert record["spun"][edit["spun_start"]:edit["spun_end"]] == edit["spun"]
                assert record["original"][edit["orig_start"]:edit["orig_end"]] == edit["original"]
                assert edit["kind"] in ("word", "phrase", "function")
                rebuilt += [record["spun"][cursor:edit["spun_start"]], edit["original"]]
                cursor = edit["spun_end"]
            rebuilt.append(record["spun"][cursor:])
            assert "".join(rebuilt) == record["original"]
    train = read(out / "train.jsonl.gz")
    assert {r["profile"] for r in train} == {"clean", "light", "heavy", "phrase"}
    assert any(r["edits"] for r in train)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sizes"]["train/all"]["documents"] == len(train)
    for profile in ("light", "heavy", "phrase"):
        assert 0 < stats["profiles"][profile]["share_words_changed"] < 0.8
    assert not list(out.glob(".*part")), "temporary files left behind"


def test_split_by_source_document(built):
    out, _ = built
    sources = {}
    for split in ("train", "dev", "test"):
        for record in read(out / f"{split}.jsonl.gz"):
            source = record["id"].split("/", 1)[1].rsplit("#", 1)[0]
            sources.setdefault(source, set()).add(split)
    assert all(len(splits) == 1 for splits in sources.values())
    test_sources = {s for s, splits in sources.items() if "test" in splits}
    for record in read(out / "heldout.jsonl.gz"):
        assert record["id"].split("/", 1)[1].rsplit("#", 1)[0] in test_sources


def lemmas(edit: dict) -> set[str]:
    """The last word of an edit's original and every lemma lemminflect knows for it."""
    from lemminflect import getAllLemmas

    word = edit["original"].lower().split()[-1]
    return {word} | {lemma for options in getAllLemmas(word).values() for lemma in options}


def test_heldout_uses_only_heldout_originals(built):
    out, _ = built
    heldout = build_data.heldout_originals(7)

    held_edits = [e for r in read(out / "heldout.jsonl.gz") for e in r["edits"]]
    assert held_edits
    for edit in held_edits:
        if edit["kind"] == "word":
            assert lemmas(edit) & heldout, edit
        else:
            assert edit["original"].lower() in heldout, edit
    for split in ("train", "dev", "test"):
        for record in read(out / f"{split}.jsonl.gz"):
            for edit in record["edits"]:
                if edit["kind"] != "word":
                    assert edit["original"].lower() not in heldout, edit
                else:
                    assert lemmas(edit) - heldout, edit


def test_all_originals_lets_train_swap_the_heldout_originals_and_leaves_the_other_splits_alone(built, tmp_path):
    out, _ = built
    heldout = build_data.heldout_originals(7)
    every = tmp_path / "every"
    summary = build_data.build(every, seed=7, sources=make_sources(60), train_docs=60, eval_docs=12,
                               log=lambda m: None, all_originals=True)
    assert summary["train_swaps_heldout_originals"] is True

    def only_heldout(edit):
        if edit["kind"] != "word":
            return edit["original"].lower() in heldout
        return not lemmas(edit) - heldout

    assert any(only_heldout(e) for r in read(every / "train.jsonl.gz") for e in r["edits"])
    assert not any(only_heldout(e) for r in read(out / "train.jsonl.gz") for e in r["edits"])
    for split in ("dev", "test", "heldout", "dev-heldout"):
        assert read(every / f"{split}.jsonl.gz") == read(out / f"{split}.jsonl.gz"), split


def test_pairs_files_for_eval(built):
    out, _ = built
    for split in ("test", "heldout"):
        lines = (out / f"{split}.pairs.jsonl").read_text(encoding="utf-8").splitlines()
        records = read(out / f"{split}.jsonl.gz")
        assert len(lines) == len(records)
        for line, record in zip(lines, records):
            pair = json.loads(line)
            assert pair["spun"] == record["spun"] and pair["original"] == record["original"]


def test_deterministic(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    build_data.build(again, seed=7, sources=make_sources(60), train_docs=60, eval_docs=12, log=lambda m: None)
    for split in ("train", "heldout"):
        assert read(again / f"{split}.jsonl.gz") == read(out / f"{split}.jsonl.gz")


def test_prose_filter_rejects_code_and_headings():
    assert build_data.is_prose(PARAGRAPHS[0])
    assert not build_data.is_prose("Installation and Configuration")
    assert not build_data.is_prose("Run the command apt-get install foo=1.2 and then edit /etc/foo/bar.conf with {x: 1}; "
                                   "set $PATH accordingly; see foo.bar() for details on return values.")


def test_science_pages_group_reference_pages_by_module(tmp_path, monkeypatch):
    """API reference pages (one short page per function) become one source per module, so a module is
    never split between train and test; guide pages stay sources of their own; code is not prose."""
    reference, guide = tmp_path / "reference", tmp_path / "guide"
    reference.mkdir()
    guide.mkdir()
    prose = ("The estimator fits a linear model to the training data and reports the mean squared error of "
             "its predictions on the samples it has not seen.")
    for name in ("scipy.stats.norm", "scipy.stats.gamma", "scipy.linalg.solve"):
        (reference / f"{name}.html").write_text(f"<html><body><p>{prose}</p><pre>x = f(1)</pre></body></html>")
    (guide / "clustering.html").write_text(
        f"<html><body><h1>Clustering</h1><p>{prose}</p><p>x = np.zeros((3, 3)); y[0] = x[1] * 2;</p></body></html>")
    monkeypatch.setattr(build_data, "SCIENCE_GLOBS", ((str(reference), "*.html"), (str(guide), "*.html"),
                                                      (str(tmp_path / "not-installed"), "*.html")))
    docs = {doc.id: doc for doc in build_data.load_science()}
    assert set(docs) == {f"science/{reference}/scipy.stats", f"science/{reference}/scipy.linalg",
                         f"science/{guide / 'clustering.html'}"}
    assert docs[f"science/{reference}/scipy.stats"].paragraphs == (prose, prose)
    assert docs[f"science/{guide / 'clustering.html'}"].paragraphs == (prose,)  # the code line is dropped
    assert {doc.domain for doc in docs.values()} == {"science"}


def test_mix_data_joins_all_of_one_build_with_a_sample_of_the_other(tmp_path):
    import mix_data

    for name, count in (("base", 30), ("add", 5)):
        (tmp_path / name).mkdir()
        for split in ("train", "dev"):
            with gzip.open(tmp_path / name / f"{split}.jsonl.gz", "wt", encoding="utf-8") as handle:
                handle.writelines(json.dumps({"id": f"{name}/{split}/{n}"}) + "\n" for n in range(count))
    out = tmp_path / "mix"
    assert mix_data.main(["--base", str(tmp_path / "base"), "--add", str(tmp_path / "add"), "--base-train", "10",
                          "--base-dev", "4", "--out", str(out)]) == 0
    train, dev = (read(out / f"{split}.jsonl.gz") for split in ("train", "dev"))
    assert len(train) == 15 and len(dev) == 9
    assert {r["id"] for r in train} >= {f"add/train/{n}" for n in range(5)}
    assert sum(r["id"].startswith("base/train/") for r in train) == 10
    assert all("/dev/" in r["id"] for r in dev) and not list(out.glob(".*part"))
    (tmp_path / "add" / "dev.jsonl.gz").unlink()  # a missing input: one line, and no folder half made
    with pytest.raises(SystemExit, match="dev.jsonl.gz not found"):
        mix_data.main(["--base", str(tmp_path / "base"), "--add", str(tmp_path / "add"), "--base-train", "10",
                       "--base-dev", "4", "--out", str(tmp_path / "mix2")])
    assert not (tmp_path / "mix2").exists()


def test_profile_mix_of_a_term_build(tmp_path):
    out = tmp_path / "term"
    summary = build_data.build(out, seed=7, sources=make_sources(30), train_docs=30, eval_docs=6, log=lambda m: None,
                               profile_mix={"clean": 0.3, "term": 0.7})
    assert set(summary["profiles"]) <= {"clean", "term"} and "term" in summary["profiles"]
    assert summary["profile_mix"] == {"clean": 0.3, "term": 0.7}
    assert {r["profile"] for r in read(out / "train.jsonl.gz")} == {"clean", "term"}


@pytest.mark.parametrize("mix", ["term=0.7", "clean=0.3,nosuch=0.7", "clean:0.3"])
def test_bad_profile_mix_is_one_line_and_exit_2(mix, tmp_path, capsys):
    assert build_data.main(["--out", str(tmp_path / "x"), "--profiles", mix]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--profiles" in err
    assert not (tmp_path / "x").exists()


def test_term_sets_hold_one_spun_term_per_sentence(built, tmp_path):
    import shutil

    from lemminflect import getAllLemmas

    from repair.lexicon import Lexicon, normalise

    out, _ = built
    for split in build_data.TERM_SET_SPLITS:
        shutil.copy(out / f"{split}.jsonl.gz", tmp_path)
    lexicon_dir = Path(__file__).resolve().parent.parent / "models" / "lexicon"
    counts = build_data.write_term_sets(tmp_path, 7, per_split=20, lexicon_dir=lexicon_dir)
    lexicon = Lexicon.load(lexicon_dir)
    heldout = build_data.heldout_originals(7)
    assert sum(c["known"] for c in counts.values()) and sum(c["unknown"] for c in counts.values())
    for split in build_data.TERM_SET_SPLITS:
        records = read(tmp_path / f"{split}-terms.jsonl.gz")
        # the paired set: each spun sentence, then its clean original, scored as two documents
        paired = read(tmp_path / f"{split}-paired.jsonl.gz")
        assert paired[0::2] == records and len(paired) == 2 * len(records)
        assert all(c["profile"] == "clean" and c["spun"] == c["original"] == r["original"] and not c["edits"]
                   for r, c in zip(paired[0::2], paired[1::2]))
        assert records and len(records) == counts[split]["known"] + counts[split]["unknown"] <= 20
        for record in records:
            build_data.check_record(record)
            assert record["split"] == f"{split}-terms" and record["edits"]
            assert "\n" not in record["original"].strip()
            edits = record["edits"]
            # one term: the swapped words stand side by side
            for a, b in zip(edits, edits[1:]):
                assert record["original"][a["orig_end"]:b["orig_start"]] == " "
            if record["term_known"]:
                words = [normalise(e["original"]) for e in edits]
                for w1, w2 in zip(words, words[1:]):
                    assert lexicon.known_pair_logp(w1, w2) >= build_data.ESTABLISHED_TERM
            if split.endswith("heldout"):
                for edit in edits:
                    word = edit["original"].lower().split()[-1]
                    assert ({word} | {lemma for options in getAllLemmas(word).values() for lemma in options}) & heldout


TERM_PARAGRAPHS = [
    "The doctor said that high blood pressure raises the risk of a heart attack in older patients. She "
    "told the town that regular exercise and less salt would help most people.",
    "Rising sea level threatens the coastal towns, and the stock market fell when the storm report came "
    "out. Officials promised new funds for the harbour walls before the winter.",
    "Many families now pay with a credit card at the weekly market, and the real estate agents in the "
    "region say that prices have climbed for three years in a row.",
]


def test_wordnet_term_sets_spin_a_two_word_term_of_wordnet(tmp_path):
    from repair.lexicon import Lexicon

    sources = [build_data.SourceDoc(f"toy/{n}", "news", tuple((TERM_PARAGRAPHS[n % 3:] + TERM_PARAGRAPHS[:n % 3]) * 2))
               for n in range(40)]
    build_data.build(tmp_path, seed=7, sources=sources, train_docs=30, eval_docs=10, log=lambda m: None)
    lexicon_dir = Path(__file__).resolve().parent.parent / "models" / "lexicon"
    counts = build_data.write_term_sets(tmp_path, 7, per_split=20, lexicon_dir=lexicon_dir, wordnet=True)
    lexicon = Lexicon.load(lexicon_dir)
    assert not list(tmp_path.glob("*-terms.jsonl.gz")) and not list(tmp_path.glob("*-paired.jsonl.gz"))
    assert sum(c["known"] + c["unknown"] for c in counts.values())
    for split in build_data.TERM_SET_SPLITS:
        for record in read(tmp_path / f"{split}-wnterms.jsonl.gz"):
            build_data.check_record(record)
            assert record["split"] == f"{split}-wnterms" and 1 <= len(record["edits"]) <= 2
            # the spun words are one or both words of a two-word term WordNet lists, in the original
            words = [m for m in re.finditer(r"[a-z]+", record["original"])]
            first = min(e["orig_start"] for e in record["edits"])
            last = max(e["orig_end"] for e in record["edits"])
            assert any(a.start() <= first and last <= b.end() and lexicon.is_thesaurus_term(a.group(0), b.group(0))
                       for a, b in zip(words, words[1:]))


PAPER_PARAGRAPHS = {
    "papers-dev": [
        "In this study, we propose a new method for image compression based on a neural network. The results "
        "show that the proposed model reduces the storage cost while keeping the image quality high.",
        "Water treatment plants remove harmful bacteria from drinking water. We measured the removal rate of "
        "three filter designs over a period of six months in two large cities.",
    ],
    "papers-heldout": [
        "Lithium batteries are widely used in electric vehicles and mobile phones. This paper reviews recent "
        "work on the thermal stability of the battery cells under high charging current.",
        "Unemployment rates rose sharply during the economic crisis. We use survey data from the labour force "
        "to estimate the effect of the minimum wage on young workers in rural regions.",
    ],
}


def test_generated_papers_keep_only_plain_prose_sentences():
    import generate_papers
    from repair.lexicon import Lexicon

    lexicon = Lexicon.load(Path(__file__).resolve().parent.parent / "models" / "lexicon")
    prose = "We measured the removal rate of three filter designs over a period of six months."
    kept = [prose, "The results show that the proposed model reduces the storage cost of large images."]
    noise = [
        "Title: Water Treatment in Cities Abstract: We measured the removal rate of three filters.",
        "See https://example.org/paper for the full data set and the code we used here.",
        "The authors Dr. Smith and Dr. Jones measured the rate of removal in two cities.",
        "We measured the rate of removal in QuantumFlowNet and other new filter designs.",
        "What did we measure in the three filter designs over six months of work?",
        "we measured the removal rate of three filter designs over a period of six months.",
        "Short sentence here.",
        "We measured the blorptic frumbling of zangwort filters over a period of six months.",
    ]
    assert [s for s in kept + noise if generate_papers.plain_sentence(s, lexicon.knows)] == kept
    # a generation becomes one paragraph of its plain sentences, in order
    assert generate_papers.plain_paragraph(" ".join([noise[0], kept[0], noise[1], kept[1]]), lexicon.knows) == " ".join(kept)
    # the two splits' topics are disjoint
    assert not set(generate_papers.TOPICS["dev"]) & set(generate_papers.TOPICS["heldout"])


def test_paper_term_sets_spin_sentences_of_their_own_topics(tmp_path, capsys):
    for name, paragraphs in PAPER_PARAGRAPHS.items():
        build_data.write_checked_records(tmp_path / f"{name}.jsonl.gz",
                      [{"id": f"{name}-{n}", "domain": "paper", "split": name, "profile": "clean", "original": text,
                        "spun": text, "edits": []} for n, text in enumerate(paragraphs * 10)])
    lexicon_dir = Path(__file__).resolve().parent.parent / "models" / "lexicon"
    counts = build_data.write_term_sets(tmp_path, 7, per_split=20, lexicon_dir=lexicon_dir, papers=True)
    assert not list(tmp_path.glob("*-paired.jsonl.gz")) and not (tmp_path / "train-paper-terms.jsonl.gz").exists()
    assert sum(c["known"] + c["unknown"] for c in counts.values())
    for split, source in build_data.PAPER_SOURCES.items():
        own = " ".join(PAPER_PARAGRAPHS[source])
        for record in read(tmp_path / f"{split}-paper-terms.jsonl.gz"):
            build_data.check_record(record)
            assert record["split"] == f"{split}-paper-terms" and record["domain"] == "paper" and record["edits"]
            # a sentence of the split's own topics, never of the other split's
            assert record["original"] in own
        # each sentence back in its whole paper: the paper's other sentences clean, the term's swaps moved along
        sentences = {r["id"]: r for r in read(tmp_path / f"{split}-paper-terms.jsonl.gz")}
        in_papers = list(read(tmp_path / f"{split}-paper-terms-in-papers.jsonl.gz"))
        assert len(in_papers) == len(sentences)
        for record in in_papers:
            build_data.check_record(record)
            sentence = sentences[record["id"].removesuffix("~in-paper")]
            assert record["original"] in PAPER_PARAGRAPHS[source] and sentence["original"] in record["original"]
            at = record["original"].index(sentence["original"])
            assert record["spun"] == record["original"][:at] + sentence["spun"] + record["original"][at + len(sentence["original"]):]
            assert [(e["spun"], e["original"]) for e in record["edits"]] == [(e["spun"], e["original"]) for e in sentence["edits"]]
            for edit in record["edits"]:
                assert record["spun"][edit["spun_start"]:edit["spun_end"]] == edit["spun"]
                assert record["original"][edit["orig_start"]:edit["orig_end"]] == edit["original"]
    # the command line says what is missing, in one line
    assert build_data.main(["--out", str(tmp_path / "empty"), "--paper-terms-only"]) == 2
    assert "run scripts/generate_papers.py first" in capsys.readouterr().err


def test_train_term_sentences_pair_spun_and_clean_sentences_of_train(built, tmp_path):
    """--train-term-sentences: single sentences for the detector to learn from, half left clean,
    all from train's own originals (so no eval split lends its text to training)."""
    import shutil

    out, _ = built
    for split in (*build_data.TERM_SET_SPLITS, "train"):
        shutil.copy(out / f"{split}.jsonl.gz", tmp_path)
    lexicon_dir = Path(__file__).resolve().parent.parent / "models" / "lexicon"
    counts = build_data.write_term_sets(tmp_path, 7, per_split=10, lexicon_dir=lexicon_dir, train_sentences=20)
    records = read(tmp_path / "train-terms.jsonl.gz")
    train_originals = " ".join(r["original"] for r in read(out / "train.jsonl.gz"))
    spun = [r for r in records if r["profile"] == "term"]
    clean = [r for r in records if r["profile"] == "clean"]
    assert spun and clean and len(clean) == counts["train"]["clean"] <= 20
    for record in records:
        build_data.check_record(record)
        assert record["split"] == "train-terms" and record["original"] in train_originals
    assert all(r["edits"] for r in spun) and all(not r["edits"] and r["spun"] == r["original"] for r in clean)


def test_terms_in_documents_put_one_or_two_spun_terms_back_into_a_clean_train_document(built, tmp_path, capsys):
    """--terms-in-docs-only: train documents clean but for the spun term sentences put back (one or two),
    every swap's offsets moved along, the rest of the document exactly as written."""
    import shutil

    out, _ = built
    for split in (*build_data.TERM_SET_SPLITS, "train"):
        shutil.copy(out / f"{split}.jsonl.gz", tmp_path)
    lexicon_dir = Path(__file__).resolve().parent.parent / "models" / "lexicon"
    build_data.write_term_sets(tmp_path, 7, per_split=10, lexicon_dir=lexicon_dir, train_sentences=40)
    assert build_data.main(["--out", str(tmp_path), "--seed", "7", "--terms-in-docs-only"]) == 0
    sentences = [r for r in read(tmp_path / "train-terms.jsonl.gz") if r["edits"]]
    documents = {r["id"]: r["original"] for r in read(out / "train.jsonl.gz")}
    records = read(tmp_path / "train-terms-in-docs.jsonl.gz")
    assert records and len(records) == len({r["id"].split("~")[0] for r in sentences})
    for record in records:
        build_data.check_record(record)
        assert record["original"] == documents[record["id"].split("~")[0]] and record["edits"]
        # undoing the swaps gives the document back; the spun sentences put back are the term set's own
        mine = [s for s in sentences if s["id"].split("~")[0] == record["id"].split("~")[0] and s["spun"] in record["spun"]]
        assert 1 <= len(mine) <= build_data.TERMS_IN_DOCS_MOST
        assert sorted((e["spun"], e["original"]) for e in record["edits"]) == sorted(
            (e["spun"], e["original"]) for s in mine for e in s["edits"])
        for edit in record["edits"]:
            assert record["spun"][edit["spun_start"]:edit["spun_end"]] == edit["spun"]
            assert record["original"][edit["orig_start"]:edit["orig_end"]] == edit["original"]
        rebuilt, cursor = [], 0
        for edit in sorted(record["edits"], key=lambda e: e["spun_start"]):
            rebuilt += [record["spun"][cursor:edit["spun_start"]], edit["original"]]
            cursor = edit["spun_end"]
        assert "".join(rebuilt) + record["spun"][cursor:] == record["original"]
    assert build_data.main(["--out", str(tmp_path / "empty"), "--terms-in-docs-only"]) == 2
    assert "--terms-in-docs-only needs train, train-terms" in capsys.readouterr().err


def spun_record(original: str, swaps: list[tuple[str, str]]) -> dict:
    """``original`` with each (word, substitute) swapped at the word's next occurrence, as build_data writes it."""
    edits, cursor, out = [], 0, []
    for word, substitute in swaps:
        start = original.index(word, cursor)
        out.append(original[cursor:start])
        spun_start = sum(map(len, out))
        out.append(substitute)
        edits.append({"spun_start": spun_start, "spun_end": spun_start + len(substitute), "orig_start": start,
                      "orig_end": start + len(word), "spun": substitute, "original": word, "kind": "word"})
        cursor = start + len(word)
    record = {"id": "toy/1", "domain": "news", "split": "dev", "profile": "light", "original": original,
              "spun": "".join(out) + original[cursor:], "edits": edits}
    build_data.check_record(record)
    return record


def test_lone_sentences_keep_each_sentences_swaps_with_offsets_of_their_own():
    """A document cut into sentences: each sentence's swaps move with it, the original sentence is
    what undoing them gives, and a sentence a swap straddles is dropped with its neighbour."""
    original = ("The council met on Tuesday to discuss the new budget for the town. "
                "Several members argued that the library needed more money this year. "
                "Others wanted to repair the roads before winter arrived in the valley.")
    swaps = [("discuss", "talk over"), ("money", "funds"), ("repair", "fix")]
    sentences = build_data.lone_sentences(spun_record(original, swaps))
    assert [s["original"] for s in sentences] == [s.strip() + "." for s in original.split(".") if s.strip()]
    for sentence, (word, substitute) in zip(sentences, swaps):
        build_data.check_record(sentence)
        assert sentence["split"] == "dev-lone"
        assert [(e["spun"], e["original"]) for e in sentence["edits"]] == [(substitute, word)]
    # a swap across the first full stop spoils the first two sentences, not the third
    straddling = spun_record(original, [("town. Several", "city! Some"), ("repair", "fix")])
    assert [s["original"] for s in build_data.lone_sentences(straddling)] == [sentences[2]["original"]]


def test_lone_sets_pair_each_spun_sentence_with_its_original(built, tmp_path):
    """--lone-only: the eval splits' sentences in the paired shape, train's spun and clean sentences
    for training, every one from its own split's documents."""
    import shutil

    out, _ = built
    for split in (*build_data.LONE_SET_SPLITS, "train"):
        shutil.copy(out / f"{split}.jsonl.gz", tmp_path)
    counts = build_data.write_lone_sets(tmp_path, 7, per_split=10, train_sentences=20)
    for split in build_data.LONE_SET_SPLITS:
        paired = read(tmp_path / f"{split}-lone.jsonl.gz")
        source = " ".join(r["original"] for r in read(out / f"{split}.jsonl.gz"))
        assert len(paired) == 2 * counts[split]["spun"] > 0
        for spun, clean in zip(paired[0::2], paired[1::2]):
            build_data.check_record(spun)
            assert spun["edits"] and spun["original"] in source
            assert clean["spun"] == clean["original"] == spun["original"] and not clean["edits"]
    train = read(tmp_path / "train-lone.jsonl.gz")
    train_originals = " ".join(r["original"] for r in read(out / "train.jsonl.gz"))
    assert any(r["edits"] for r in train) and any(not r["edits"] for r in train)
    assert all(r["original"] in train_originals and r["split"] == "train-lone" for r in train)


def test_swap_keys_count_an_inflected_swap_as_the_same_dictionary_entry():
    assert build_data.swap_keys("companies", "firms") & build_data.swap_keys("Company", "firm")
    assert not build_data.swap_keys("company", "firm") & build_data.swap_keys("company", "business")
    assert build_data.swap_keys("in order to", "so as to") == {("in order to", "so as to")}


def test_unseen_variant_reads_every_swap_a_training_file_holds_as_the_original_again():
    original = ("The council met on Tuesday to discuss the new budget for the town. "
                "Several members argued that the library needed more money this year.")
    record = spun_record(original, [("discuss", "talk over"), ("budget", "plan"), ("money", "funds")])
    seen = frozenset(build_data.swap_keys("budgets", "plans") | build_data.swap_keys("money", "funds"))
    variant = build_data.unseen_variant(record, seen)
    build_data.check_record(variant)
    assert [(e["original"], e["spun"]) for e in variant["edits"]] == [("discuss", "talk over")]
    assert variant["spun"] == original.replace("discuss", "talk over")
    assert variant["split"] == "dev-unseen" and variant["original"] == original
    # a spun record left with nothing is dropped; a clean one stays as it was
    assert build_data.unseen_variant(record, seen | build_data.swap_keys("discuss", "talk over")) is None
    clean = {**record, "spun": original, "edits": [], "profile": "clean"}
    assert build_data.unseen_variant(clean, seen) is clean


def test_unseen_sets_keep_only_swaps_no_training_file_holds(built, tmp_path, capsys):
    """--unseen-only: each evaluation set's variant holds no swap that train holds, and every swap of the
    variant is one of the set's own."""
    import shutil

    out, _ = built
    for split in ("train", "dev", "test", "heldout"):
        shutil.copy(out / f"{split}.jsonl.gz", tmp_path)
    assert build_data.main(["--out", str(tmp_path), "--unseen-only"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["sets"]) == {"dev", "test", "heldout"}
    seen = build_data.seen_swaps([tmp_path / "train.jsonl.gz"])
    for split in ("dev", "test", "heldout"):
        source = {r["id"]: r for r in read(tmp_path / f"{split}.jsonl.gz")}
        variants = read(tmp_path / f"{split}-unseen.jsonl.gz")
        assert len(variants) == report["sets"][split]["kept"]
        for variant in variants:
            build_data.check_record(variant)
            mine = source[variant["id"].removesuffix("~unseen")]
            assert variant["original"] == mine["original"]
            for edit in variant["edits"]:
                assert not build_data.swap_keys(edit["original"], edit["spun"]) & seen
                assert (edit["orig_start"], edit["original"], edit["spun"]) in {
                    (e["orig_start"], e["original"], e["spun"]) for e in mine["edits"]}
        # the control keeps as many of each document's swaps, drawn from all of them
        matched = read(tmp_path / f"{split}-matched.jsonl.gz")
        assert [m["id"].removesuffix("~matched") for m in matched] == [v["id"].removesuffix("~unseen") for v in variants]
        for control, variant in zip(matched, variants):
            build_data.check_record(control)
            mine = source[control["id"].removesuffix("~matched")]
            assert len(control["edits"]) == len(variant["edits"]) and control["original"] == mine["original"]
            assert {(e["orig_start"], e["spun"]) for e in control["edits"]} <= {
                (e["orig_start"], e["spun"]) for e in mine["edits"]}
    assert build_data.main(["--out", str(tmp_path / "empty"), "--unseen-only"]) == 2
    assert "--unseen-only needs the training files" in capsys.readouterr().err
