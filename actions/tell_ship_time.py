"""ask_ship_time: the shop's promise, or the buyer's own paid order's ship deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import List, Optional, Text, Tuple

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, message_metadata
from actions.tell_arrival_time import ActionTellArrivalTime
from bot.shop.orders.models import Order

SHIP_TIME_STATES = ("paid", "shipped", "out_for_delivery")


class ActionTellShipTime(ShopAction):
    def name(self) -> Text:
        return "action_tell_ship_time"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        order, asking = self._order_in_question(shop, dispatcher)
        if asking:
            return asking
        shop.note("ship_hours", "policy.shipping.ship_within_hours")
        if order is None:
            dispatcher.utter_message(response="utter_ship_time", ship_hours=shop.policy.ship_within_hours)
            split = bool(message_metadata(shop.tracker).get("original_text"))
            if not split and shop.lexicon.places_named(shop.latest_text()):
                # "how long to Inner Mongolia": the place decides the courier and the days (the arrival answer).
                ActionTellArrivalTime.quote_for_place(dispatcher, shop)
            return []
        if order.status == "paid":
            self.describe_paid(dispatcher, shop, order)
        else:
            assert order.shipped_at is not None  # a shipped or out-for-delivery order has its ship time
            dispatcher.utter_message(
                response="utter_ship_time_shipped",
                order_id=order.id,
                shipped_at=shop.format_datetime(order.shipped_at),
                courier=order.courier,
                tracking_no=order.tracking_no,
            )
        return []

    @staticmethod
    def describe_paid(dispatcher: CollectingDispatcher, shop: ShopContext, order: Order) -> None:
        """A paid order's ship deadline, or an apology and a new promise when it is overdue."""
        assert order.paid_at is not None  # a paid order has its payment time
        deadline = order.paid_at + timedelta(hours=shop.policy.ship_within_hours)
        if deadline >= shop.now():
            dispatcher.utter_message(response="utter_ship_time_order", order_id=order.id, deadline=shop.format_datetime(deadline))
        else:
            new_promise = shop.now() + timedelta(hours=shop.policy.overdue_new_promise_hours)
            dispatcher.utter_message(
                response="utter_ship_time_overdue", order_id=order.id, new_deadline=shop.format_datetime(new_promise)
            )

    @staticmethod
    def _order_in_question(shop: ShopContext, dispatcher: CollectingDispatcher) -> Tuple[Optional[Order], List[EventType]]:
        """The buyer's paid (or shipped) order the question is about, named when picked among
        several; none for a question before buying (a product page, no order words)."""
        if not shop.asks_about_an_order():
            return None, []
        result = shop.resolve_order("ask_ship_time")
        if result.ambiguous:
            return None, shop.offer_orders(dispatcher, result.candidates, "ask_ship_time")
        order = result.order
        if order is None or order.status not in SHIP_TIME_STATES:
            return None, []
        if result.inferred:
            dispatcher.utter_message(response="utter_order_in_question", order_id=order.id, items=shop.item_names(order))
        return order, []
