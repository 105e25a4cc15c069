"""The two pluggable stages and how they are found on disk.

A component is a folder holding ``component.json`` (``{"type": "...", ...}``) plus whatever
files its type needs. ``COMPONENT_TYPES`` maps a type to the class that loads it, imported
only when used so that ``repair --help`` never pays for torch.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from .edits import Edit, Span

COMPONENT_FILE = "component.json"

# type name -> "module:Class"; each class has from_pretrained(folder) and a ``name``
COMPONENT_TYPES: dict[str, str] = {
    "lexicon": "repair.baseline:LexiconBaseline",  # serves as detector and rewriter
    "tagger-detector": "repair.detect:TaggerDetector",
    "seq2seq-rewriter": "repair.rewrite:Seq2SeqRewriter",
}


@runtime_checkable
class Detector(Protocol):
    name: str

    def detect(self, text: str, threshold: float) -> list[Span]:
        """Spans of ``text`` scored at or above ``threshold``, in order, not overlapping."""


@runtime_checkable
class Rewriter(Protocol):
    name: str

    def rewrite(self, text: str, spans: Sequence[Span]) -> list[Edit]:
        """An edit for each span worth changing; spans it cannot improve are left out."""


class ComponentError(RuntimeError):
    """A model folder is missing, incomplete or of an unknown type."""


def read_component_config(folder: Path) -> dict:
    path = Path(folder) / COMPONENT_FILE
    if not path.is_file():
        raise ComponentError(f"{folder} is not a model folder (no {COMPONENT_FILE})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ComponentError(f"{path} is not valid JSON: {error}") from None


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path):
    return _load(folder)


def load_component(folder: os.PathLike | str, **options):
    """Load a component; one folder serving both roles (the lexicon) is loaded once."""
    folder = Path(folder).resolve()
    return _load(folder, **options) if options else _load_cached(folder)


def _load(folder: Path, **options):
    config = read_component_config(folder)
    kind = config.get("type")
    if kind not in COMPONENT_TYPES:
        raise ComponentError(f"{folder}: unknown component type {kind!r}; known: {', '.join(COMPONENT_TYPES)}")
    module_name, class_name = COMPONENT_TYPES[kind].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_pretrained(folder, **options)


def save_component(folder: os.PathLike | str, weights_file: str, state: dict, config: dict) -> Path:
    """Write a model folder: its tensors (safetensors) and ``component.json``, each completely or not at all."""
    from safetensors.torch import save_file

    from .textio import write_text_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / (weights_file + ".tmp")
    save_file(state, str(temporary), metadata={"format": "pt"})
    os.replace(temporary, folder / weights_file)
    write_text_atomic(folder / COMPONENT_FILE, json.dumps(config, indent=2) + "\n")
    return folder


def save_component_config(folder: os.PathLike | str, updates: dict) -> Path:
    """Merge ``updates`` into a model folder's ``component.json`` (atomically; a None value removes the key)."""
    from .textio import write_text_atomic

    config = read_component_config(Path(folder))
    for key, value in updates.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    write_text_atomic(Path(folder) / COMPONENT_FILE, json.dumps(config, indent=2) + "\n")
    return Path(folder)


def folder_fingerprint(folder: os.PathLike | str) -> str:
    """A short hash of every file in a model folder, for result signatures."""
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".md":  # the card can be edited without changing the model
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:8]


def default_model_dir() -> Path:
    """``$REPAIR_MODEL_DIR``, else the ``models/`` folder shipped beside the package."""
    env = os.environ.get("REPAIR_MODEL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"
