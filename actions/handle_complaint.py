"""Answers a complaint about service (intent complain): apologises first, restates the complaint,
asks what happened and offers a human."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext

RESTATE_MAX_CHARS = 60


class ActionHandleComplaint(ShopAction):
    def name(self) -> Text:
        return "action_handle_complaint"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        words = (shop.tracker.latest_message.get("text") or "").strip()
        dispatcher.utter_message(response="utter_complain_apology")
        if words:
            quoted = words if len(words) <= RESTATE_MAX_CHARS else words[:RESTATE_MAX_CHARS] + "…"
            dispatcher.utter_message(response="utter_complain_restate", complaint=quoted)
        dispatcher.utter_message(response="utter_complain_ask_details")
        return []
