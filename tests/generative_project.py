"""A small project whose responses are rephrased (`nlg: type: rephrase`) and whose e2e
tests use judged assertions, and a fake OpenAI-compatible server on 127.0.0.1 that
answers each kind of prompt as its model would: the command generator, the rephraser,
and the judge (questions for relevance, statements for groundedness)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fake_llm import FakeLLM, Reply

QUESTION = "what are the fees for international transfers?"
ORIGINAL = "International transfers cost 1% of the amount, at least 2 euros."
REPHRASED = "Sending money abroad costs 1% of the amount (at least 2 euros)."
PLAIN = "Anything else?"

CONFIG = """\
recipe: default.v1
language: en
assistant_id: fees_bot
pipeline:
  - name: CompactLLMCommandGenerator
    llm:
      provider: openai
      model: commands
      api_base: {url}
policies:
  - name: FlowPolicy
"""

ENDPOINTS = """\
nlg:
  type: rephrase
  summarize_history: false
  llm:
    provider: openai
    model: rephraser
    api_base: {url}
"""

DOMAIN = f"""\
version: "3.1"
responses:
  utter_fees:
    - text: "{ORIGINAL}"
      metadata:
        rephrase: true
  utter_plain:
    - text: "{PLAIN}"
"""

FLOWS = """\
flows:
  fees:
    description: Tell the user the fees for international transfers.
    steps:
      - action: utter_fees
      - action: utter_plain
"""

CONFTEST = """\
llm_judge:
  llm:
    provider: openai
    model: judge
    api_base: {url}
  embeddings:
    provider: openai
    model: judge-embeddings
    api_base: {url}
"""

TESTS = f"""\
test_cases:
  - test_case: steps see the rephrased text
    steps:
      - user: "{QUESTION}"
      - bot: "{REPHRASED}"
      - utter: utter_fees
      - bot: "{PLAIN}"
  - test_case: judged and passing
    steps:
      - user: "{QUESTION}"
        assertions:
          - bot_uttered:
              utter_name: utter_fees
              text_matches: "^Sending money abroad"
          - generative_response_is_relevant:
              threshold: 0.5
          - generative_response_is_grounded:
              threshold: 0.6
              ground_truth: "{ORIGINAL}"
  - test_case: judged and failing
    steps:
      - user: "{QUESTION}"
        assertions:
          - generative_response_is_grounded:
              threshold: 0.9
              utter_name: utter_fees
"""

QUESTIONS = {
    "question_variations": [
        "What are the fees for international transfers?",
        "How much do international transfers cost?",
        "What is the minimum fee for international transfers?",
    ]
}
# two of three statements supported: 0.67, above 0.6 and below 0.9
STATEMENTS = {
    "statements": [
        {"statement": "Sending money abroad costs 1%.", "score": 1, "justification": "1% fee"},
        {"statement": "The minimum is 2 euros.", "score": 1, "justification": "at least 2"},
        {
            "statement": "The fee is charged on the amount.",
            "score": 0,
            "justification": "the reference does not say when the fee is charged",
        },
    ]
}


class GenerativeLLM(FakeLLM):
    """Answers by what the prompt asks for; `rephraser_down` makes the rephraser fail."""

    def __init__(self) -> None:
        super().__init__()
        self.rephraser_down = False
        self._prompt = ""

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        messages = body.get("messages") or [{}]
        self._prompt = str(messages[-1].get("content") or "")
        return super()._answer(path, body)

    def _next_reply(self, model: str) -> Reply:
        prompt = self._prompt
        if model == "commands":
            return Reply("start flow fees")
        if model == "rephraser":
            if self.rephraser_down:
                return Reply(status=500)
            return Reply(REPHRASED)
        if "question_variations" in prompt:
            return Reply("```json\n" + json.dumps(QUESTIONS) + "\n```")
        if '"statements"' in prompt:
            return Reply(json.dumps(STATEMENTS))
        return Reply("offtopic reply")

    def calls(self, model: str) -> int:
        return sum(1 for r in self.requests if r["body"].get("model") == model)


def write_project(root: Path, url: str) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "config.yml").write_text(CONFIG.format(url=url))
    (root / "endpoints.yml").write_text(ENDPOINTS.format(url=url))
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "flows.yml").write_text(FLOWS)
    (root / "tests" / "conftest.yml").write_text(CONFTEST.format(url=url))
    (root / "tests" / "fees.yml").write_text(TESTS)
    return root
