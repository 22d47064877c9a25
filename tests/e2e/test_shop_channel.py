"""The shop channel: multi-question messages, parse results, buyers' real writing, order events,
after-sale questions with the order check."""

import uuid

import pytest

from bot.reply_details import ReplyDetails
from bot.settings import MAX_MESSAGE_CHARS
from tests.conftest import token_for
from tests.replies import said

pytestmark = pytest.mark.slow


def sender():
    return f"shop-{uuid.uuid4().hex[:8]}"


def texts(messages):
    return "\n".join(m["text"] for m in messages if m.get("text"))


def test_several_questions_in_one_message_are_answered_in_order(bot):
    reply = bot.shop_say(sender(), "有货吗？今天能发吗？包邮吗？", {"product_id": "P001"})
    intents = [p["intent"] for p in reply["parse"]]
    assert intents == ["ask_stock", "ask_ship_time", "ask_free_shipping"]
    text = texts(reply["messages"])
    lines = text.splitlines()
    assert said(lines[0], "utter_stock_available_product", product="纯棉T恤")
    assert said(lines[1], "utter_ship_time", ship_hours=48)
    assert said(lines[2], "utter_free_shipping_short", item="纯棉T恤", amount="79", threshold="99", missing="20")


def test_single_question_reports_intent_confidence_and_ranking(bot):
    reply = bot.shop_say(sender(), "这件T恤会掉色吗")
    [parse] = reply["parse"]
    assert parse["intent"] == "ask_fading" and parse["confidence"] > 0.5
    assert len(parse["ranking"]) == 3 and parse["ranking"][0]["intent"] == "ask_fading"
    assert said(texts(reply["messages"]), "utter_fading_first_wash", product="纯棉T恤")


@pytest.mark.parametrize("message", ["這件T恤還有貨嗎", "ｔ恤还有货吗", "T恤还有货吗😀😀"])
def test_traditional_fullwidth_and_emoji_are_understood(bot, message):
    reply = bot.shop_say(sender(), message)
    assert reply["parse"][0]["intent"] == "ask_stock"
    assert "纯棉T恤" in texts(reply["messages"])
    assert reply["parse"][0]["text"] == message  # the original text is kept in the tracker


@pytest.mark.parametrize(
    ("message", "intent", "response"),
    [("👍👍", "thank_bye", "utter_thank_bye"), ("😀😀😀", "greet", "utter_greet"), ("/:018", "greet", "utter_greet")],
)
def test_a_message_of_emoji_only_is_answered_as_what_it_stands_for(bot, message, intent, response):
    who = sender()
    bot.shop_say(who, "这件T恤会掉色吗", {"product_id": "P001"})
    reply = bot.shop_say(who, message)
    assert [p["intent"] for p in reply["parse"]] == [intent]
    assert said(texts(reply["messages"]), response)
    assert "没太明白" not in texts(reply["messages"])
    assert reply["parse"][0]["text"] == message


def test_pinyin_only_message(bot):
    reply = bot.shop_say(sender(), "you huo ma", {"product_id": "P001"})
    assert reply["parse"][0]["intent"] == "ask_stock"
    assert "纯棉T恤" in texts(reply["messages"])


def test_anonymous_order_status_needs_the_phone_digits(bot):
    who = sender()
    assert said(texts(bot.shop_say(who, "我的快递到哪了")["messages"]), "utter_ask_order_id")
    assert said(texts(bot.shop_say(who, "260317339012845567")["messages"]), "utter_ask_phone_tail")
    answer = texts(bot.shop_say(who, "尾号5678")["messages"])
    assert said(answer, "utter_order_shipped", order_id="260317339012845567", event="快件已到达温州分拨中心")


def test_proactive_shipped_event_reaches_the_buyers_conversation(bot):
    who = sender()
    bot.shop_say(who, "你好", {"buyer_token": token_for("B001")})
    messages = bot.trigger(who, "EXTERNAL_order_shipped", {"order_id": "260317339012845567"})
    assert said(texts(messages), "utter_event_shipped", order_id="260317339012845567", courier="韵达")


def test_proactive_event_for_another_buyer_says_nothing(bot):
    who = sender()
    bot.shop_say(who, "你好", {"buyer_token": token_for("B002")})
    assert bot.trigger(who, "EXTERNAL_order_shipped", {"order_id": "260317339012845567"}) == []


def test_bad_requests_get_clear_errors(bot):
    import requests

    url = f"http://127.0.0.1:{bot.rasa_port}/webhooks/shop/webhook"
    assert requests.post(url, json={"message": "hi"}, timeout=10).status_code == 400
    assert requests.post(url, data="not json", timeout=10).status_code == 400
    long = bot.shop_say(sender(), "退" * 5000)
    assert long["messages"] and len(long["parse"][0]["text"]) == MAX_MESSAGE_CHARS


def _shop_post(bot, body):
    import requests

    reply = requests.post(f"http://127.0.0.1:{bot.rasa_port}/webhooks/shop/webhook", json=body, timeout=60)
    reply.raise_for_status()
    return reply.json()


def test_a_retried_message_is_answered_from_the_tracker_not_handled_twice(bot):
    """The gateway sends a turn again (same message id) when a Rasa replica died before answering:
    if the turn was handled, the stored replies come back and the tracker keeps it once."""
    conversation = sender()
    body = {"sender": conversation, "message": "包邮吗", "metadata": {"product_id": "P001"}, "message_id": "m-1"}
    first = _shop_post(bot, body)
    again = _shop_post(bot, dict(body, retry=True))
    assert again.get("replayed") is True
    assert again["messages"] == first["messages"]
    assert again["parse"][0]["intent"] == first["parse"][0]["intent"] == "ask_free_shipping"
    assert ReplyDetails.from_metadata(again["messages"][0]) == ReplyDetails.from_metadata(first["messages"][0]) is not None
    tracker = bot.tracker(conversation)
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert [u["message_id"] for u in users] == ["m-1"]


def test_a_retried_message_that_was_never_handled_is_handled_once(bot):
    conversation = sender()
    reply = _shop_post(
        bot, {"sender": conversation, "message": "会掉色吗", "metadata": {"product_id": "P001"}, "message_id": "m-9", "retry": True}
    )
    assert "replayed" not in reply
    assert said(texts(reply["messages"]), "utter_fading_first_wash", product="纯棉T恤")


def test_a_retried_multi_question_message_replays_every_answer(bot):
    conversation = sender()
    body = {"sender": conversation, "message": "有货吗？今天能发吗？包邮吗？", "metadata": {"product_id": "P001"}, "message_id": "m-2"}
    first = _shop_post(bot, body)
    _shop_post(bot, {"sender": conversation, "message": "谢谢", "message_id": "m-3"})
    again = _shop_post(bot, dict(body, retry=True))
    assert again["replayed"] is True
    assert [p["intent"] for p in again["parse"]] == ["ask_stock", "ask_ship_time", "ask_free_shipping"]
    assert again["messages"] == first["messages"]


def test_a_long_conversation_is_rolled_over_into_a_new_session_keeping_its_slots(bot):
    """Rasa reads the whole working session at every turn; after enough events it is rolled over
    (like Rasa's own session expiry, slots carried over) so turn 300 costs what turn 5 costs."""
    import requests

    conversation = sender()
    bot.shop_say(conversation, "能便宜点吗", {"product_id": "P001"})
    questions = ["包邮吗", "发什么快递", "会掉色吗", "这件还有货吗", "几天能到"]
    for index in range(40):
        reply = bot.shop_say(conversation, questions[index % len(questions)], {"product_id": "P001"})
        assert reply["messages"], index
    events = bot.tracker(conversation)["events"]
    starts = [i for i, e in enumerate(events) if e["event"] == "session_started"]
    assert len(starts) >= 2, "the session was never rolled over"
    # Every message is stored once, and a new session carries each slot once.
    assert [e["text"] for e in events if e["event"] == "user"] == ["能便宜点吗"] + [questions[i % 5] for i in range(40)]
    current = events[starts[-1]:]
    carried = [e["name"] for e in current[: current.index(next(e for e in current if e["event"] == "action"))] if e["event"] == "slot"]
    assert len(carried) == len(set(carried)), carried
    assert any(e["event"] == "slot" and e["name"] == "haggle_count" and e["value"] for e in current)
    assert sum(1 for e in current if e["event"] == "user") < 41


def test_an_open_form_survives_the_roll_over(bot):
    """The buyer started a return and keeps asking other things: the form is carried into the new session."""
    import requests

    conversation = sender()
    bot.shop_say(conversation, "我要退货", {"product_id": "P001"})
    questions = ["包邮吗", "发什么快递", "会掉色吗", "几天能到"]
    for index in range(40):
        bot.shop_say(conversation, questions[index % len(questions)], {"product_id": "P001"})
    tracker = bot.tracker(conversation)
    assert sum(1 for e in tracker["events"] if e["event"] == "session_started") >= 2
    assert (tracker.get("active_loop") or {}).get("name") == "return_form"
    assert sum(1 for e in tracker["events"] if e["event"] == "user") == 41


def test_asking_for_the_return_again_during_the_return_gets_the_forms_question(bot):
    conversation = sender()
    bot.shop_say(conversation, "我要退货", {"product_id": "P001"})
    again = bot.shop_say(conversation, "我要退货", {"product_id": "P001"})
    assert [ReplyDetails.from_metadata(m).template for m in again["messages"]] == ["utter_return_in_progress", "utter_ask_order_id"]
