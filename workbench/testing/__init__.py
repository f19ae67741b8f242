"""Headless e2e testing: run Rasa-format e2e test files on the workbench `Session`.

`runner.py` runs test cases (`parallel.py` and `parallel_worker.py` in worker processes
for `-n N`, `shards.py` picks a `--shard K/N`), `assertions.py` holds the step and
assertion checks, `report.py` prints results and writes JUnit XML, `cli.py` is `calm-tui test`,
`export.py` writes a saved session as an e2e test (and its cassette), `replay.py`
re-runs a saved session with its recorded model output and compares the behaviour.
`coverage.py` adds up what a run reached of the flows (`--coverage`), `coverage_file.py`
keeps it in `.calm/coverage.json` for the Flow panel, `coverage_report.py` prints it.
"""
