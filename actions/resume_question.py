"""Answers the question that waited for a product or for the order check form."""

from __future__ import annotations

from typing import Dict, List, Text, Type

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer_fading import ActionAnswerFading
from actions.answer_material import ActionAnswerMaterial
from actions.answer_picture_mismatch import ActionAnswerPictureMismatch
from actions.answer_usage import ActionAnswerUsage
from actions.base import ShopAction, ShopContext
from actions.check_logistics_delay import ActionCheckLogisticsDelay
from actions.check_order_status import ActionCheckOrderStatus
from actions.check_stock import ActionCheckStock
from actions.handle_price_difference import ActionHandlePriceDifference
from actions.handle_wrong_item import ActionHandleWrongItem
from actions.tell_arrival_time import ActionTellArrivalTime
from actions.tell_ship_time import ActionTellShipTime

# pending_question -> the action that answers it
RESUMABLE: Dict[str, Type[ShopAction]] = {
    "ask_stock": ActionCheckStock,
    "ask_fading": ActionAnswerFading,
    "ask_material": ActionAnswerMaterial,
    "ask_usage": ActionAnswerUsage,
    "ask_order_status": ActionCheckOrderStatus,
    "logistics_delay": ActionCheckLogisticsDelay,
    "price_difference": ActionHandlePriceDifference,
    "wrong_item": ActionHandleWrongItem,
    "ask_arrival_time": ActionTellArrivalTime,
    "ask_ship_time": ActionTellShipTime,
    "picture_mismatch": ActionAnswerPictureMismatch,
}
PRODUCT_QUESTIONS = ("ask_stock", "ask_fading", "ask_material", "ask_usage")


class ActionResumeQuestion(ShopAction):
    def name(self) -> Text:
        return "action_resume_question"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        pending = shop.tracker.get_slot("pending_question")
        if pending not in RESUMABLE:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        events = RESUMABLE[pending]().act(dispatcher, shop)
        if not any(e.get("name") == "pending_question" for e in events):
            events.append(SlotSet("pending_question", None))
        return events
