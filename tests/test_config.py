"""[tool.repair] in the nearest pyproject.toml; flags win over it."""
from __future__ import annotations

import pytest

from repair.config import ConfigError, find_pyproject, load_config


def write_pyproject(folder, body):
    (folder / "pyproject.toml").write_text(body, encoding="utf-8")


def test_nearest_pyproject_upward(tmp_path):
    write_pyproject(tmp_path, '[tool.repair]\nthreshold = 0.7\nmodel-dir = "models"\nmax_bytes = 1000\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_pyproject(deep) == tmp_path / "pyproject.toml"
    config = load_config(deep)
    assert config.get("threshold") == 0.7
    assert config.get("max-bytes") == 1000
    assert config.get("model-dir") == str((tmp_path / "models").resolve())
    assert config.pick("threshold", 0.2) == 0.2  # a flag wins
    assert config.pick("threshold", None) == 0.7
    assert config.pick("encoding", None, "utf-8") == "utf-8"


def test_closer_pyproject_without_table_stops_the_search(tmp_path):
    write_pyproject(tmp_path, "[tool.repair]\nthreshold = 0.7\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    write_pyproject(inner, "[project]\nname = 'x'\n")
    assert load_config(inner).values == {}


@pytest.mark.parametrize(
    "body, message",
    [
        ("[tool.repair]\nthreshhold = 0.5\n", "unknown key 'threshhold'"),
        ("[tool.repair]\nthreshold = 2\n", "threshold must be a number from 0 to 1"),
        ("[tool.repair]\nformat = 'xml'\n", "format must be one of text, json"),
        ("[tool.repair]\nmax-bytes = -5\n", "must be a positive whole number"),
        ("[tool.repair\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, body, message):
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)
