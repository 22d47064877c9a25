"""Answers a size question (intent ask_size): recommends a size from the product's size chart for
the buyer's height and weight and checks that the product comes in it."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionRecommendSize(ShopAction):
    def name(self) -> Text:
        return "action_recommend_size"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        height, weight = shop.tracker.get_slot("height_cm"), shop.tracker.get_slot("weight_jin")
        reset = [SlotSet("height_cm", None), SlotSet("weight_jin", None)]
        row = shop.size_chart.recommend(float(height), float(weight)) if height and weight else None
        if row is None:
            dispatcher.utter_message(response="utter_size_beyond_chart")
            dispatcher.utter_message(response="utter_offer_human")
            return reset
        product = shop.product_in_focus()
        if product is not None and row.size not in product.sizes:
            dispatcher.utter_message(
                response="utter_size_not_letter_sized", product=product.name, sizes=shop.lexicon.join(product.sizes)
            )
            dispatcher.utter_message(response="utter_offer_human")
            return reset
        dispatcher.utter_message(
            response="utter_size_recommendation",
            height=f"{float(height):g}",
            weight=f"{float(weight):g}",
            size=row.size,
            label=row.label,
        )
        if product is not None:
            in_stock = [s.color for s in product.matching_skus(size=row.size) if s.in_stock]
            if in_stock:
                dispatcher.utter_message(
                    response="utter_size_in_stock", product=product.name, size=row.size, colors=shop.lexicon.join(in_stock)
                )
            else:
                dispatcher.utter_message(response="utter_size_out_of_stock", product=product.name, size=row.size)
        return reset
