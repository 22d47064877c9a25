"""The cached check of action server responses accepts and rejects exactly what Rasa's own does."""

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot.rasa_server import patches

GOOD = {"events": [{"event": "slot", "name": "order_id", "value": "260318273645019283"}], "responses": [{"response": "utter_greet"}]}
BAD = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
]


def test_the_same_responses_pass():
    action = RemoteAction("action_check_stock", None)
    assert patches.validate_action_result(action, GOOD) is True
    jsonschema.validate(GOOD, RemoteAction.action_response_format_spec())


@pytest.mark.parametrize("result", BAD)
def test_the_same_responses_fail_with_rasas_message(result):
    action = RemoteAction("action_check_stock", None)
    with pytest.raises(jsonschema.ValidationError) as original:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as cached:
        patches.validate_action_result(action, result)
    assert cached.value.message.startswith(original.value.message)
    assert "Failed to validate Action server response" in cached.value.message


def test_install_puts_every_patch_in_place():
    patches.install()
    assert patches.installed()
    assert RemoteAction._validate_action_result is patches.validate_action_result


def test_another_rasa_version_is_refused_loudly():
    with pytest.raises(patches.RasaPatchError, match="written for Rasa 3.6.21, found 3.7.0"):
        patches.check(version="3.7.0")


def test_a_missing_patched_attribute_is_refused_loudly(monkeypatch):
    monkeypatch.delattr(RemoteAction, "_validate_action_result")
    with pytest.raises(patches.RasaPatchError, match="RemoteAction._validate_action_result"):
        patches.check()


def test_every_rasa_command_of_the_project_goes_through_the_entry_point():
    """The Makefile, the supervisor, the trainer's jobs and the suite's gates start Rasa only
    through python -m bot.rasa_server, which installs the patches."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [root / "Makefile", *root.glob("bot/**/*.py"), *root.glob("tests/**/*.py"), *root.glob("bench/*.py")]
    sources.remove(Path(__file__).resolve())
    direct = [str(p.relative_to(root)) for p in sources if re.search(r'-m",\s*"rasa"|-m rasa\b', p.read_text(encoding="utf-8"))]
    assert direct == []


def _tracker_with_slot_history():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker("buyer", domain.slots)
    for count in range(1, 6):
        tracker.update_with_events(
            [
                UserUttered("", {"name": "haggle", "confidence": 1.0}),
                ActionExecuted("action_answer_haggle"),
                SlotSet("haggle_count", float(count)),
                SlotSet("pending_question", "ask_stock" if count % 2 else "ask_fading"),
                SlotSet("requested_slot", None),
                ActionExecuted("action_listen"),
            ],
            domain,
        )
    return domain, tracker


def test_a_new_session_carries_each_slot_once_with_its_current_value():
    import asyncio

    from rasa.core.actions.action import ActionSessionStart
    from rasa.shared.core.events import SlotSet

    patches.install()
    domain, tracker = _tracker_with_slot_history()
    events = asyncio.run(ActionSessionStart().run(None, None, tracker, domain))
    carried = {e.key: e.value for e in events if isinstance(e, SlotSet)}
    assert carried == {"haggle_count": 5.0, "pending_question": "ask_stock", "requested_slot": None}
    assert sum(isinstance(e, SlotSet) for e in events) == 3  # Rasa's own copies all 15 SlotSet events

    new_session = tracker.copy()
    new_session.update_with_events(events, domain)
    for name, slot in tracker.slots.items():
        assert new_session.slots[name].value == slot.value, name
        assert new_session.slots[name].has_been_set == slot.has_been_set, name


class _Agent:
    def is_ready(self) -> bool:
        return True


def test_each_loaded_model_is_kept_out_of_garbage_collection_once():
    import gc

    from bot.rasa_server.channel import ShopChannel

    channel = ShopChannel()
    try:
        first, second = _Agent(), _Agent()
        channel.keep_model_out_of_gc(first)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        channel.keep_model_out_of_gc(first)  # the same model: nothing to do
        assert gc.get_freeze_count() == 0
        channel.keep_model_out_of_gc(second)  # a reloaded model is frozen in turn
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_replaced_model_is_freed_not_frozen_for_good():
    import gc
    import weakref

    from bot.rasa_server.channel import ShopChannel

    channel = ShopChannel()
    try:
        old = _Agent()
        old.itself = old  # a model's objects hold cycles: only the collector frees them
        gone = weakref.ref(old)
        channel.keep_model_out_of_gc(old)
        del old
        channel.keep_model_out_of_gc(_Agent())  # PUT /model: the next message sees a new agent
        assert gone() is None  # collected before the new model was frozen
    finally:
        gc.unfreeze()


def test_event_classes_resolve_as_in_rasa():
    from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered

    originals = {name: Event.resolve_by_type(name) for name in ("user", "bot", "action", "slot", "session_started")}
    patches.install()
    for _ in range(2):  # found, then kept
        assert [patches.resolve_event_type(n) for n in originals] == [UserUttered, BotUttered, ActionExecuted, SlotSet, SessionStarted]
    assert [Event.resolve_by_type(n) for n in originals] == list(originals.values())
    assert patches.resolve_event_type("topic") is None
    assert patches.resolve_event_type("no_such_event", default=BotUttered) is BotUttered
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        patches.resolve_event_type("no_such_event")
    events = [UserUttered("有货吗", {"name": "ask_stock", "confidence": 0.9}), ActionExecuted("action_check_stock"), SlotSet("haggle_count", 2.0)]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events
