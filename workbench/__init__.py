"""CALM Workbench: load, run and debug CALM assistants from the terminal."""

__version__ = "0.1.0"
