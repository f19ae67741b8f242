"""The offline generator: deterministic rules that turn a message into commands with no
model, one module per rule family."""

from workbench.understanding.offline.generator import OfflineGenerator

__all__ = ["OfflineGenerator"]
