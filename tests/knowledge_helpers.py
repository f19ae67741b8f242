"""Small knowledge-base projects written into a temporary folder, and a fake embedder."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from workbench.project.loader import load_project
from workbench.project.model import Project

FINANCE_DOCS = Path(__file__).resolve().parent / "fixtures" / "knowledge" / "finance"


def write_project(root: Path, policy: str = "- name: EnterpriseSearchPolicy\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yml").write_text(
        "recipe: default.v1\nlanguage: en\npolicies:\n- name: FlowPolicy\n" + policy
    )
    (root / "domain.yml").write_text("version: '3.1'\n")
    return root


def finance_project(root: Path, policy: str = "- name: EnterpriseSearchPolicy\n") -> Project:
    write_project(root, policy)
    shutil.copytree(FINANCE_DOCS, root / "docs" / "finance")
    return load_project(root).project


class FakeEmbedder:
    """Deterministic bag-of-words vectors (16 dimensions), counting what it embeds."""

    def __init__(self, dimension: int = 16) -> None:
        self.dimension = dimension
        self.calls = 0
        self.texts: list[str] = []
        self.error: Exception | None = None  # set: the model is down

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        if self.error is not None:
            raise self.error
        self.calls += 1
        self.texts.extend(texts)
        return [self.vector(text) for text in texts]

    def vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in text.lower().split():
            digest = hashlib.md5(word.strip("?.,:").encode()).digest()
            vector[digest[0] % self.dimension] += 1.0
        return vector
