"""Default pattern flows, their slots and responses, shipped as YAML package data."""

from __future__ import annotations

from importlib.resources import files

DEFAULT_PATTERNS_FILE = "default_patterns.yml"


def default_patterns_text() -> str:
    return files(__name__).joinpath(DEFAULT_PATTERNS_FILE).read_text(encoding="utf-8")
