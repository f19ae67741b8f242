"""The names Rasa gives its patterns, built-in actions, responses and special slots.

Spelled once here so that the engine, the project validator, the generators and the
test tools agree; a typo in one of them would otherwise fail silently (a pattern that
is never found is just a flow that never runs). The default pattern YAML keeps its own
text: it is Rasa's file format, read as data.
"""

from __future__ import annotations

PATTERN_PREFIX = "pattern_"
UTTER_PREFIX = "utter_"

# -- patterns ------------------------------------------------------------------------------

PATTERN_CANCEL_FLOW = "pattern_cancel_flow"
PATTERN_CANNOT_HANDLE = "pattern_cannot_handle"
PATTERN_CHITCHAT = "pattern_chitchat"
PATTERN_CLARIFICATION = "pattern_clarification"
PATTERN_CODE_CHANGE = "pattern_code_change"
PATTERN_COLLECT_INFORMATION = "pattern_collect_information"
PATTERN_COMPLETED = "pattern_completed"
PATTERN_CONTINUE_INTERRUPTED = "pattern_continue_interrupted"
PATTERN_CORRECTION = "pattern_correction"
PATTERN_CUSTOMER_SATISFACTION = "pattern_customer_satisfaction"
PATTERN_EXTERNAL_AGENT_PROCESSING = "pattern_external_agent_processing"
PATTERN_HUMAN_HANDOFF = "pattern_human_handoff"
PATTERN_INTERNAL_ERROR = "pattern_internal_error"
PATTERN_REPEAT_BOT_MESSAGES = "pattern_repeat_bot_messages"
PATTERN_RESTART = "pattern_restart"
PATTERN_SEARCH = "pattern_search"
PATTERN_SESSION_END = "pattern_session_end"
PATTERN_SESSION_START = "pattern_session_start"
PATTERN_SKIP_QUESTION = "pattern_skip_question"
PATTERN_USER_SILENCE = "pattern_user_silence"
PATTERN_VALIDATE_SLOT = "pattern_validate_slot"

# -- built-in actions ----------------------------------------------------------------------

ACTION_LISTEN = "action_listen"
ACTION_RESTART = "action_restart"
ACTION_SESSION_START = "action_session_start"
ACTION_DEFAULT_FALLBACK = "action_default_fallback"
ACTION_DEACTIVATE_LOOP = "action_deactivate_loop"
ACTION_REVERT_FALLBACK_EVENTS = "action_revert_fallback_events"
ACTION_DEFAULT_ASK_AFFIRMATION = "action_default_ask_affirmation"
ACTION_DEFAULT_ASK_REPHRASE = "action_default_ask_rephrase"
ACTION_TWO_STAGE_FALLBACK = "action_two_stage_fallback"
ACTION_UNLIKELY_INTENT = "action_unlikely_intent"
ACTION_BACK = "action_back"
ACTION_SEND_TEXT = "action_send_text"
# utters a sub-agent's question and waits for the answer (no further prediction)
ACTION_AGENT_REQUEST_USER_INPUT = "action_agent_request_user_input"
ACTION_EXTRACT_SLOTS = "action_extract_slots"
ACTION_VALIDATE_SLOT_MAPPINGS = "action_validate_slot_mappings"
ACTION_CANCEL_FLOW = "action_cancel_flow"
ACTION_CORRECT_FLOW_SLOT = "action_correct_flow_slot"
ACTION_CLARIFY_FLOWS = "action_clarify_flows"
ACTION_CONTINUE_INTERRUPTED_FLOW = "action_continue_interrupted_flow"
ACTION_CANCEL_INTERRUPTED_FLOWS = "action_cancel_interrupted_flows"
ACTION_RUN_SLOT_REJECTIONS = "action_run_slot_rejections"
ACTION_TRIGGER_SEARCH = "action_trigger_search"
ACTION_TRIGGER_CHITCHAT = "action_trigger_chitchat"
ACTION_CLEAN_STACK = "action_clean_stack"
ACTION_REPEAT_BOT_MESSAGES = "action_repeat_bot_messages"
ACTION_HANDOFF_METRIC = "action_handoff_metric"
ACTION_HANGUP = "action_hangup"
ACTION_RESET_ROUTING = "action_reset_routing"
# what a custom action returns when it refuses to run (Rasa's event name)
ACTION_EXECUTION_REJECTED = "action_execution_rejected"

# -- built-in responses --------------------------------------------------------------------

UTTER_INTERNAL_ERROR = "utter_internal_error_rasa"
UTTER_CLARIFICATION_OPTIONS = "utter_clarification_options_rasa"
UTTER_BOOLEAN_SLOT_REJECTION = "utter_boolean_slot_rejection"
UTTER_FLOAT_SLOT_REJECTION = "utter_float_slot_rejection"
UTTER_CATEGORICAL_SLOT_REJECTION = "utter_categorical_slot_rejection"


def utter_ask(slot: str) -> str:
    """The response Rasa asks for a slot with when a collect step names none."""
    return f"utter_ask_{slot}"


def action_ask(slot: str) -> str:
    """The custom action Rasa runs to ask for a slot, when the domain has one."""
    return f"action_ask_{slot}"


# events the workbench logs for its own panels; Rasa has no such event types
WORKBENCH_EVENTS = frozenset({"error", "notice"})


def is_pattern(flow_id: str) -> bool:
    return flow_id.startswith(PATTERN_PREFIX)


# -- special slots -------------------------------------------------------------------------

ROUTE_SESSION_TO_CALM = "route_session_to_calm"
REQUESTED_SLOT = "requested_slot"
FLOW_HASHES = "flow_hashes"
DIALOGUE_STACK = "dialogue_stack"
RETURN_VALUE = "return_value"
SESSION_STARTED_METADATA = "session_started_metadata"
# the conversation's language: a categorical slot Rasa adds to every domain, valued by
# `language` and `additional_languages` in config.yml
LANGUAGE_SLOT = "language"
# the slots Rasa itself adds and marks built-in: any command may set them (its set-slot
# rule that a flow must collect a slot skips built-in slots)
RASA_BUILTIN_SLOTS = frozenset(
    {
        REQUESTED_SLOT,
        FLOW_HASHES,
        DIALOGUE_STACK,
        RETURN_VALUE,
        SESSION_STARTED_METADATA,
        LANGUAGE_SLOT,
    }
)

# -- event metadata ------------------------------------------------------------------------

# the key on a bot event's metadata that names the response it came from
UTTER_ACTION_KEY = "utter_action"
# who made a bot message (Rasa's `utter_source`: the nlg class, a policy) and, for the
# rephraser, the response's texts as written (`domain_ground_truth`): judges read both
UTTER_SOURCE_KEY = "utter_source"
DOMAIN_GROUND_TRUTH_KEY = "domain_ground_truth"
# Enterprise Search's answer carries its query and the chunks it was drawn from
SEARCH_QUERY_KEY = "search_query"
SEARCH_RESULTS_KEY = "search_results"
SEARCH_POLICY = "EnterpriseSearchPolicy"
# ours, on a message the rephraser handled: the text before it, or why it kept it
REPHRASED_FROM_KEY = "rephrased_from"
REPHRASE_SKIPPED_KEY = "rephrase_skipped"
# the key on a bot event's metadata that says where a text no response made came from
# (a knowledge answer: its mode and source files)
MESSAGE_SOURCE_KEY = "workbench_source"
# ours, on a message a response rendered in another language: the language it used
TRANSLATION_KEY = "workbench_translation"

# the message a front end sends to begin a conversation (the greeting turn)
SESSION_START_MESSAGE = "/session_start"


def is_session_start(user_text: str) -> bool:
    """The automatic greeting turn a shell or the TUI sends; not something the user said."""
    return user_text.strip() == SESSION_START_MESSAGE
