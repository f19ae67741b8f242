"""The relevancy check: with `check_relevancy`, the prompt asks the model to answer with a
marker when the documents do not answer the question (Rasa's marker, so a Rasa prompt
template works unchanged); an answer holding it is no answer."""

from __future__ import annotations

NOT_RELEVANT_MARKER = "[NO_RAG_ANSWER]"


def is_relevant(answer: str) -> bool:
    return NOT_RELEVANT_MARKER not in answer
