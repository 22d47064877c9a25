"""Slot extraction and validation of the return form: order, ownership proof, reason."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ShopContext
from actions.order_proof import OrderProofValidation

RETURNABLE_ORDER_STATES = ("delivered",)


class ValidateReturnForm(OrderProofValidation):
    def name(self) -> Text:
        return "validate_return_form"

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
            response="utter_return_recent_order",
            order_id=recent.id,
            items=shop.item_names(recent),
            sources={"order_id": f"orders.{recent.id}: newest delivered order of {buyer_id}", "items": "order_items"},
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
    def validate_return_reason(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if slot_value in ("quality", "non_quality"):
            return {"return_reason": slot_value}
        return {"return_reason": None}
