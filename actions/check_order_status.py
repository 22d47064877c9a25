"""Answers "where is my order" (intent ask_order_status) with the order's state and latest tracking
event; each state (not shipped, in transit, out for delivery, signed, tracking exception) has its
own template."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from actions.tell_ship_time import ActionTellShipTime
from bot.shop.orders.models import Order


class ActionCheckOrderStatus(ShopAction):
    def name(self) -> Text:
        return "action_check_order_status"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        order, asking = shop.grounded_order(dispatcher, "ask_order_status")
        if order is None:
            return asking
        return self.describe(dispatcher, shop, order)

    @staticmethod
    def describe(dispatcher: CollectingDispatcher, shop: ShopContext, order: Order) -> List[EventType]:
        last = order.tracking[-1] if order.tracking else None
        event_time = shop.format_datetime(last.at) if last else ""
        event = last.description if last else ""
        if order.status == "unpaid":
            dispatcher.utter_message(
                response="utter_order_unpaid", order_id=order.id, items=shop.item_names(order), address=order.address
            )
        elif order.status == "paid":
            ActionTellShipTime.describe_paid(dispatcher, shop, order)
        elif order.status == "shipped":
            dispatcher.utter_message(
                response="utter_order_shipped",
                order_id=order.id,
                courier=order.courier,
                tracking_no=order.tracking_no,
                event_time=event_time,
                event=event,
            )
        elif order.status == "out_for_delivery":
            dispatcher.utter_message(
                response="utter_order_out_for_delivery", order_id=order.id, event_time=event_time, event=event
            )
        elif order.status == "delivered":
            assert order.delivered_at is not None  # a delivered order has its delivery time
            dispatcher.utter_message(
                response="utter_order_delivered", order_id=order.id, delivered_at=shop.format_datetime(order.delivered_at)
            )
        elif order.status == "exception":
            dispatcher.utter_message(
                response="utter_order_exception",
                order_id=order.id,
                courier=order.courier,
                event_time=event_time,
                event=event,
            )
        else:
            dispatcher.utter_message(response="utter_order_returned", order_id=order.id)
        dispatcher.utter_message(json_message=shop.order_card(order))
        return []
