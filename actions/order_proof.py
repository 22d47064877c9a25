"""Shared form validation for forms that name an order: the order number, then (only when the
buyer is not its logged-in owner) the phone's last four digits. Reveals nothing about orders."""

from __future__ import annotations

import abc
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ReplyDetailsFormValidation, ShopContext
from bot.shop.orders import RepositoryUnavailable


class OrderProofValidation(ReplyDetailsFormValidation, abc.ABC):
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
        # Five wrong tails for one order (known or not) lock its check for an hour, in any conversation.
        locks = shop.services.phone_locks
        if locks is not None and order_id and locks.is_locked(str(order_id)):
            dispatcher.utter_message(response="utter_phone_tail_locked")
            return {"phone_tail": None, "order_id": None}
        if order is not None and order.phone_tail_matches(tail):
            if locks is not None:
                locks.succeeded(order.id)
            verified = shop.verified_orders()
            return {"phone_tail": tail, "verified_orders": verified if order.id in verified else verified + [order.id]}
        if locks is not None and order_id and locks.failed(str(order_id)):
            dispatcher.utter_message(response="utter_phone_tail_locked")
            return {"phone_tail": None, "order_id": None}
        # Same answer whether the order is unknown or the digits are wrong: reveal nothing.
        dispatcher.utter_message(response="utter_order_not_verified")
        return {"phone_tail": None, "order_id": None}
