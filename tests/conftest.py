"""Shared fixtures: the toy word-list component registered as a model type for the test run."""
from __future__ import annotations

import pytest

from repair import components
from toy_components import MODEL_DIR, TYPE_NAME, ToyWordList


@pytest.fixture
def toy_model_dir(monkeypatch):
    """A models folder whose lexicon/ is the toy word list; the CLI and Repairer load it for real."""
    monkeypatch.setitem(components.COMPONENT_TYPES, TYPE_NAME, "toy_components:ToyWordList")
    monkeypatch.delenv("REPAIR_MODEL_DIR", raising=False)
    return MODEL_DIR


@pytest.fixture
def toy():
    return ToyWordList.from_pretrained(MODEL_DIR / "lexicon")


@pytest.fixture
def toy_repairer(toy_model_dir):
    from repair import Repairer

    return Repairer.from_pretrained(toy_model_dir)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder so no pyproject.toml [tool.repair] leaks into the test."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    return tmp_path
