"""The offline generator on the error families seen on real projects: each test writes a
message in a dialogue state of a small harbour project (reached with typed commands) and
checks the command text the generator writes, as a model given the project would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from engine_helpers import build_project

from workbench.project.model import Project
from workbench.session import Session
from workbench.understanding.base import ScriptedGenerator
from workbench.understanding.offline.generator import OfflineGenerator

FLOWS = """\
flows:
  greet:
    description: The user greets the assistant or says hello.
    steps:
      - action: utter_greet
  goodbye:
    description: The user says goodbye.
    steps:
      - action: utter_bye
  small_talk:
    description: The user makes small talk or chats about nothing in particular.
    steps:
      - action: utter_chat
  out_of_scope:
    description: The user asks for something the harbour does not offer, such as hotels.
    steps:
      - action: utter_out_of_scope
  book_trip:
    name: book a trip
    description: Book a boat trip for one or more travellers.
    steps:
      - collect: port
        description: the port the trip leaves from; other for any port not in the list
      - collect: trip_date
        description: the date of the trip, written as YYYY-MM-DD
      - collect: travellers
        description: how many people travel, a number
      - collect: insurance
        description: True if the travellers add insurance, False if they do not
      - collect: lead_name
        description: the full name of the lead traveller
      - collect: card_number
        description: the payment card number, all of its digits
  cancel_trip:
    name: cancel a trip
    description: Cancel a booked trip.
    steps:
      - collect: trip_reference
        description: the booking reference, two letters and five digits such as HB12345
  pay_fee:
    name: pay a fee
    description: Pay a harbour fee by card.
    steps:
      - collect: fee_amount
        description: the amount to pay in euros, a number
  transfer_money:
    name: transfer money
    description: Send money to someone else.
    steps:
      - collect: transfer_amount
        description: the amount of money to send, a number
  check_transfer_limit:
    name: check transfer limit
    description: Tell the user how much money they may transfer today.
    steps:
      - action: utter_limit
  list_contacts:
    name: list contacts
    description: Show the contacts, whom the user can also transfer money to as payees.
    steps:
      - action: utter_contacts
  list_payees:
    name: list payees
    description: List the people the user has paid before.
    steps:
      - action: utter_payees
"""

DOMAIN = """\
slots:
  port:
    type: categorical
    values: [dover, newhaven, other]
  trip_date:
    type: text
  travellers:
    type: float
  insurance:
    type: text
  lead_name:
    type: text
  card_number:
    type: text
  trip_reference:
    type: text
  fee_amount:
    type: float
  transfer_amount:
    type: float
responses:
  utter_greet: [{text: "Hello!"}]
  utter_bye: [{text: "Bye!"}]
  utter_chat: [{text: "Nice chatting."}]
  utter_out_of_scope: [{text: "We only do boat trips."}]
  utter_limit: [{text: "500 euros."}]
  utter_contacts: [{text: "Your contacts."}]
  utter_payees: [{text: "Your payees."}]
  utter_ask_port: [{text: "Which port?"}]
  utter_ask_trip_date: [{text: "Which date?"}]
  utter_ask_travellers: [{text: "How many travellers?"}]
  utter_ask_insurance: [{text: "Add insurance?"}]
  utter_ask_lead_name: [{text: "Who is the lead traveller?"}]
  utter_ask_card_number: [{text: "Which card?"}]
  utter_ask_trip_reference: [{text: "Your reference?"}]
  utter_ask_fee_amount: [{text: "How much?"}]
  utter_ask_transfer_amount: [{text: "How much?"}]
"""

V2_CONFIG = """\
recipe: default.v1
language: en
pipeline:
  - name: CompactLLMCommandGenerator
policies:
  - name: FlowPolicy
"""
V3_CONFIG = V2_CONFIG.replace("CompactLLMCommandGenerator", "SearchReadyLLMCommandGenerator")

# typed commands that reach each open question of book_trip
TO_PORT = ("/start flow book_trip",)
TO_DATE = (*TO_PORT, "/set slot port dover")
TO_TRAVELLERS = (*TO_DATE, "/set slot trip_date 2026-01-02")
TO_INSURANCE = (*TO_TRAVELLERS, "/set slot travellers 2")
TO_NAME = (*TO_INSURANCE, "/set slot insurance False")
TO_CARD = (*TO_NAME, "/set slot lead_name Ann Lee")


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root: Path = tmp_path_factory.mktemp("harbour")
    return build_project(root, flows=FLOWS, domain=DOMAIN, config=V2_CONFIG)


@pytest.fixture(scope="module")
def harbour_v3(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root: Path = tmp_path_factory.mktemp("harbour_v3")
    return build_project(root, flows=FLOWS, domain=DOMAIN, config=V3_CONFIG)


def reply(project: Project, message: str, *before: str) -> str:
    """The command text the offline generator writes for `message` after `before`."""
    session = Session(project, ScriptedGenerator([]))
    for typed in before:
        asyncio.run(session.handle(typed))
    return OfflineGenerator().decide(message, session.tracker, project).text


def written(project: Project, message: str, *before: str) -> str:
    """The text as the project's syntax writes it (what the trace shows as model output)."""
    session = Session(project, ScriptedGenerator([]))
    for typed in before:
        asyncio.run(session.handle(typed))
    output = asyncio.run(OfflineGenerator().generate(message, session.tracker, project))
    return output.raw_output or ""


def lines(text: str) -> set[str]:
    return set(text.splitlines())


# --- slot values given with the opening request ---------------------------------------------


def test_values_in_the_opening_request_are_kept(harbour):
    text = reply(harbour, "I'd like to book a trip from Dover on 2026-03-12 for 2 people")
    assert lines(text) == {
        "start flow book_trip",
        "set slot port dover",
        "set slot trip_date 2026-03-12",
        "set slot travellers 2",
    }


def test_an_amount_of_money_in_the_request_is_a_number(harbour):
    assert lines(reply(harbour, "I want to pay my €7.50 fee")) == {
        "start flow pay_fee",
        "set slot fee_amount 7.5",
    }


# --- a clear request with one matching verb -------------------------------------------------


def test_the_requests_verb_picks_the_flow_named_by_it(harbour):
    # "transfer" is in three flows; only one flow's name starts with it
    text = reply(harbour, "transfer 40 euros to my sister")
    assert lines(text) == {"start flow transfer_money", "set slot transfer_amount 40"}


def test_a_lone_verb_is_still_vague(harbour):
    assert not reply(harbour, "transfer").startswith("start flow transfer_money")


# --- the project's own conversation flows ---------------------------------------------------


@pytest.mark.parametrize(
    ("message", "flow"),
    [
        ("hello!", "greet"),
        ("good morning", "greet"),
        ("ok bye", "goodbye"),
        ("how is your day going?", "small_talk"),
        ("can you find me a hotel nearby?", "out_of_scope"),
    ],
)
def test_the_projects_own_conversation_flows_win(harbour, message, flow):
    assert reply(harbour, message) == f"start flow {flow}"


def test_a_goodbye_while_a_question_is_open_starts_the_goodbye_flow(harbour):
    assert reply(harbour, "bye!", *TO_NAME) == "start flow goodbye"


# --- free-text answers, card numbers, dates --------------------------------------------------


@pytest.mark.parametrize(
    "message",
    ["it's Maria Lopez", "the lead traveller is Maria Lopez", "Maria Lopez, thanks"],
)
def test_a_free_text_answer_is_trimmed_to_the_value(harbour, message):
    assert reply(harbour, message, *TO_NAME) == "set slot lead_name Maria Lopez"


@pytest.mark.parametrize(
    "message", ["4111 1111 1111 1111", "my card is 4111 1111 1111 1111", "4111-1111-1111-1111"]
)
def test_a_card_number_in_groups_is_kept_whole(harbour, message):
    number = message.split()[-1] if "-" in message else "4111 1111 1111 1111"
    assert reply(harbour, message, *TO_CARD) == f"set slot card_number {number}"


@pytest.mark.parametrize(
    "message", ["the 3rd of May 2026", "May 3rd, 2026", "on 3 May 2026", "2026-05-03"]
)
def test_a_date_is_written_in_the_format_the_description_asks_for(harbour, message):
    assert reply(harbour, message, *TO_DATE) == "set slot trip_date 2026-05-03"


# --- True/False descriptions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "value"), [("yes", "True"), ("yes please", "True"), ("no thanks", "False")]
)
def test_a_text_slot_described_as_true_or_false_gets_a_boolean(harbour, message, value):
    assert reply(harbour, message, *TO_INSURANCE) == f"set slot insurance {value}"


# --- corrections of another slot ------------------------------------------------------------


def test_a_correction_of_another_slot_goes_to_that_slot(harbour):
    text = reply(harbour, "actually I'm leaving from Newhaven, not Dover", *TO_TRAVELLERS)
    assert text == "set slot port newhaven"


# --- questions and "one moment" while a free-text slot is asked -------------------------------


def test_a_question_while_a_free_text_slot_is_asked_is_not_its_value(harbour):
    assert reply(harbour, "do I need a passport for the trip?", *TO_NAME) == "provide info"


@pytest.mark.parametrize("message", ["one moment", "hang on, let me check"])
def test_one_moment_is_not_a_value(harbour, message):
    assert reply(harbour, message, *TO_NAME) == "offtopic reply"


# --- the catch-all value of a categorical slot ----------------------------------------------


def test_an_answer_outside_the_values_takes_the_catch_all(harbour):
    assert reply(harbour, "from Plymouth", *TO_PORT) == "set slot port other"


def test_a_request_is_not_taken_for_the_catch_all(harbour):
    assert "set slot port other" not in reply(harbour, "I want to cancel my trip", *TO_PORT)


# --- needless clarification ------------------------------------------------------------------


def test_the_flow_whose_name_holds_the_words_is_not_clarified(harbour):
    # list_contacts only mentions payees in its description
    assert reply(harbour, "who are my payees") == "start flow list_payees"


# --- negation naming the interrupted flow -----------------------------------------------------


INTERRUPTED = (*TO_DATE, "/start flow cancel_trip", "/set slot trip_reference HB12345")


@pytest.mark.parametrize(
    ("message", "value"),
    [
        ("no, forget the trip booking", "False"),
        ("I don't want to book a trip anymore", "False"),
        ("yes, back to booking the trip", "True"),
    ],
)
def test_naming_the_interrupted_flow_keeps_the_answers_polarity(harbour, message, value):
    text = reply(harbour, message, *INTERRUPTED)
    assert text == f"set slot continue_interrupted_flow_confirmation {value}"


# --- questions no flow explains, and v3 projects ----------------------------------------------


def test_a_question_sharing_one_word_with_a_flow_goes_to_the_knowledge_base(harbour):
    assert reply(harbour, "how safe is the trip in winter storms?") == "provide info"


def test_v3_projects_get_v3_commands(harbour_v3):
    assert written(harbour_v3, "how safe is the trip in winter storms?") == "search and reply"
    assert written(harbour_v3, "one moment", *TO_NAME) == "search and reply"
    assert lines(written(harbour_v3, "book a trip from Dover")) == {
        "start flow book_trip",
        "set slot port dover",
    }


def test_the_same_message_in_the_same_state_gives_the_same_text(harbour):
    first = reply(harbour, "I'd like to book a trip from Dover on 2026-03-12 for 2 people")
    again = reply(harbour, "I'd like to book a trip from Dover on 2026-03-12 for 2 people")
    assert first == again
