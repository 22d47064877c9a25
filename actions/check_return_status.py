"""ask_return_status: the state of the buyer's latest return request."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, latest_entity


class ActionCheckReturnStatus(ShopAction):
    def name(self) -> Text:
        return "action_check_return_status"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        requests = []
        named = latest_entity(shop.tracker, "order_id")
        if named:
            order = shop.repository.get_order(named)
            if order is None or not shop.may_see(order):
                dispatcher.utter_message(response="utter_need_identity")
                return []
            requests = shop.repository.return_requests_for_order(order.id)
        else:
            buyer_id = shop.buyer_id()
            if buyer_id:
                requests = shop.repository.return_requests_for_buyer(buyer_id)
            for order_id in shop.verified_orders():
                requests += shop.repository.return_requests_for_order(order_id)
            if not buyer_id and not requests:
                dispatcher.utter_message(response="utter_need_identity")
                return []
        if not requests:
            dispatcher.utter_message(response="utter_no_return_request")
            return []
        latest = max(requests, key=lambda r: r.created_at)
        dispatcher.utter_message(response="utter_return_request_found", request_id=latest.id, order_id=latest.order_id)
        dispatcher.utter_message(response=f"utter_return_status_{latest.status}", request_id=latest.id)
        return []
