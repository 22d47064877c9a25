"""ask_material (template 12): the catalogue's material and features of the product."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAnswerMaterial(ShopAction):
    def name(self) -> Text:
        return "action_answer_material"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        product = shop.product_in_focus()
        if product is None:
            dispatcher.utter_message(response="utter_ask_which_product")
            return [SlotSet("pending_question", "ask_material")]
        shop.remember_product(product)
        dispatcher.utter_message(
            response="utter_material", product=product.name, material=product.material, features=product.features
        )
        return [SlotSet("pending_question", None)]
