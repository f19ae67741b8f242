"""Custom actions of Penny, the Parcel & Pine assistant.

Written against the rasa_sdk API: each class names itself in `name()` and returns a list
of events from `run(dispatcher, tracker, domain)`. The same code runs on a Rasa action
server, in-process with `actions_module: "actions"`, and in the workbench.

Every action is defensive: a missing slot or an unknown order never raises; the flows
branch on the slots the actions set (for example `order_status: not_found`).
"""

from __future__ import annotations

import asyncio
from typing import Any

try:
    from rasa_sdk import Action
    from rasa_sdk.events import SlotSet
except ImportError:  # the default install runs project actions without rasa_sdk
    from workbench.sdk import Action, SlotSet

from . import db

Events = list[dict[str, Any]]


def _sender(tracker: Any) -> str:
    """The conversation id; the store keeps each conversation's changes apart by it."""
    return str(getattr(tracker, "sender_id", None) or "default")


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class ActionCheckOrder(Action):
    """Look up `order_id` and fill the order slots the flows and responses use."""

    def name(self) -> str:
        return "action_check_order"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        requested = tracker.get_slot("order_id")
        order_id = db.normalize_order_id(requested)
        order = db.get_order(order_id, _sender(tracker)) if order_id else None
        if order is None:
            return [
                SlotSet("order_status", "not_found"),
                SlotSet("order_items", None),
                SlotSet("order_summary", None),
                SlotSet("order_details", None),
                SlotSet("shipping_address", None),
            ]
        events: Events = []
        if order_id != requested:  # "a1001" or "#A1001" -> "A1001"
            events.append(SlotSet("order_id", order_id))
        events += [
            SlotSet("order_status", order["status"]),
            SlotSet("order_items", order["items"]),
            SlotSet("order_summary", db.describe_items(order["items"])),
            SlotSet("shipping_address", order["shipping_address"]),
            SlotSet(
                "order_details",
                {
                    "id": order["id"],
                    "status": order["status"],
                    "items": order["items"],
                    "total": order["total"],
                    "placed_on": order["placed_on"],
                    "shipping_address": order["shipping_address"],
                },
            ),
        ]
        return events


class ActionCancelOrder(Action):
    """Cancel the order in `order_id` and confirm with the refund amount."""

    def name(self) -> str:
        return "action_cancel_order"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        sender = _sender(tracker)
        order = db.get_order(tracker.get_slot("order_id"), sender)
        if order is None:
            if tracker.get_slot("order_id"):
                dispatcher.utter_message(response="utter_order_not_found")
            else:
                dispatcher.utter_message(text="I need the order number first.")
            return [SlotSet("order_status", "not_found")]
        if order["status"] == "cancelled":
            dispatcher.utter_message(response="utter_order_already_cancelled")
            return [SlotSet("order_status", "cancelled")]
        if order["status"] != "processing":
            dispatcher.utter_message(response="utter_order_cannot_be_cancelled")
            return [SlotSet("order_status", order["status"])]
        db.cancel_order(order["id"], sender)
        # keyword arguments become template variables of the response: {refund_amount}
        dispatcher.utter_message(
            response="utter_order_cancelled", refund_amount=db.format_money(order["total"])
        )
        return [SlotSet("order_status", "cancelled")]


class ActionUpdateAddress(Action):
    """Change the delivery address, but only of an order on the verified account."""

    def name(self) -> str:
        return "action_update_address"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        sender = _sender(tracker)
        order = db.get_order(tracker.get_slot("order_id"), sender)
        account_email = db.normalize_email(tracker.get_slot("account_email"))
        new_address = str(tracker.get_slot("new_address") or "").strip()
        if (
            order is None
            or not new_address
            or not tracker.get_slot("identity_verified")
            or order["account_email"] != account_email
        ):
            return [SlotSet("address_updated", False)]
        db.update_shipping_address(order["id"], sender, new_address)
        return [SlotSet("shipping_address", new_address), SlotSet("address_updated", True)]


class ActionCreateReturn(Action):
    """Open a return for the order and store its return authorization number."""

    def name(self) -> str:
        return "action_create_return"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        order_id = db.normalize_order_id(tracker.get_slot("order_id"))
        if not order_id:
            return [SlotSet("return_id", None)]
        return_id = db.create_return(
            order_id,
            _sender(tracker),
            reason=tracker.get_slot("return_reason"),
            refund_method=tracker.get_slot("refund_method"),
            free_label=bool(tracker.get_slot("free_return_label")),
        )
        return [SlotSet("return_id", return_id)]


class ActionVerifyIdentity(Action):
    """Check email and PIN against the accounts table; set identity_verified."""

    def name(self) -> str:
        return "action_verify_identity"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        account = db.check_credentials(tracker.get_slot("email"), tracker.get_slot("pin"))
        events: Events = [SlotSet("pin", None)]  # never keep a PIN in the conversation
        if account is None:
            return [*events, SlotSet("identity_verified", False)]
        return [
            *events,
            SlotSet("identity_verified", True),
            SlotSet("account_email", account["email"]),
            SlotSet("customer_name", account["name"]),
            SlotSet("membership_tier", account["membership_tier"]),
        ]


class ActionCheckLoyaltyPoints(Action):
    """Read the points balance of the verified account (an async action)."""

    def name(self) -> str:
        return "action_check_loyalty_points"

    async def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        email = tracker.get_slot("account_email")
        # sqlite is blocking: keep it off the event loop
        account = await asyncio.to_thread(db.get_account, email) if email else None
        if account is None:
            dispatcher.utter_message(text="I couldn't find a loyalty account for you, sorry.")
            return [SlotSet("loyalty_points", 0.0)]
        points = float(account["loyalty_points"])
        dispatcher.utter_message(
            response="utter_points_balance",
            points=f"{points:,.0f}",
            points_value=db.format_money(points / 100),  # 100 points = $1
        )
        return [SlotSet("loyalty_points", points)]


class ActionCreatePriorityTicket(Action):
    """Open a high-priority support ticket for a Gold member."""

    def name(self) -> str:
        return "action_create_priority_ticket"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        ticket_id = db.create_ticket(
            _sender(tracker),
            tracker.get_slot("account_email"),
            tracker.get_slot("support_issue"),
            priority="high",
        )
        return [SlotSet("ticket_id", ticket_id)]


class ActionSaveFeedback(Action):
    """Store the rating and the optional comment."""

    def name(self) -> str:
        return "action_save_feedback"

    def run(self, dispatcher: Any, tracker: Any, domain: dict[str, Any]) -> Events:
        db.save_feedback(
            _sender(tracker),
            _as_float(tracker.get_slot("feedback_rating")),
            tracker.get_slot("feedback_comment"),
        )
        return []
