"""Immutable objects a loaded CALM project is made of.

Every object that came from a file carries a `Source` so that errors, the validator and
the TUI can point at `file:line`. Raw YAML sub-trees that the workbench does not
interpret (yet) are kept as plain dicts so nothing in a user's project is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from workbench.calm.names import is_pattern, utter_ask
from workbench.calm.values import JSONObject, JSONValue, SlotValue
from workbench.project.choices import DEFAULT_RASA_VERSION

END_STEP = "END"
START_STEP = "START"
NEXT_PREFIX = "NEXT:"


@dataclass(frozen=True)
class Source:
    """Where something was defined: a path relative to the project root and a 1-based line."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


NO_SOURCE = Source("<builtin>")


# --- flows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaticNext:
    """Unconditional link to a step id or END."""

    target: str
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Branch:
    """One `- if:` entry of a conditional `next`; `condition` is None for the `else`."""

    condition: str | None
    target: str
    source: Source = NO_SOURCE


@dataclass(frozen=True)
class ConditionalNext:
    branches: tuple[Branch, ...]

    @property
    def else_target(self) -> str | None:
        for branch in self.branches:
            if branch.condition is None:
                return branch.target
        return None


Next = Union[StaticNext, ConditionalNext, None]  # noqa: UP007 (runtime alias on 3.10)


@dataclass(frozen=True)
class Rejection:
    condition: str
    utter: str | None
    source: Source = NO_SOURCE


@dataclass(frozen=True)
class Step:
    """One flow step. Nested `then`/`else` lists are flattened into the flow's step tuple,
    so every step is addressed by id and `next` only ever holds ids or END."""

    id: str
    kind: Literal["action", "collect", "set_slots", "link", "call", "noop"]
    next: Next
    source: Source
    explicit_id: bool = False
    description: str | None = None
    # action / collect / link / call
    action: str | None = None
    collect: str | None = None
    link: str | None = None
    call: str | None = None
    # collect options
    utter: str | None = None
    ask_before_filling: bool = False
    reset_after_flow_ends: bool = True
    force_slot_filling: bool = False
    rejections: tuple[Rejection, ...] = ()
    # set_slots: ordered (slot, value) pairs and the line of each
    slot_values: tuple[tuple[str, SlotValue], ...] = ()
    slot_value_lines: tuple[int, ...] = ()
    # call of an MCP tool: the server, (param, slot) inputs and (slot, result path) outputs
    mcp_server: str | None = None
    mcp_input: tuple[tuple[str, str], ...] = ()
    mcp_output: tuple[tuple[str, str], ...] = ()
    # call of a sub-agent: slot predicates that end the agent's loop
    exit_if: tuple[str, ...] = ()
    metadata: JSONObject = field(default_factory=dict, compare=False, hash=False)
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def target(self) -> str | None:
        """The name this step refers to (action, slot or flow), whatever its kind."""
        return self.action or self.collect or self.link or self.call

    @property
    def ask_utter(self) -> str:
        return self.utter or utter_ask(self.collect or "")

    @property
    def calls_mcp_tool(self) -> bool:
        """A `call` with `mcp_server` (Rasa also requires `mapping`): the target is a tool."""
        return self.kind == "call" and self.mcp_server is not None


@dataclass(frozen=True)
class NluTrigger:
    intent: str
    confidence_threshold: float = 0.0


@dataclass(frozen=True)
class Flow:
    id: str
    description: str | None
    steps: tuple[Step, ...]
    source: Source
    name: str = ""
    guard: str | bool | None = None
    nlu_triggers: tuple[NluTrigger, ...] = ()
    persisted_slots: tuple[str, ...] = ()
    always_include_in_prompt: bool = False
    run_pattern_completed: bool = True
    is_default_pattern: bool = False
    fingerprint: str = ""
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def readable_name(self) -> str:
        return self.name or self.id.replace("_", " ").replace("-", " ")

    @property
    def is_pattern(self) -> bool:
        return is_pattern(self.id)

    @property
    def is_link_only(self) -> bool:
        """A constant-false guard: never offered to the model, reachable only by link/call."""
        return self.guard is False or (
            isinstance(self.guard, str) and self.guard.strip().lower() == "false"
        )

    @property
    def first_step(self) -> Step | None:
        return self.steps[0] if self.steps else None

    def step(self, step_id: str) -> Step | None:
        return self._index().get(step_id)

    def _index(self) -> dict[str, Step]:
        index = self.__dict__.get("_step_index")
        if index is None:
            index = {step.id: step for step in self.steps}
            object.__setattr__(self, "_step_index", index)
        return index


# --- domain --------------------------------------------------------------------------

SLOT_TYPES = ("text", "bool", "float", "categorical", "list", "any")


@dataclass(frozen=True)
class SlotMapping:
    type: str  # from_llm, controlled, from_entity, from_intent, from_text, ...
    conditions: tuple[JSONObject, ...] = ()
    allow_nlu_correction: bool = False
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Slot:
    name: str
    type: str
    source: Source
    mappings: tuple[SlotMapping, ...] = (SlotMapping("from_llm"),)
    initial_value: SlotValue = None
    values: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    influence_conversation: bool | None = None
    description: str | None = None
    validation: JSONObject | None = field(default=None, compare=False, hash=False)
    is_builtin: bool = False
    # coexistence: kept when the routing session ends (action_reset_routing)
    shared_for_coexistence: bool = False

    @property
    def llm_fillable(self) -> bool:
        """Whether a `set slot` from the model may fill it (reference section b)."""
        kinds = {m.type for m in self.mappings}
        if "from_llm" in kinds:
            return True
        return not kinds  # no mapping at all means from_llm

    @property
    def is_controlled(self) -> bool:
        return any(m.type in ("controlled", "custom") for m in self.mappings)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str
    line: int = 0


@dataclass(frozen=True)
class ResponseVariation:
    text: str | None
    source: Source
    buttons: tuple[Button, ...] = ()
    condition: str | tuple[JSONObject, ...] | None = None
    channel: str | None = None
    metadata: JSONObject = field(default_factory=dict, compare=False, hash=False)
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def uses_jinja(self) -> bool:
        return str(self.metadata.get("template", "")).lower() == "jinja"

    @property
    def language(self) -> str | None:
        lang = self.metadata.get("language")
        return str(lang) if lang else None


@dataclass(frozen=True)
class Response:
    name: str
    variations: tuple[ResponseVariation, ...]
    source: Source
    is_default: bool = False


@dataclass(frozen=True)
class Domain:
    slots: dict[str, Slot] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)
    actions: dict[str, Source] = field(default_factory=dict)
    intents: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    session_config: JSONObject = field(default_factory=dict)
    files: tuple[str, ...] = ()
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)


# --- config / endpoints ----------------------------------------------------------------


@dataclass(frozen=True)
class CommandGeneratorConfig:
    """The command generator entry of config.yml's pipeline, with Rasa's defaults."""

    name: str = "CompactLLMCommandGenerator"
    llm: JSONObject = field(default_factory=dict)
    flow_retrieval: JSONObject = field(default_factory=dict)
    user_input: JSONObject = field(default_factory=dict)
    prompt_template: str | None = None
    source: Source = NO_SOURCE
    # a project's own generator class (dotted name) that runs as the built-in `name`
    custom_class: str | None = None
    custom_note: str | None = None
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def max_characters(self) -> int:
        value = self.user_input.get("max_characters", 420)
        if not isinstance(value, (str, int, float)):
            return 420
        try:
            return int(value)
        except (TypeError, ValueError):
            return 420


@dataclass(frozen=True)
class SearchPolicyConfig:
    """The `EnterpriseSearchPolicy` entry of config.yml's policies, with Rasa 3.21's
    defaults. `llm` and `embeddings` hold the configured section (a `model_group`
    reference or an inline client config), or Rasa's default model when none is given."""

    vector_store_type: str = "faiss"
    # the documents folder relative to the project root; None when `vector_store` is
    # given without a `source` (Rasa then has no documents to index)
    docs_source: str | None = "./docs"
    threshold: float = 0.0
    vector_store: JSONObject = field(default_factory=dict)
    llm: JSONObject = field(default_factory=dict)
    embeddings: JSONObject = field(default_factory=dict)
    llm_is_default: bool = True
    embeddings_is_default: bool = True
    prompt_template: str | None = None
    citation_enabled: bool = False
    check_relevancy: bool = False
    use_generative_llm: bool = True
    max_messages_in_query: int = 2
    max_history: int | None = None
    include_date_time: bool = True
    timezone: str = "UTC"
    trace_prompt_tokens: bool = False
    source: Source = NO_SOURCE
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def is_local_store(self) -> bool:
        """faiss: the workbench indexes the documents itself (no server)."""
        return self.vector_store_type == "faiss"


@dataclass(frozen=True)
class Config:
    language: str = "en"
    additional_languages: tuple[str, ...] = ()
    assistant_id: str | None = None
    recipe: str | None = None
    pipeline: tuple[JSONObject, ...] = ()
    policies: tuple[JSONObject, ...] = ()
    command_generator: CommandGeneratorConfig | None = None
    search: SearchPolicyConfig | None = None  # EnterpriseSearchPolicy, when configured
    source: Source = NO_SOURCE
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def router(self) -> str | None:
        """The coexistence router in the pipeline (its class name), if there is one."""
        for component in self.pipeline:
            name = str(component.get("name") or "").rsplit(".", 1)[-1]
            if name in ROUTERS:
                return name
        return None


# the pipeline components that split a coexistence assistant between NLU and CALM
ROUTERS = ("LLMBasedRouter", "IntentBasedRouter")


@dataclass(frozen=True)
class ModelConfig:
    provider: str | None
    model: str | None
    settings: JSONObject = field(default_factory=dict)


@dataclass(frozen=True)
class ModelGroup:
    id: str
    models: tuple[ModelConfig, ...]
    source: Source = NO_SOURCE
    router: JSONObject | None = None


@dataclass(frozen=True)
class McpServer:
    """An entry of endpoints.yml's `mcp_servers:`: a streamable HTTP server at `url`
    (`type: http`/`https`, as Rasa), or a local process the workbench starts and talks to
    over stdin/stdout (`type: stdio`, a workbench extension Rasa does not load)."""

    name: str
    url: str | None = None
    type: str | None = None
    source: Source = NO_SOURCE
    # stdio only: the program and its arguments, extra environment variables, and the
    # folder it runs in (absolute once loaded; the project root when not given)
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None

    @property
    def is_stdio(self) -> bool:
        return self.type == "stdio"

    @property
    def address(self) -> str:
        """Where the server is, for messages: its URL or its command line."""
        return " ".join(self.command) if self.is_stdio else str(self.url)


@dataclass(frozen=True)
class Endpoints:
    action_endpoint_url: str | None = None
    actions_module: str | None = None
    model_groups: dict[str, ModelGroup] = field(default_factory=dict)
    mcp_servers: dict[str, McpServer] = field(default_factory=dict)
    nlg: JSONObject | None = None
    source: Source = NO_SOURCE
    raw: JSONObject = field(default_factory=dict, compare=False, hash=False, repr=False)


# --- sub-agents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubAgent:
    """`sub_agents/<folder>/config.yml`: a flow calls it by `name`, not by the folder."""

    name: str
    description: str
    source: Source
    protocol: str = "rasa"  # rasa | a2a
    folder: str = ""
    configuration: JSONObject = field(default_factory=dict, compare=False, hash=False)
    mcp_servers: tuple[str, ...] = ()
    # per server: the tools offered to the agent (`include_tools`, None: all of them)
    # and those held back (`exclude_tools`)
    tool_filters: tuple[tuple[str, tuple[str, ...] | None, tuple[str, ...]], ...] = ()

    def offers(self, server: str, tool: str) -> bool:
        """Whether the agent's connections let its model call `tool` of `server`."""
        for name, include, exclude in self.tool_filters:
            if name == server:
                return (include is None or tool in include) and tool not in exclude
        return server in self.mcp_servers


# --- e2e tests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TestStep:
    """One step of an e2e test case: `kind` is its first key (user, bot, utter,
    slot_was_set, slot_was_not_set) and `value` that key's value."""

    __test__ = False  # not a pytest class

    kind: str
    value: JSONValue
    source: Source
    metadata: str | None = None
    assertions: tuple[JSONObject, ...] = ()
    assertion_order_enabled: bool = False


@dataclass(frozen=True)
class TestCase:
    __test__ = False

    name: str
    steps: tuple[TestStep, ...]
    source: Source
    fixtures: tuple[str, ...] = ()
    metadata: str | None = None

    @property
    def uses_assertions(self) -> bool:
        return any(step.assertions for step in self.steps)


@dataclass(frozen=True)
class TestFile:
    __test__ = False

    path: str
    test_cases: tuple[TestCase, ...]
    fixtures: dict[str, tuple[tuple[str, SlotValue], ...]] = field(default_factory=dict)
    # where each (slot, value) pair of each fixture is written
    fixture_sources: dict[str, tuple[Source, ...]] = field(default_factory=dict)
    metadata: dict[str, JSONObject] = field(default_factory=dict)
    stub_custom_actions: dict[str, JSONObject] = field(default_factory=dict)
    # the workbench's stubs for MCP tools and sub-agents (agents/stubs.py)
    stub_tools: JSONObject = field(default_factory=dict)
    stub_agents: JSONObject = field(default_factory=dict)


# --- the project -------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomActionInfo:
    """A custom action found by reading (not importing) the actions package."""

    name: str
    source: Source
    class_name: str


# Rasa Pro versions whose behaviour the engine can follow where it changed (reference i)
@dataclass(frozen=True)
class TestBudgets:
    """Limits an e2e run must stay within (workbench.yml `test:`, or the `calm-tui test`
    options): None is no limit."""

    __test__ = False  # not a pytest class, despite the name

    max_cost: float | None = None  # USD, the whole run
    max_tokens_per_turn: int | None = None  # prompt + completion tokens of one user turn
    max_latency_ms_per_turn: float | None = None  # model time of one user turn


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config
    endpoints: Endpoints
    domain: Domain
    flows: dict[str, Flow]
    test_files: tuple[TestFile, ...] = ()
    custom_actions: dict[str, CustomActionInfo] = field(default_factory=dict)
    agents: dict[str, SubAgent] = field(default_factory=dict)
    # keyword names custom actions pass to dispatcher.utter_message(response=..., **kw)
    response_kwargs: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()
    fingerprint: str = ""
    # how the project was found, e.g. "using config/config.yml (no config.yml at the root)"
    notes: tuple[str, ...] = ()
    rasa_version: str = DEFAULT_RASA_VERSION
    # slots workbench.yml marks as secret (`secret_slots`) or not (`not_secret_slots`),
    # beside those whose names say so (store/redact.py)
    secret_slots: frozenset[str] = frozenset()
    not_secret_slots: frozenset[str] = frozenset()
    # a running flow changed by a reload: "continue" at its matching step, or "rasa"
    code_change: str = "continue"
    # the command prompt asked for (`--prompt`, else workbench.yml's `prompt:`): "rasa",
    # "workbench", or None for Rasa's own when rasa-pro is installed
    prompt: str | None = None
    # workbench.yml `test:` limits for e2e runs
    test_budgets: TestBudgets = field(default_factory=TestBudgets)

    def flow(self, flow_id: str) -> Flow | None:
        return self.flows.get(flow_id)

    @property
    def user_flows(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows.values() if not f.is_pattern)

    def slot(self, name: str) -> Slot | None:
        return self.domain.slots.get(name)

    def response(self, name: str) -> Response | None:
        return self.domain.responses.get(name)

    @property
    def test_cases(self) -> tuple[tuple[TestFile, TestCase], ...]:
        return tuple((tf, tc) for tf in self.test_files for tc in tf.test_cases)
