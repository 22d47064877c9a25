"""Measured performance fixes for the Rasa server, installed by the shop channel when Rasa starts it.

1. Rasa 3.6 checks every action server response with ``jsonschema.validate``, which first validates
the (large, constant) response schema against its meta-schema and builds a new validator, at every
custom action call. Profiling one turn (bench/profile_turn.py) showed this taking about half of
the Rasa server's CPU time. The same check with the validator built once gives the same answers
and the same error message.

2. A new session (session expiry, or the shop channel's roll-over of a long conversation) carries the
slots over by copying every SlotSet event of the old session, not the slots' values. Each session
start copies the previous copies again, so a conversation that keeps going grows by all its slot
history at each new session: after 80 turns the carried-over part alone was 70 events and a turn
took 500 ms instead of 50 (bench/socketio_load.py, long conversation). One SlotSet per slot that
was set, with its current value, gives the new session the same slot values and the same set/unset
state.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Text

from jsonschema import exceptions, validators
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error = exceptions.best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def carried_over_slots(tracker: DialogueStateTracker) -> List[SlotSet]:
    """The slots a new session starts with: each slot that was set, once, with its current value."""
    return [SlotSet(name, slot.value) for name, slot in tracker.slots.items() if slot.has_been_set]


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(carried_over_slots)
