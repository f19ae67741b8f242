"""Default pattern flows, their slots and responses, shipped as YAML package data.

`default_patterns.yml` is the Rasa 3.21 set; a version profile may add a file whose
flows and responses replace those of the same name (`PROFILE_FILES`)."""

from __future__ import annotations

from importlib.resources import files

DEFAULT_PATTERNS_FILE = "default_patterns.yml"
PROFILE_FILES = {"3.14": "rasa_3_14.yml"}


def default_patterns_text() -> str:
    return pattern_file_text(DEFAULT_PATTERNS_FILE)


def pattern_file_text(name: str) -> str:
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
