"""haggle: the seed's escalation - lowest price, limited profit, cheaper shops, coupon, fairness."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAnswerHaggle(ShopAction):
    def name(self) -> Text:
        return "action_answer_haggle"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        count = int(shop.tracker.get_slot("haggle_count") or 0) + 1
        text = shop.tracker.latest_message.get("text") or ""
        coupon_offered = bool(shop.tracker.get_slot("coupon_offered"))
        events: List[EventType] = [SlotSet("haggle_count", float(count))]
        coupon = shop.policy.best_coupon()
        shop.note("coupon_value", "policy.discounts.coupons")

        if shop.lexicon.compares_with_cheaper_shop(text):
            dispatcher.utter_message(response="utter_haggle_compare")
        elif count == 1:
            dispatcher.utter_message(response="utter_haggle_lowest")
        elif count == 2:
            dispatcher.utter_message(response="utter_haggle_profit_limited")
        elif coupon is not None and not coupon_offered:
            dispatcher.utter_message(
                response="utter_haggle_coupon",
                coupon_value=f"{coupon.value:g}",
                min_spend=f"{coupon.min_spend:g}",
            )
            events.append(SlotSet("coupon_offered", True))
        else:
            dispatcher.utter_message(response="utter_haggle_fair")
        return events
