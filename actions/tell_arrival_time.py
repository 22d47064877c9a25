"""ask_arrival_time (template 5): an order on its way -> its latest tracking; otherwise the policy's
days for the place (named in the message, else the logged-in buyer's address) and courier:
remote provinces take longer, a province the default courier does not reach gets the courier that does."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from bot.shop.orders.models import IN_TRANSIT
from bot.shop.places import quote


class ActionTellArrivalTime(ShopAction):
    def name(self) -> Text:
        return "action_tell_arrival_time"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        if shop.asks_about_an_order():
            order, asking = shop.grounded_order(
                dispatcher, "ask_arrival_time", prefer=lambda o: o.status in ("shipped", "out_for_delivery")
            )
            if order is None and asking and not shop.buyer_id():
                return asking
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
            if order is None and asking:
                return asking
        self.quote_for_place(dispatcher, shop)
        return []

    @staticmethod
    def quote_for_place(dispatcher: CollectingDispatcher, shop: ShopContext) -> None:
        policy = shop.policy
        province, place = shop.place_in_question()
        asked = shop.asked_courier()
        result = quote(policy, province, asked)
        shop.note("days", f"policy.shipping.couriers.{result.courier.name}" + (" (remote)" if result.remote else ""))
        if province:
            shop.note("place", "message" if place != province else f"buyers.{shop.buyer_id()}.province")
        if result.kind == "unserved":
            dispatcher.utter_message(
                response="utter_arrival_unserved",
                place=place,
                default_courier=result.asked.name,
                courier=result.courier.name,
                surcharge=f"{result.courier.surcharge:g}",
                days=result.days,
            )
        elif result.remote:
            dispatcher.utter_message(
                response="utter_arrival_remote", courier=result.courier.name, province=place, days=result.days
            )
        elif place:
            dispatcher.utter_message(
                response="utter_arrival_time_place",
                place=place,
                courier=result.courier.name,
                days=result.days,
                window_days=policy.return_window_days,
            )
        else:
            dispatcher.utter_message(
                response="utter_arrival_time",
                courier=result.courier.name,
                days=result.days,
                window_days=policy.return_window_days,
            )
