"""The shop channel: multi-question messages, parse results, buyers' real writing, order events,
after-sale questions with the order check."""

import uuid

import pytest

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
    assert long["messages"] and len(long["parse"][0]["text"]) == 500
