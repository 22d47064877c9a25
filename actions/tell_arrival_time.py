"""ask_arrival_time (template 5): days by courier and region; a shipped order's latest tracking."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, latest_entity
from bot.orders.models import IN_TRANSIT

class ActionTellArrivalTime(ShopAction):
    def name(self) -> Text:
        return "action_tell_arrival_time"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        order = shop.order_in_question(prefer=lambda o: o.status in IN_TRANSIT)
        if order is not None and order.status in IN_TRANSIT and order.tracking:
            last = order.tracking[-1]
            dispatcher.utter_message(
                response="utter_arrival_order_in_transit",
                order_id=order.id,
                courier=order.courier,
                event_time=shop.format_datetime(last.at),
                event=last.description,
            )
            return []
        policy = shop.policy
        name = latest_entity(shop.tracker, "courier") or (order.courier if order and order.courier else None)
        courier = policy.couriers.get(name) if name else None
        courier = courier or policy.couriers[policy.default_courier]
        buyer = shop.repository.get_buyer(shop.buyer_id()) if shop.buyer_id() else None
        province = order.province if order else (buyer.province if buyer else None)
        if province and province in policy.remote_provinces:
            dispatcher.utter_message(
                response="utter_arrival_remote", courier=courier.name, province=province, days=courier.remote_days
            )
        else:
            dispatcher.utter_message(
                response="utter_arrival_time",
                courier=courier.name,
                days=courier.days,
                window_days=policy.return_window_days,
            )
        return []
