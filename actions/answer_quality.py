"""Answers a pre-sale quality question (intent ask_quality) with the product's own quality and
authenticity note from the catalogue."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAnswerQuality(ShopAction):
    def name(self) -> Text:
        return "action_answer_quality"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        product = shop.product_in_focus()
        if product is None:
            dispatcher.utter_message(response="utter_quality_general")
            return []
        shop.remember_product(product)
        dispatcher.utter_message(response="utter_quality_product", product=product.name, note=product.quality_note)
        return []
