"""ask_usage (item 16): the product's usage note; otherwise ask for details and offer a human."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAnswerUsage(ShopAction):
    def name(self) -> Text:
        return "action_answer_usage"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        product = shop.product_in_focus()
        if product is None:
            dispatcher.utter_message(response="utter_usage_which_product")
            return [SlotSet("pending_question", "ask_usage")]
        shop.remember_product(product)
        if product.usage_note:
            dispatcher.utter_message(response="utter_usage", product=product.name, usage=product.usage_note)
        else:
            dispatcher.utter_message(response="utter_usage_unknown", product=product.name)
            dispatcher.utter_message(response="utter_offer_human")
        return [SlotSet("pending_question", None)]
