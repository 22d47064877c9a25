"""ask_courier (template 4): default courier, surcharges of the other couriers, couriers the shop does not use,
and provinces the default courier does not reach (named in the message, else the buyer's address)."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from bot.shop.places import quote


class ActionTellCourier(ShopAction):
    def name(self) -> Text:
        return "action_tell_courier"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        policy = shop.policy
        asked = shop.asked_courier()
        province, place = shop.place_in_question()
        result = quote(policy, province, asked if asked in policy.couriers else None)
        if result.kind == "unserved":
            dispatcher.utter_message(
                response="utter_courier_province_unserved",
                province=place,
                default_courier=result.asked.name,
                courier=result.courier.name,
                surcharge=f"{result.courier.surcharge:g}",
            )
            return []
        if asked is None:
            others = [c for c in policy.couriers.values() if c.name != policy.default_courier]
            dispatcher.utter_message(
                response="utter_courier_default",
                default_courier=policy.default_courier,
                options=shop.lexicon.join(
                    shop.lexicon.surcharge_format.format(courier=c.name, surcharge=f"{c.surcharge:g}") for c in others
                ),
            )
        elif asked == policy.default_courier:
            dispatcher.utter_message(response="utter_courier_is_default", courier=asked)
        elif asked in policy.couriers:
            dispatcher.utter_message(
                response="utter_courier_with_surcharge",
                courier=asked,
                surcharge=f"{policy.couriers[asked].surcharge:g}",
                days=result.days,
            )
        else:
            dispatcher.utter_message(
                response="utter_courier_not_used",
                courier=asked,
                couriers=shop.lexicon.join(policy.couriers),
            )
        return []
