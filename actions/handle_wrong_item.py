"""Answers a buyer who received the wrong or an incomplete item (intent wrong_item): apologises,
offers an exchange or a re-send with the seller paying postage, and records it as a return
request."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from actions.check_order_status import ActionCheckOrderStatus
from actions.submit_return import OPEN_RETURN_STATES

RECEIVED = ("delivered",)


class ActionHandleWrongItem(ShopAction):
    def name(self) -> Text:
        return "action_handle_wrong_item"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        # Apology first (seeds), then the order it is about.
        dispatcher.utter_message(response="utter_wrong_item_apology")
        order, asking = shop.grounded_order(dispatcher, "wrong_item")
        if order is None:
            return asking
        if order.status not in RECEIVED:
            return ActionCheckOrderStatus.describe(dispatcher, shop, order)
        text = shop.tracker.latest_message.get("text") or ""
        missing = shop.lexicon.reports_missing_item(text)
        kind = "resend" if missing else "exchange"
        open_requests = [r for r in shop.repository.return_requests_for_order(order.id) if r.status in OPEN_RETURN_STATES]
        if open_requests:
            # Never registered twice: the open request is named instead.
            dispatcher.utter_message(response="utter_return_already_requested", order_id=order.id, request_id=open_requests[0].id)
            return []
        request = shop.repository.create_return_request(
            order.id, shop.buyer_id() or order.buyer_id, "seller_error", kind, "seller"
        )
        dispatcher.utter_message(
            response="utter_wrong_item_resend" if missing else "utter_wrong_item_exchange", order_id=order.id
        )
        dispatcher.utter_message(response="utter_return_recorded", request_id=request.id, order_id=order.id)
        return []
