"""The cached check of action server responses accepts and rejects exactly what Rasa's own does."""

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups

GOOD = {"events": [{"event": "slot", "name": "order_id", "value": "260318273645019283"}], "responses": [{"response": "utter_greet"}]}
BAD = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [1, 2]},
]


def test_the_same_responses_pass():
    action = RemoteAction("action_check_stock", None)
    assert rasa_speedups.validate_action_result(action, GOOD) is True
    jsonschema.validate(GOOD, RemoteAction.action_response_format_spec())


@pytest.mark.parametrize("result", BAD)
def test_the_same_responses_fail_with_rasas_message(result):
    action = RemoteAction("action_check_stock", None)
    with pytest.raises(jsonschema.ValidationError) as original:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as cached:
        rasa_speedups.validate_action_result(action, result)
    assert cached.value.message.startswith(original.value.message)
    assert "Failed to validate Action server response" in cached.value.message


def test_the_shop_channel_installs_it():
    from bot.rasa_channel import ShopChannel

    ShopChannel()
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result
