"""Completes the return form: checks the window, says who pays postage, records the request."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext

OPEN_RETURN_STATES = ("requested", "approved", "received")
RESET_SLOTS = ("return_reason", "return_kind", "phone_tail", "quality_photo", "requested_slot")


class ActionSubmitReturn(ShopAction):
    def name(self) -> Text:
        return "action_submit_return"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in RESET_SLOTS]
        order_id = shop.tracker.get_slot("order_id")
        order = shop.repository.get_order(order_id) if order_id else None
        if order is None or not shop.may_see(order):
            dispatcher.utter_message(response="utter_order_not_verified")
            return reset + [SlotSet("order_id", None)]

        open_requests = [r for r in shop.repository.return_requests_for_order(order.id) if r.status in OPEN_RETURN_STATES]
        if open_requests:
            request = open_requests[0]
            dispatcher.utter_message(response="utter_return_already_requested", order_id=order.id, request_id=request.id)
            dispatcher.utter_message(response=f"utter_return_status_{request.status}", request_id=request.id)
            return reset
        if order.status == "returned":
            dispatcher.utter_message(response="utter_return_order_already_returned", order_id=order.id)
            return reset
        if order.status != "delivered" or order.delivered_at is None:
            dispatcher.utter_message(
                response="utter_return_not_delivered", order_id=order.id, window_days=shop.policy.return_window_days
            )
            return reset

        window = shop.policy.return_window_days
        shop.note("window_days", "policy.returns.window_days")
        shop.note("postage_refund", "policy.returns.quality_postage_refund")
        days = (shop.now() - order.delivered_at).total_seconds() / 86400
        if days > window:
            dispatcher.utter_message(
                response="utter_return_outside_window",
                order_id=order.id,
                delivered_date=shop.format_date(order.delivered_at),
                window_days=window,
            )
            dispatcher.utter_message(response="utter_offer_human")
            return reset

        reason = shop.tracker.get_slot("return_reason")
        kind = shop.tracker.get_slot("return_kind") or "refund"
        buyer_id = shop.buyer_id() or order.buyer_id
        if reason == "quality":
            # The photo was asked for by the form (verify); now the plan, then the record.
            dispatcher.utter_message(
                response="utter_return_quality_exchange" if kind == "exchange" else "utter_return_quality_refund",
                postage_refund=f"{shop.policy.quality_postage_refund:g}",
            )
            payer = "seller"
        else:
            dispatcher.utter_message(
                response="utter_return_non_quality_exchange" if kind == "exchange" else "utter_return_non_quality",
                window_days=window,
            )
            payer = "buyer"
        request = shop.repository.create_return_request(order.id, buyer_id, reason, kind, payer)
        dispatcher.utter_message(response="utter_return_recorded", request_id=request.id, order_id=order.id)
        return reset
