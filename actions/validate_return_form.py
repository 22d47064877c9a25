"""Slot extraction and validation of the return form: order, ownership proof, reason."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopContext
from bot.orders import RepositoryUnavailable

RETURNABLE_ORDER_STATES = ("delivered",)


class ValidateReturnForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_return_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        order_id = tracker.get_slot("order_id")
        if order_id and not self._visible(tracker, order_id):
            return list(domain_slots)
        # The buyer owns (or already proved) the order, or has not named one yet.
        return [slot for slot in domain_slots if slot != "phone_tail"]

    @staticmethod
    def _visible(tracker: Tracker, order_id: str) -> bool:
        shop = ShopContext(tracker)
        try:
            order = shop.repository.get_order(order_id)
        except RepositoryUnavailable:
            return False
        return order is not None and shop.may_see(order)

    # -- extraction ------------------------------------------------------------------------
    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A logged-in buyer who names no order gets their most recent delivered order."""
        if tracker.get_slot("order_id") or tracker.get_slot("requested_slot") not in (None, "order_id"):
            return {}
        shop = ShopContext(tracker)
        buyer_id = shop.buyer_id()
        if not buyer_id:
            return {}
        orders = shop.repository.orders_for_buyer(buyer_id)
        recent = next((o for o in orders if o.status in RETURNABLE_ORDER_STATES), None)
        recent = recent or (orders[0] if orders else None)
        if recent is None:
            return {}
        dispatcher.utter_message(
            response="utter_return_recent_order", order_id=recent.id, items=shop.item_names(recent)
        )
        return {"order_id": recent.id, "buyer_id": buyer_id}

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
    def validate_order_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        value = str(slot_value or "").strip()
        if not (value.isdigit() and 16 <= len(value) <= 19):
            dispatcher.utter_message(response="utter_invalid_order_id")
            return {"order_id": None}
        if "phone_tail" in tracker.slots_to_validate():
            return {"order_id": value}
        # A new order needs its own proof: forget digits given for an earlier one.
        return {"order_id": value, "phone_tail": None}

    def validate_phone_tail(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        shop = ShopContext(tracker)
        order_id = tracker.get_slot("order_id")
        order = shop.repository.get_order(order_id) if order_id else None
        tail = str(slot_value or "").strip()
        if order is not None and order.phone_tail_matches(tail):
            verified = shop.verified_orders()
            return {"phone_tail": tail, "verified_orders": verified + [order.id] if order.id not in verified else verified}
        # Same answer whether the order is unknown or the digits are wrong: reveal nothing.
        dispatcher.utter_message(response="utter_order_not_verified")
        return {"phone_tail": None, "order_id": None}

    def validate_return_reason(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if slot_value in ("quality", "non_quality"):
            return {"return_reason": slot_value}
        return {"return_reason": None}
