"""Records sample_project/recorded_tests/knowledge_generative.cassette.yml: the generative
knowledge tests run against a scripted model server on 127.0.0.1 (tests/fake_llm.py), so
the committed cassette replays them with no model and no key. Run it again after editing
those tests or the documents in sample_project/docs:

    python -m tests.record_sample_knowledge
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.fake_llm import FakeLLM

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
TESTS = "recorded_tests/knowledge_generative.yml"
CASSETTE = SAMPLE / "recorded_tests" / "knowledge_generative.cassette.yml"
COMMAND_MODEL = "gpt-4o-2024-11-20"  # main_llm in sample_project/endpoints.yml
SEARCH_MODEL = "gpt-4o-mini-2024-07-18"  # search_llm

# (model, reply), in the order the tests ask
SCRIPT = [
    (COMMAND_MODEL, "provide info"),
    (
        SEARCH_MODEL,
        "Yes! We deliver to Canada as well as the United States. Canadian orders take 5 to 8 "
        "business days, and any import duties are charged on delivery.",
    ),
    (COMMAND_MODEL, "start flow return_item\nset slot order_id A1003"),
    (COMMAND_MODEL, "provide info"),
    (
        SEARCH_MODEL,
        "Oil a walnut cutting board twice a year with a food-safe furniture oil, and wipe it "
        "with a damp cloth and dry it at once after use.",
    ),
    (COMMAND_MODEL, "set slot continue_interrupted_flow_confirmation True"),
]


def record() -> int:
    from workbench.cli.main import main

    with FakeLLM() as server:
        for model, text in SCRIPT:
            server.queue(text, model=model)
        os.environ["OPENAI_API_KEY"] = "not-a-real-key"
        os.environ["OPENAI_API_BASE"] = server.url
        CASSETTE.unlink(missing_ok=True)
        return main(["test", str(SAMPLE), TESTS, "--record", str(CASSETTE)])


if __name__ == "__main__":
    raise SystemExit(record())
