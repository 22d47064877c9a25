"""Answers a buyer whose parcel is late or stuck (intent logistics_delay) from the order's tracking:
a stuck parcel gets an apology, a promise to contact the courier and the offer of a free re-send or
a refund; a moving one gets its latest tracking event."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from actions.check_order_status import ActionCheckOrderStatus
from bot.shop.orders.models import IN_TRANSIT, Order


class ActionCheckLogisticsDelay(ShopAction):
    def name(self) -> Text:
        return "action_check_logistics_delay"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        order, asking = shop.grounded_order(dispatcher, "logistics_delay", prefer=lambda o: self.stuck(shop, o))
        if order is None:
            return asking
        if order.status not in IN_TRANSIT or not order.tracking:
            return ActionCheckOrderStatus().describe(dispatcher, shop, order)
        last = order.tracking[-1]
        stuck = self.stuck(shop, order)
        dispatcher.utter_message(
            response="utter_logistics_stuck" if stuck else "utter_logistics_moving",
            order_id=order.id,
            courier=order.courier,
            event_time=shop.format_datetime(last.at),
            event=last.description,
        )
        return []

    @staticmethod
    def stuck(shop: ShopContext, order: Order) -> bool:
        """On the way, and either an exception or no new tracking event for the policy's days."""
        if order.status not in IN_TRANSIT or not order.tracking:
            return False
        idle_days = (shop.now() - order.tracking[-1].at).total_seconds() / 86400
        return order.status == "exception" or idle_days >= shop.policy.stuck_after_days
