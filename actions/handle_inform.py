"""inform outside a form: finish the question that was waiting for a product, recommend a size from
a bare height and weight, or ask what's wanted."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, latest_entity
from actions.resume_question import PRODUCT_QUESTIONS, RESUMABLE


class ActionHandleInform(ShopAction):
    def name(self) -> Text:
        return "action_handle_inform"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        pending = shop.tracker.get_slot("pending_question")
        product = shop.product_in_focus()
        if pending in PRODUCT_QUESTIONS and product is not None:
            return RESUMABLE[pending]().act(dispatcher, shop)
        text = shop.tracker.latest_message.get("text") or ""
        if len(shop.lexicon.body_measurements(text)) == 2:
            # A bare height and weight is the size question: the size form reads both and answers.
            return [FollowupAction("size_form")]
        order_id = latest_entity(shop.tracker, "order_id")
        if order_id:
            dispatcher.utter_message(response="utter_inform_order", order_id=order_id)
            return []
        if product is not None and latest_entity(shop.tracker, "product"):
            shop.remember_product(product)
            dispatcher.utter_message(response="utter_inform_product", product=product.name)
            return []
        if pending in PRODUCT_QUESTIONS:
            # Still no product: ask again rather than guess.
            return RESUMABLE[pending]().act(dispatcher, shop)
        dispatcher.utter_message(response="utter_default")
        return []
