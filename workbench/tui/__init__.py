"""The Textual workbench app: renders project state and turn traces, holds no dialogue logic."""
