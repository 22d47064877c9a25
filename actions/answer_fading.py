"""ask_fading (washing and care questions, by the shop's label conventions): template 13 for
fading, specialised by the product's material and care note; shrinking, pilling, deformation and
how-to-wash questions (the topic words are in the lexicon) are answered from the care note."""

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


# care topic (lexicon care_topics) -> response; fading (or no topic) uses RESPONSE_BY_FADES
RESPONSE_BY_TOPIC = {
    "shrink": "utter_care_shrink",
    "pilling": "utter_care_pilling",
    "deform": "utter_care_deform",
    "washing": "utter_care_washing",
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
        shop.note("care", f"products.{product.id}.care")
        topic = shop.lexicon.care_topic(shop.latest_text())
        if topic in RESPONSE_BY_TOPIC:
            dispatcher.utter_message(
                response=RESPONSE_BY_TOPIC[topic],
                product=product.name,
                material=product.material,
                features=product.features,
                care=product.care,
            )
            return [SlotSet("pending_question", None)]
        dispatcher.utter_message(
            response=RESPONSE_BY_FADES[product.fades],
            product=product.name,
            material=product.material,
            care=product.care,
        )
        return [SlotSet("pending_question", None)]
