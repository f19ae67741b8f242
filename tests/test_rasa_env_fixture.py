"""The fixture project whose action imports Rasa Pro itself (as Rasa's templates do).

With rasa-pro in this environment (scripts/check-rasa-env.sh runs this file there) its
e2e test passes; without it, the run fails and says which module is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from workbench.cli.main import main as cli_main

FIXTURE = Path(__file__).parent / "fixtures" / "rasa_env"
RASA_INSTALLED = importlib.util.find_spec("rasa") is not None


def test_the_action_that_imports_rasa(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = cli_main(["test", str(FIXTURE), "--offline"])
    out = capsys.readouterr().out
    if RASA_INSTALLED:
        assert code == 0, out
        assert "1 passed" in out
    else:
        assert code == 1
        assert "No module named 'rasa'" in " ".join(out.split())
