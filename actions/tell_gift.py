"""ask_gift (template 14, reference wording 1): the gift in the shop policy."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionTellGift(ShopAction):
    def name(self) -> Text:
        return "action_tell_gift"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        if shop.policy.gift:
            dispatcher.utter_message(response="utter_gift", gift=shop.policy.gift)
        else:
            dispatcher.utter_message(response="utter_no_gift")
        return []
