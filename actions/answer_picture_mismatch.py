"""picture_mismatch (template 11; seed 000 case 4; seed 002 problem 1): explain first; a buyer who already
received the item is offered what the policy allows: exchange with seller-paid postage or
compensation."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAnswerPictureMismatch(ShopAction):
    def name(self) -> Text:
        return "action_answer_picture_mismatch"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        dispatcher.utter_message(response="utter_picture_mismatch_explain")
        order = shop.order_in_question(prefer=lambda o: o.status == "delivered")
        if order is not None and order.status == "delivered":
            dispatcher.utter_message(
                response="utter_picture_mismatch_remedy",
                order_id=order.id,
                compensation=f"{shop.policy.subjective_compensation:g}",
            )
        return []
