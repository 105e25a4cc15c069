"""Project settings from ``[tool.repair]`` in the nearest ``pyproject.toml``.

Lookup walks up from the working directory, like black or ruff, and stops at the first
``pyproject.toml`` (whether or not it has a ``[tool.repair]`` table). Command-line flags
always win over the file; the file wins over built-in defaults.

    [tool.repair]
    threshold = 0.6
    model-dir = "models"        # relative to the pyproject.toml
    encoding = "utf-8"
    max-bytes = 200_000_000
    format = "text"             # check output: text | json
    color = "auto"              # auto | always | never
    language-check = true
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

# --verify: what the causal LM re-reads (``repair.verify.VERIFY_MODES``; here so that the CLI stays light)
VERIFY_CHOICES = ("none", "lm", "terms")

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PYPROJECT = "pyproject.toml"


class ConfigError(ValueError):
    """A ``[tool.repair]`` table with an unknown key or a value of the wrong kind."""


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    return check


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return float(value)
    return check


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of strings")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# key in [tool.repair] -> validator returning the cleaned value
KEYS: dict[str, Callable[[Any], Any]] = {
    "threshold": _number(0.0, 1.0),
    "model-dir": _string,
    "encoding": _string,
    "max-bytes": _positive_int,
    "format": _choice("text", "json"),
    "color": _choice("auto", "always", "never"),
    "language-check": _boolean,
    "markup": _choice("auto", "plain", "markdown", "latex", "html"),
    "ignore-words": _strings,
    "rerank": _choice("none", "lm"),
    "verify": _choice(*VERIFY_CHOICES),
}


@dataclass(frozen=True)
class Config:
    """Settings found in a pyproject.toml; ``values`` uses the file's (hyphenated) key names."""

    values: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def pick(self, key: str, flag_value: Any, default: Any = None) -> Any:
        """A command-line value when one was given, else the file's, else ``default``."""
        if flag_value is not None:
            return flag_value
        return self.values.get(key, default)


def find_pyproject(start: os.PathLike | str | None = None) -> Path | None:
    folder = Path(start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / PYPROJECT).is_file():
            return candidate / PYPROJECT
    return None


def load_config(start: os.PathLike | str | None = None) -> Config:
    """The ``[tool.repair]`` settings of the nearest pyproject.toml above ``start`` (default: cwd)."""
    path = find_pyproject(start)
    if path is None:
        return Config()
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    table = document.get("tool", {}).get("repair", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.repair] must be a table")
    return Config(parse_table(table, path), path)


def parse_table(table: Mapping[str, Any], path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {raw_key!r} in [tool.repair]; known: {', '.join(KEYS)}")
        try:
            values[key] = KEYS[key](value)
        except ValueError as error:
            raise ConfigError(f"{path}: [tool.repair] {raw_key} {error}, not {value!r}") from None
    if "model-dir" in values:
        values["model-dir"] = str((path.parent / values["model-dir"]).resolve())
    return values
