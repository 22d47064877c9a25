"""End to end through the real Rasa server's REST channel, real action server, real SQLite file."""

import sqlite3
import uuid

import pytest

from tests.conftest import token_for
from tests.replies import any_response, said

pytestmark = pytest.mark.slow


def texts(replies):
    return "\n".join(r["text"] for r in replies if r.get("text"))


def new_sender():
    return f"buyer-{uuid.uuid4().hex[:8]}"


def test_stock_question_is_answered_from_the_catalogue(bot):
    reply = texts(bot.say(new_sender(), "黑色M码的T恤还有吗"))
    assert said(reply, "utter_stock_available_sku", product="纯棉T恤", color="黑色", size="M", price="79")


def test_product_page_context_comes_from_metadata(bot):
    reply = texts(bot.say(new_sender(), "这件还有货吗", {"product_id": "P003"}))
    assert said(reply, "utter_stock_available_product", product="羽绒被")


def test_ship_time_and_haggling(bot):
    sender = new_sender()
    assert said(texts(bot.say(sender, "什么时候发货呀")), "utter_ship_time", ship_hours=48)
    assert said(texts(bot.say(sender, "能便宜点吗")), "utter_haggle_lowest")
    assert said(texts(bot.say(sender, "再便宜点嘛")), "utter_haggle_profit_limited")


def test_fading_answer_uses_the_care_note(bot):
    reply = texts(bot.say(new_sender(), "羽绒被会掉色吗 能水洗吗"))
    assert "只能干洗" in reply


def test_bare_height_and_weight_get_a_size_recommendation(bot):
    reply = texts(bot.say(new_sender(), "身高160 体重95斤"))
    assert said(reply, "utter_size_recommendation", height="160", weight="95", size="S", label="160/80A")


def test_logged_in_buyer_returns_recent_order_and_it_is_stored(bot):
    sender, meta = new_sender(), {"buyer_token": token_for("B001")}
    first = texts(bot.say(sender, "我要退货", meta))
    assert said(first, "utter_return_recent_order", order_id="260318273645019283", items="纯棉T恤")
    assert said(first, "utter_ask_return_reason")
    second = texts(bot.say(sender, "质量问题 衣服开线了", meta))
    # The photo first (the form's step), and no refund confirmed before it.
    assert said(second, "utter_ask_quality_photo")
    assert not said(second, "utter_return_quality_refund", postage_refund="10")
    third = texts(bot.say(sender, "拍好发给你了", meta))
    assert said(third, "utter_return_quality_refund", postage_refund="10")
    assert said(third, "utter_return_recorded", order_id="260318273645019283")
    with sqlite3.connect(bot.db_path) as db:
        rows = db.execute(
            "select buyer_id, reason, postage_payer, status from return_requests where order_id = ?",
            ("260318273645019283",),
        ).fetchall()
    assert rows == [("B001", "quality", "seller", "requested")]
    assert said(texts(bot.say(sender, "我的退货处理到哪一步了", meta)), "utter_return_status_requested")


def test_stranger_must_prove_the_phone_digits_and_learns_nothing(bot):
    sender = new_sender()
    assert said(texts(bot.say(sender, "我要退货")), "utter_ask_order_id")
    ask_tail = texts(bot.say(sender, "260318273645019283"))
    assert said(ask_tail, "utter_ask_phone_tail")
    refused = texts(bot.say(sender, "尾号0000"))
    assert said(refused, "utter_order_not_verified")
    assert "纯棉T恤" not in refused + ask_tail and "张" not in refused


BAD_INPUTS = [
    "",
    "退" * 5000,
    "😀😀😀🙏",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "1234567890123456",
    "這件衣服還有貨嗎",
]


@pytest.mark.parametrize("message", BAD_INPUTS, ids=["empty", "5000-chars", "emoji", "script", "sql", "unknown-order", "traditional"])
def test_bad_input_gets_a_polite_reply_and_the_server_stays_up(bot, message):
    replies = bot.say(new_sender(), message)
    assert replies, "no reply at all"
    reply = texts(replies)
    assert any_response(reply), reply
    assert "<script>" not in reply
    assert bot.alive()
