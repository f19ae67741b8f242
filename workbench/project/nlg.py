"""endpoints.yml's `nlg:` section, as Rasa reads it for `type: rephrase` (its
ContextualResponseRephraser): which responses are rephrased, with which model and prompt.

Other `nlg` types (`response`, a callback URL, a custom class) render responses from the
domain as they are; only `rephrase` changes what the bot says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.model import Endpoints

NLG_REPHRASE = "rephrase"
# the response metadata keys Rasa reads: `rephrase: true` and a prompt of its own
REPHRASE_KEY = "rephrase"
RESPONSE_PROMPT_KEY = "rephrase_prompt"
# Rasa's defaults (ContextualResponseRephraser)
DEFAULT_SUMMARIZE_HISTORY = True
DEFAULT_MAX_HISTORICAL_TURNS = 5
# Rasa's default rephrasing model, when `nlg` names none
DEFAULT_REPHRASE_LLM: JSONObject = {
    "provider": "openai",
    "model": "gpt-5.1-2025-11-13",
    "reasoning_effort": "none",
    "max_completion_tokens": 256,
    "timeout": 5,
}


@dataclass(frozen=True)
class RephraseSettings:
    """`nlg: {type: rephrase, ...}`."""

    llm: JSONObject
    prompt_template: str | None = None  # a file, relative to the project folder
    rephrase_all: bool = False
    summarize_history: bool = DEFAULT_SUMMARIZE_HISTORY
    max_historical_turns: int = DEFAULT_MAX_HISTORICAL_TURNS
    # consecutive messages of one speaker count as one turn of the history
    single_turn_utterances: bool = True

    def rephrases(self, metadata: Mapping[str, JSONValue]) -> bool:
        """Whether a response with this metadata is rephrased: its own `rephrase`,
        else `rephrase_all`."""
        return bool(metadata.get(REPHRASE_KEY, self.rephrase_all))


def rephrase_settings(endpoints: Endpoints) -> RephraseSettings | None:
    """The rephraser's settings; None unless `nlg.type` is `rephrase`."""
    nlg = endpoints.nlg
    if not isinstance(nlg, Mapping) or str(nlg.get("type") or "").lower() != NLG_REPHRASE:
        return None
    llm = nlg.get("llm")
    template = nlg.get("prompt_template") or nlg.get("prompt")
    turns = nlg.get("max_historical_turns")
    return RephraseSettings(
        llm=dict(llm) if isinstance(llm, Mapping) and llm else dict(DEFAULT_REPHRASE_LLM),
        prompt_template=str(template) if template else None,
        rephrase_all=bool(nlg.get("rephrase_all", False)),
        summarize_history=bool(nlg.get("summarize_history", DEFAULT_SUMMARIZE_HISTORY)),
        max_historical_turns=max(turns, 1) if isinstance(turns, int) else 5,
        single_turn_utterances=bool(nlg.get("count_multiple_utterances_as_single_turn", True)),
    )
