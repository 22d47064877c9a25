"""Proactive order events, sent to the Rasa server as external intents
(POST /conversations/{id}/trigger_intent with the order_id entity): shipped, out for delivery,
delivered, exception, unpaid (payment reminder worded as an address check) and oversold. Details go only
into the conversation of the order's owner."""

from __future__ import annotations

import logging
from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, latest_entity

logger = logging.getLogger(__name__)

EVENT_RESPONSES = {
    "EXTERNAL_order_shipped": "utter_event_shipped",
    "EXTERNAL_order_out_for_delivery": "utter_event_out_for_delivery",
    "EXTERNAL_order_delivered": "utter_event_delivered",
    "EXTERNAL_order_exception": "utter_event_exception",
    "EXTERNAL_order_unpaid": "utter_event_unpaid",
    "EXTERNAL_order_oversold": "utter_event_oversold",
}


class ActionNotifyOrderEvent(ShopAction):
    def name(self) -> Text:
        return "action_notify_order_event"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        intent = (shop.tracker.latest_message.get("intent") or {}).get("name")
        order_id = latest_entity(shop.tracker, "order_id")
        order = shop.repository.get_order(order_id) if order_id else None
        if intent not in EVENT_RESPONSES or order is None or order.buyer_id != shop.buyer_id():
            logger.warning("order event %s for %s not delivered: not this conversation's order", intent, order_id)
            return []
        last = order.tracking[-1] if order.tracking else None
        dispatcher.utter_message(
            response=EVENT_RESPONSES[intent],
            order_id=order.id,
            items=shop.item_names(order),
            courier=order.courier or "",
            tracking_no=order.tracking_no or "",
            event=last.description if last else "",
            address=order.address,
        )
        if intent == "EXTERNAL_order_oversold":
            self._alternatives(dispatcher, shop, order)
        return []

    @staticmethod
    def _alternatives(dispatcher: CollectingDispatcher, shop: ShopContext, order) -> None:
        for item in order.items:
            product = shop.repository.get_product(item.product_id)
            if product is None:
                continue
            siblings = [s for s in product.skus if s.in_stock and s.size == item.size and s.color != item.color]
            if siblings:
                dispatcher.utter_message(
                    response="utter_stock_alternative_variant",
                    product=product.name,
                    options=shop.lexicon.join(f"{s.color} {s.size}" for s in siblings),
                )
                return
        dispatcher.utter_message(response="utter_event_oversold_refund")
