"""The size form: height and weight, read together from whatever the buyer writes."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ReplyDetailsFormValidation, ShopContext


class ValidateSizeForm(ReplyDetailsFormValidation):
    def name(self) -> Text:
        return "validate_size_form"

    @staticmethod
    def _measurements(tracker: Tracker) -> Dict[str, float]:
        text = tracker.latest_message.get("text") or ""
        return ShopContext(tracker).lexicon.body_measurements(text)

    async def extract_height_cm(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        found = self._measurements(tracker)
        return {"height_cm": found["height_cm"]} if "height_cm" in found else {}

    async def extract_weight_jin(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        found = self._measurements(tracker)
        return {"weight_jin": found["weight_jin"]} if "weight_jin" in found else {}

    def validate_height_cm(self, slot_value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if slot_value is not None and 100 <= float(slot_value) <= 230:
            return {"height_cm": float(slot_value)}
        dispatcher.utter_message(response="utter_size_measurement_invalid")
        return {"height_cm": None}

    def validate_weight_jin(self, slot_value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if slot_value is not None and 40 <= float(slot_value) <= 400:
            return {"weight_jin": float(slot_value)}
        dispatcher.utter_message(response="utter_size_measurement_invalid")
        return {"weight_jin": None}
