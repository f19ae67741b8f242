"""The LLM command generator: retrieve flows → render the prompt → call the model → parse.

Importing this module does not import litellm. A front end calls `start_warm_up` once
its first screen is up: litellm is imported and its first-call costs paid in a background
thread (`warmup.py`) while the user reads and types. Without it, the first `generate`
imports litellm (in a worker thread, so an event loop such as the TUI's is not blocked).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from workbench.calm.commands import Error
from workbench.engine.tracker import Tracker
from workbench.project.model import Project
from workbench.trace.turn import ModelUsage
from workbench.understanding import llm, warmup
from workbench.understanding.base import GeneratorFailure, GeneratorOutput, output_from_text
from workbench.understanding.dsl.parser import Syntax
from workbench.understanding.llm import Completion, LLMError
from workbench.understanding.models import ModelSpec
from workbench.understanding.prompt import (
    PromptTemplateError,
    prompt_source,
    render_prompt,
    syntax_for,
    unpassed_variables,
)
from workbench.understanding.retrieval import FlowRetriever

Completer = Callable[[ModelSpec, str], Awaitable[Completion]]
TokenCounter = Callable[[str, str], int]
WARM_UP_WAIT_S = 60.0


class LLMCommandGenerator:
    """A `CommandGenerator` backed by a model. `completer` and `count_tokens` default to
    `llm.complete` / `llm.count_tokens`; tests and benchmarks pass stubs."""

    def __init__(
        self,
        project: Project,
        model: ModelSpec,
        *,
        retriever: FlowRetriever | None = None,
        syntax: Syntax | None = None,
        completer: Completer | None = None,
        count_tokens: TokenCounter | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.model = model
        self.name = model.name
        self.syntax = syntax
        self.retriever = retriever or FlowRetriever()
        self._completer = completer
        self._count_tokens = count_tokens
        self._now = now
        self.project = project
        self._warm_up: warmup.WarmUp | None = None
        # asked from the thread that loaded the project and from the screen's loop
        self._warm_up_lock = threading.Lock()

    def start_warm_up(self) -> warmup.WarmUp:
        """Prepare the model and the flow ranking in a background thread (once)."""
        with self._warm_up_lock:
            if self._warm_up is None:
                project = self.project

                def prepare() -> None:
                    llm.prepare(self.model)
                    asyncio.run(self.retriever.prepare(project))

                self._warm_up = warmup.start(prepare)
            return self._warm_up

    async def generate(self, message: str, tracker: Tracker, project: Project) -> GeneratorOutput:
        if self._warm_up is not None and not self._warm_up.done.is_set():
            # a message sent before the preparation finished waits for it, rather than
            # doing the same work a second time beside it
            await asyncio.to_thread(self._warm_up.wait, WARM_UP_WAIT_S)
        syntax = self.syntax or syntax_for(project)
        retrieval = await self.retriever.retrieve(project, tracker, message)
        retrieved = list(retrieval.retrieved)
        now = self._now() if self._now is not None else None
        try:
            prompt = render_prompt(
                project, tracker, message, retrieval.flows, syntax=syntax, now=now
            )
        except PromptTemplateError as error:
            reason = f"prompt template: {error}"
            return GeneratorOutput(
                [Error()],
                retrieved_flows=retrieved,
                usage=ModelUsage(model=self.name, error=reason),
                failure=GeneratorFailure(reason),
            )
        prompt_tokens = await self._tokens(prompt)
        started = time.perf_counter()
        try:
            completion = await self._complete(prompt)
        except Exception as error:  # LLMError, or a bug in a stub: never a crash
            reason = (
                str(error) if isinstance(error, LLMError) else f"{type(error).__name__}: {error}"
            )
            return GeneratorOutput(
                [Error()],
                prompt=prompt,
                prompt_tokens=prompt_tokens,
                prompt_template=prompt_source(project).label,
                retrieved_flows=retrieved,
                usage=ModelUsage(
                    model=getattr(error, "model", None) or self.name,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    error=reason,
                ),
                failure=GeneratorFailure(reason),
            )
        output = output_from_text(completion.text, syntax)
        output.notices.extend(
            f"the prompt template uses `{name}`, which is never passed: it rendered empty"
            for name in unpassed_variables(project)
        )
        output.prompt = prompt
        output.prompt_tokens = prompt_tokens
        output.prompt_template = prompt_source(project).label
        output.retrieved_flows = retrieved
        output.usage = ModelUsage(
            model=completion.model,
            latency_ms=completion.latency_ms,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
        )
        return output

    def prompt_label(self, project: Project) -> str:
        """Which command prompt the model gets for `project`, briefly (for headers; the
        Prompt panel names the template)."""
        return prompt_source(project).brief

    async def _complete(self, prompt: str) -> Completion:
        if self._completer is not None:
            return await self._completer(self.model, prompt)
        return await llm.complete(self.model, prompt)

    async def _tokens(self, prompt: str) -> int:
        if self._count_tokens is not None:
            return self._count_tokens(self.model.model, prompt)
        if not llm.is_loaded():
            await llm.warm_up()
        # the first count loads a tokenizer (~0.7 s): keep it off the event loop
        return await asyncio.to_thread(llm.count_tokens, self.model.model, prompt)
