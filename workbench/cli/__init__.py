"""`calm-tui`: one module per verb."""

from workbench.cli.main import main

__all__ = ["main"]
