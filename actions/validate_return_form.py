"""Slot extraction and validation of the return form: order, ownership proof, reason."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ReplyDispatcher, ShopContext
from actions.order_proof import OrderProofValidation
from bot.reply_details import ReplyDetails
from bot.shop.orders import RepositoryUnavailable

RETURNABLE_ORDER_STATES = ("delivered",)
# Messages that report a problem: the apology comes before anything else
PROBLEM_INTENTS = ("report_quality_issue", "wrong_item", "complain", "picture_mismatch")


class ValidateReturnForm(OrderProofValidation):
    def name(self) -> Text:
        return "validate_return_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher = ReplyDispatcher(dispatcher)
        starting = tracker.get_slot("requested_slot") is None and not self._apologised_this_turn(tracker)
        if starting and self._reports_a_problem(tracker):
            # Apology first for every quality report, before the form asks anything.
            dispatcher.utter_message(response="utter_problem_apology")
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _apologised_this_turn(tracker: Tracker) -> bool:
        """Rasa may run the validation twice when the form starts: apologise once."""
        for event in reversed(tracker.events or []):
            if event.get("event") == "user":
                return False
            if event.get("event") == "bot":
                details = ReplyDetails.from_metadata(event.get("metadata"))
                if details is not None and details.template == "utter_problem_apology":
                    return True
        return False

    @staticmethod
    def _reports_a_problem(tracker: Tracker) -> bool:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in PROBLEM_INTENTS:
            return True
        shop = ShopContext(tracker)
        return shop.lexicon.return_reason(tracker.latest_message.get("text") or "") == "quality"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        """The photo of the problem is asked for (and the plan offered after it) only for quality returns."""
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("return_reason") != "quality":
            slots = [s for s in slots if s != "quality_photo"]
        if not self._returnable_now(tracker):
            # Not delivered, outside the window or already returned: the submit step says so at once
            # instead of asking for a reason or a photo first.
            slots = [s for s in slots if s not in ("return_reason", "quality_photo")]
        return slots

    @staticmethod
    def _returnable_now(tracker: Tracker) -> bool:
        order_id = tracker.get_slot("order_id")
        if not order_id:
            return True
        shop = ShopContext(tracker)
        try:
            order = shop.repository.get_order(order_id)
        except RepositoryUnavailable:
            return True
        if order is None or not shop.may_see(order):
            return True  # the proof step decides
        if order.status != "delivered" or order.delivered_at is None:
            return False
        days = (shop.now() - order.delivered_at).total_seconds() / 86400
        return days <= shop.policy.return_window_days

    # -- extraction ------------------------------------------------------------------------
    async def extract_order_id(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """A logged-in buyer who names no order gets the order the message points to (product,
        time and state words; delivered orders first), named back to them; several fitting
        orders are offered to pick from."""
        if tracker.get_slot("order_id") or tracker.get_slot("requested_slot") not in (None, "order_id"):
            return {}
        shop = ShopContext(tracker)
        dispatcher = ReplyDispatcher(dispatcher, shop)
        buyer_id = shop.buyer_id()
        if not buyer_id:
            return {}
        intent = shop.latest_intent()
        intent = intent if intent in PROBLEM_INTENTS + ("request_return",) else "request_return"
        window = shop.policy.return_window_days * 86400
        result = shop.resolve_order(
            intent,
            prefer=lambda o: o.delivered_at is not None and (shop.now() - o.delivered_at).total_seconds() <= window,
        )
        if result.ambiguous:
            shop.offer_orders(dispatcher, result.candidates, intent)
            return {}
        recent = result.order
        if recent is None:
            orders = shop.repository.orders_for_buyer(buyer_id)
            recent = (
                None
                if result.reason == "no_order_for_product"
                else next((o for o in orders if o.status in RETURNABLE_ORDER_STATES), None)
            )
        if recent is None:
            return {}
        shop.note("order_id", f"orders.{recent.id}: {result.reason} for {intent} of {buyer_id}")
        shop.note("items", "order_items")
        dispatcher.utter_message(response="utter_return_recent_order", order_id=recent.id, items=shop.item_names(recent))
        return {"order_id": recent.id, "buyer_id": buyer_id}

    async def extract_quality_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The buyer's answer to the photo request (the photo itself goes to the agent through the gateway)."""
        if tracker.get_slot("requested_slot") != "quality_photo":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("deny", "request_human"):
            return {}
        return {"quality_photo": "sent"}

    async def extract_return_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):
            return {}  # a button payload fills the slot through its entity
        shop = ShopContext(tracker)
        found: Dict[Text, Any] = {}
        if shop.lexicon.wants_exchange(text):
            found["return_kind"] = "exchange"
        if tracker.get_slot("return_reason") is None:
            reason = shop.lexicon.return_reason(text)
            if reason is None and tracker.latest_message.get("intent", {}).get("name") == "report_quality_issue":
                reason = "quality"
            if reason:
                found["return_reason"] = reason
        return found

    # -- validation ------------------------------------------------------------------------
    def validate_return_reason(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if slot_value in ("quality", "non_quality"):
            return {"return_reason": slot_value}
        return {"return_reason": None}
