"""Answers a buyer whose item looks different from the product picture (intent picture_mismatch):
explains lighting and screen colour differences first; a buyer who has already received the item
is offered what the shop policy allows, an exchange with seller-paid postage or compensation."""

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
        if not (shop.asks_about_an_order(logged_in_default=False) or "delivered" in shop.order_clues().states):
            return []  # a question before buying: the explanation is the answer
        order, asking = shop.grounded_order(dispatcher, "picture_mismatch")
        if order is None:
            return asking if shop.buyer_id() else []
        if order.status == "delivered":
            dispatcher.utter_message(
                response="utter_picture_mismatch_remedy",
                order_id=order.id,
                compensation=f"{shop.policy.subjective_compensation:g}",
            )
        return []
