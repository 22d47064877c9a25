"""Templates are always complete: a wording is used only when every {variable} it names has a
value (from the action or a filled slot), so a reply never reads "None". When no wording of the
response can be filled, the bot says it cannot answer this and offers a human (utter_offer_human)
instead of sending a hole; the trainer's validation reports such templates before training.

Every reply it fills carries its details (bot/reply_details.py) under ``REPLY_KEY``: the
template asked for, with no values or sources. A custom action's reply has its own details (with
the values and their sources) in its ``utter_message`` arguments, which Rasa merges over this
one; the replies Rasa sends itself (rules, forms asking for a slot) keep these.

Configured in endpoints.yml: ``nlg: {type: bot.rasa_server.nlg.CompleteTemplatesNLG}``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.core.nlg.response import ResponseVariationFilter, TemplatedNaturalLanguageGenerator

from bot.reply_details import REPLY_KEY, ReplyDetails

logger = logging.getLogger(__name__)

VARIABLE = re.compile(r"{([^{}\s]+)}")
FALLBACK_RESPONSE = "utter_offer_human"


def missing_values(variant: Dict[str, Any], values: Dict[str, Any]) -> List[str]:
    text = variant.get("text") or ""
    return [name for name in VARIABLE.findall(text) if values.get(name) is None or values.get(name) == ""]


class CompleteTemplatesNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Any = None, domain: Any = None, responses: Optional[Dict] = None) -> None:
        super().__init__(responses if responses is not None else (domain.responses if domain is not None else {}))

    def generate_from_slots(
        self, utter_action: Text, filled_slots: Dict[Text, Any], output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        filled = self._complete_response(utter_action, filled_slots, output_channel, **kwargs)
        if filled is not None:
            filled[REPLY_KEY] = ReplyDetails(utter_action).to_metadata()
        return filled

    def _complete_response(
        self, utter_action: Text, filled_slots: Dict[Text, Any], output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        import numpy as np

        if utter_action not in self.responses:
            return None
        values = self._response_variables(filled_slots, kwargs)
        suitable = ResponseVariationFilter(self.responses).responses_for_utter_action(utter_action, output_channel, filled_slots)
        complete = [r for r in suitable if not missing_values(r, values)]
        if not complete:
            missing = sorted({m for r in suitable for m in missing_values(r, values)})
            logger.error("response %s has no wording whose values are all known (missing %s)", utter_action, missing)
            if utter_action != FALLBACK_RESPONSE and FALLBACK_RESPONSE in self.responses:
                return self._complete_response(FALLBACK_RESPONSE, filled_slots, output_channel)
            return None
        chosen = copy.deepcopy(complete[int(np.random.randint(len(complete)))])
        return self._fill_response(chosen, filled_slots, **kwargs)
