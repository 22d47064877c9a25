"""ask_fading: template 13, specialised by the product's material and care note."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext

RESPONSE_BY_FADES = {
    "first_wash": "utter_fading_first_wash",
    "colorfast": "utter_fading_colorfast",
    "dry_clean_only": "utter_fading_dry_clean_only",
    "not_washable": "utter_fading_not_washable",
}


class ActionAnswerFading(ShopAction):
    def name(self) -> Text:
        return "action_answer_fading"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        product = shop.product_in_focus()
        if product is None:
            dispatcher.utter_message(response="utter_fading_which_product")
            return [SlotSet("pending_question", "ask_fading")]
        shop.remember_product(product)
        dispatcher.utter_message(
            response=RESPONSE_BY_FADES[product.fades],
            product=product.name,
            material=product.material,
            care=product.care,
        )
        return [SlotSet("pending_question", None)]
