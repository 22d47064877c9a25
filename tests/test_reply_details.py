"""Reply details (template, values, sources) travel as one structure under one metadata key: from
the action's reply through Rasa's NLG and bot event to the shop channel and the gateway, each
message with its own details, read by name."""

import asyncio

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ReplyDispatcher
from bot.gateway.conversation import bot_messages_from_rasa
from bot.rasa_server.nlg import CompleteTemplatesNLG
from bot.rasa_server.channel import DetailedCollector
from bot.reply_details import REPLY_KEY, ReplyDetails

DETAILS = ReplyDetails("utter_stock_out", {"product": "纯棉T恤", "count": 2}, {"product": "products.P001"})
RESPONSES = {
    "utter_stock_out": [{"text": "{product}（{variant}）没有现货了"}],
    "utter_stock_restock": [{"text": "预计{restock_date}补货"}],
    "utter_two_parts": [{"text": "第一段\n\n第二段"}],
    "utter_greet": [{"text": "亲，在的呢"}],
    "utter_only_with_order": [{"text": "订单{order_id}"}],
    "utter_offer_human": [{"text": "转人工好吗"}],
}


# -- the structure ---------------------------------------------------------------------------
def test_details_round_trip_through_metadata_and_reply_fields():
    assert ReplyDetails.from_metadata({REPLY_KEY: DETAILS.to_metadata()}) == DETAILS
    assert ReplyDetails.from_reply_fields(DETAILS.to_reply_fields()) == DETAILS
    assert DETAILS.to_reply_fields() == {
        "response": "utter_stock_out",
        "values": {"product": "纯棉T恤", "count": 2},
        "sources": {"product": "products.P001"},
    }


def test_details_are_read_by_their_key_whatever_else_the_metadata_holds():
    metadata = {
        "utter_action": "utter_something_else", "template_name": "x", "product": "帆布包", "sources": {"a": "b"},
        REPLY_KEY: DETAILS.to_metadata(),
    }
    assert ReplyDetails.from_metadata(metadata) == DETAILS


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "utter_stock_out",
        ["utter_stock_out"],
        {},
        {"utter_action": "utter_stock_out", "product": "纯棉T恤", "sources": {"product": "products.P001"}},
        {REPLY_KEY: None},
        {REPLY_KEY: "utter_stock_out"},
        {REPLY_KEY: ["utter_stock_out", {}, {}]},
        {REPLY_KEY: {}},
        {REPLY_KEY: {"template": ""}},
        {REPLY_KEY: {"template": 7, "values": {}, "sources": {}}},
        {REPLY_KEY: {"values": {"product": "纯棉T恤"}, "sources": {}}},
    ],
)
def test_missing_or_garbage_details_are_none(metadata):
    assert ReplyDetails.from_metadata(metadata) is None


def test_values_and_sources_of_the_wrong_type_are_left_out():
    stored = {
        "template": "utter_stock_out",
        "values": {"product": "纯棉T恤", "count": 0, "in_stock": False, "price": 7.5, "items": ["a"], "card": {}, "none": None, 3: "x"},
        "sources": {"product": "products.P001", "price": 79, "items": None},
    }
    details = ReplyDetails.from_metadata({REPLY_KEY: stored})
    assert details.values == {"product": "纯棉T恤", "count": 0, "in_stock": False, "price": 7.5}
    assert details.sources == {"product": "products.P001"}
    for values, sources in (("not a dict", ["nor this"]), (None, None)):
        assert ReplyDetails.from_metadata({REPLY_KEY: dict(stored, values=values, sources=sources)}) == ReplyDetails("utter_stock_out")


def test_details_keep_their_own_copies():
    values, sources = {"product": "纯棉T恤"}, {"product": "products.P001"}
    details = ReplyDetails("utter_stock_out", values, sources)
    values["product"], sources["price"] = "帆布包", "skus.P001"
    details.to_metadata()["values"]["product"] = "changed"
    assert details == ReplyDetails("utter_stock_out", {"product": "纯棉T恤"}, {"product": "products.P001"})


# -- through Rasa: the action's reply, the NLG, the bot event, the shop channel ----------------------
def _through_rasa(action_messages):
    """What Rasa 3.6 does with an action server's replies: fill each with the NLG, make it a bot
    event, and hand the event's message to the channel."""
    nlg = CompleteTemplatesNLG(responses=RESPONSES)
    tracker = DialogueStateTracker("buyer", slots=[])
    events = asyncio.run(RemoteAction._utter_responses([dict(m) for m in action_messages], DetailedCollector(), nlg, tracker))
    collector = DetailedCollector()
    for event in events:
        asyncio.run(collector.send_response("buyer", event.message()))
    return events, collector.messages


def test_an_action_reply_keeps_its_details_in_the_bot_event_and_each_collected_message():
    dispatcher = CollectingDispatcher()
    replies = ReplyDispatcher(dispatcher)
    replies.utter_message(response="utter_stock_out", product="纯棉T恤", variant="黑色 XL")
    replies.utter_message(json_message={"card": {"type": "product", "product_id": "P001"}})
    replies.utter_message(response="utter_stock_restock", restock_date="5月3日")
    events, messages = _through_rasa(dispatcher.messages)

    out = ReplyDetails("utter_stock_out", {"product": "纯棉T恤", "variant": "黑色 XL"})
    restock = ReplyDetails("utter_stock_restock", {"restock_date": "5月3日"})
    assert [ReplyDetails.from_metadata(e.metadata) for e in events] == [out, None, restock]
    assert [m["text"] for m in messages if "text" in m] == ["纯棉T恤（黑色 XL）没有现货了", "预计5月3日补货"]
    assert [ReplyDetails.from_metadata(m) for m in messages] == [out, None, restock]


def test_a_reply_rasa_sends_as_several_messages_gives_each_the_details():
    dispatcher = CollectingDispatcher()
    ReplyDispatcher(dispatcher).utter_message(response="utter_two_parts")
    _, messages = _through_rasa(dispatcher.messages)
    assert [m["text"] for m in messages] == ["第一段", "第二段"]
    assert [ReplyDetails.from_metadata(m) for m in messages] == [ReplyDetails("utter_two_parts")] * 2


def test_a_reply_rasa_sends_itself_names_its_template():
    """Rules and forms utter domain responses without an action: the NLG gives them their details."""
    nlg = CompleteTemplatesNLG(responses=RESPONSES)
    assert ReplyDetails.from_metadata(nlg.generate_from_slots("utter_greet", {}, "shop")) == ReplyDetails("utter_greet")
    # A template that cannot be filled becomes the offer of a human, still named as asked (as before).
    fallback = nlg.generate_from_slots("utter_only_with_order", {"order_id": None}, "shop")
    assert fallback["text"] == "转人工好吗"
    assert ReplyDetails.from_metadata(fallback) == ReplyDetails("utter_only_with_order")


def test_template_values_still_fill_the_template_and_only_the_key_is_read():
    dispatcher = CollectingDispatcher()
    ReplyDispatcher(dispatcher).utter_message(
        response="utter_stock_out", product="纯棉T恤", variant="M", buttons=[{"title": "转人工", "payload": "/request_human"}]
    )
    [message] = dispatcher.messages
    assert message["product"] == "纯棉T恤" and message["variant"] == "M"  # the NLG's template variables
    assert message[REPLY_KEY] == {"template": "utter_stock_out", "values": {"product": "纯棉T恤", "variant": "M"}, "sources": {}}


# -- in the gateway ----------------------------------------------------------------------------
def test_the_gateway_takes_each_messages_own_details_not_their_positions():
    first = ReplyDetails("utter_stock_out", {"product": "纯棉T恤"}, {"product": "products.P001"})
    second = ReplyDetails("utter_stock_restock", {"restock_date": "5月3日"})
    replies = bot_messages_from_rasa(
        {
            "messages": [
                {"recipient_id": "b", "text": "没有现货了", REPLY_KEY: first.to_metadata()},
                {"recipient_id": "b", "custom": {"card": {"type": "product"}}},
                {"recipient_id": "b", "text": "预计5月3日补货", REPLY_KEY: second.to_metadata()},
                {"recipient_id": "b", "text": "details are garbage", REPLY_KEY: "utter_stock_out"},
            ],
            "parse": [],
        }
    )
    assert [ReplyDetails.from_reply_fields(r) for r in replies] == [first, None, second, None]
    assert replies[0] == {"text": "没有现货了", **first.to_reply_fields()}
    assert replies[1] == {"text": "", "card": {"type": "product"}}
