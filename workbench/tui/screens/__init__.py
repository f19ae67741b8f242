"""Screens of the workbench: main (chat + panels), sessions (browser, transcript)."""
