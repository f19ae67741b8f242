"""Headless e2e testing: run Rasa-format e2e test files on the workbench `Session`.

`runner.py` runs test cases, `assertions.py` holds the step and assertion checks,
`report.py` prints results and writes JUnit XML, `cli.py` is `calm-tui test`.
"""
