"""Every change this project makes to Rasa's internals, in one place, installed explicitly by
``install()`` from the one entry point of every Rasa process (``python -m bot.rasa_server``:
``run``, ``test``, ``train``, ``shell``, the suite's gates). ``install()`` checks the Rasa version
and that every attribute it replaces exists, and fails loudly otherwise, so a Rasa upgrade cannot
silently run without them (or with them patched onto something else).

The patches, each measured:

1. Rasa 3.6 checks every action server response with ``jsonschema.validate``, which first validates
the (large, constant) response schema against its meta-schema and builds a new validator, at every
custom action call. Profiling one turn (bench/profile_turn.py) showed this taking about half of
the Rasa server's CPU time. The same check with the validator built once gives the same answers
and the same error message.

2. A new session (session expiry, or the shop channel's roll-over of a long conversation) carries the
slots over by copying every SlotSet event of the old session, not the slots' values. Each session
start copies the previous copies again, so a conversation that keeps going starts each session with
more events: in an 80-turn conversation (bench/socketio_load.py), the tenth session started with 70
SlotSet events for 5 slots. One SlotSet per slot that was set, with its current value, gives the
new session the same slot values and the same set/unset state.

3. A loaded model is millions of Python objects (the jieba dictionary, spaCy's vocabulary, the
policies' lookup tables). Each full garbage collection walks all of them: 280-450 ms in which the
server answers nobody, measured with gc.callbacks in a one-buyer conversation. The model's objects
live as long as the model, so they are moved out of the collector's sight (gc.freeze) once it is
loaded; a collection then walks only what the turns allocate. When another model is loaded, the old
one is collected first and the new one frozen.

4. Reading a conversation turns each stored event back into an object; Rasa finds each event's class
by walking all subclasses of Event, for every event: 4 % of the server's CPU in a py-spy profile of
a 120-turn conversation. The class found for a type name is kept.
"""

from __future__ import annotations

import functools
import gc
from typing import Any, Dict, List, Optional, Text, Tuple, Type

from jsonschema import exceptions, validators
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses


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


def freeze_loaded_model() -> None:
    """Everything alive now (the loaded model above all) is left out of later garbage collections."""
    gc.unfreeze()  # a model loaded before this one becomes collectable again
    gc.collect()
    gc.freeze()


_EVENT_CLASSES: Dict[Text, Type[Event]] = {}


def resolve_event_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Rasa's Event.resolve_by_type, with each class found kept (an unknown name is looked up again)."""
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        found = next((cls for cls in all_subclasses(Event) if cls.type_name == type_name), None)
        if found is not None:
            _EVENT_CLASSES[type_name] = found
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def use_primary_tracker_store(agent: Any) -> None:
    """Rasa wraps the configured tracker store in a FailSafeTrackerStore that, when the database is
    down, silently starts an empty in-memory conversation. A shop would rather say 'busy' than
    answer out of context and lose the turn, so the shop channel talks to the primary store.
    Called for every message (a model reload builds a new agent with a new wrapper); two
    isinstance checks when there is nothing to do."""
    store = getattr(agent, "tracker_store", None)
    if isinstance(store, FailSafeTrackerStore):
        agent.tracker_store = _primary(store)
    processor = getattr(agent, "processor", None)
    if processor is not None and isinstance(processor.tracker_store, FailSafeTrackerStore):
        processor.tracker_store = _primary(processor.tracker_store)


def _primary(store: FailSafeTrackerStore) -> Any:
    primary = getattr(store, "_tracker_store", None)
    if primary is None:
        raise RasaPatchError("FailSafeTrackerStore keeps no _tracker_store: the shop channel cannot bypass it")
    return primary


# The Rasa these patches were written against and measured on.
RASA_VERSION = "3.6.21"


class RasaPatchError(RuntimeError):
    """The installed Rasa is not the one the patches were written for."""


def _patches() -> List[Tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every patch."""
    return [
        (RemoteAction, "_validate_action_result", validate_action_result),
        (ActionSessionStart, "_slot_set_events_from_tracker", staticmethod(carried_over_slots)),
        (Event, "resolve_by_type", staticmethod(resolve_event_type)),
    ]


def check(version: Optional[str] = None) -> None:
    """Raises RasaPatchError unless Rasa is RASA_VERSION and every patched attribute exists and
    is callable."""
    import rasa

    found = version or rasa.__version__
    if found != RASA_VERSION:
        raise RasaPatchError(f"bot.rasa_server.patches is written for Rasa {RASA_VERSION}, found {found}")
    for owner, attribute, _ in _patches():
        if not callable(getattr(owner, attribute, None)):
            raise RasaPatchError(f"Rasa {found} has no {owner.__name__}.{attribute} to patch")


_installed = False


def installed() -> bool:
    return _installed


def install() -> None:
    """Installs every patch (idempotent), after ``check()``."""
    global _installed
    check()
    for owner, attribute, replacement in _patches():
        setattr(owner, attribute, replacement)
    _installed = True
