"""Asks the size form's first question together with the shop's size chart."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionAskHeightCm(ShopAction):
    def name(self) -> Text:
        return "action_ask_height_cm"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        chart = shop.lexicon.join(f"{r.size} {r.label}" for r in shop.size_chart.rows)
        dispatcher.utter_message(response="utter_size_chart_ask_height", chart=chart)
        return []
