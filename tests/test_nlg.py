"""Templates always complete at run time: a wording with a value nobody supplied is never sent."""

from bot.rasa_server.nlg import CompleteTemplatesNLG

RESPONSES = {
    "utter_order_note": [{"text": "亲，订单{order_id}已经为您备注好啦~"}, {"text": "亲，已经为您备注好啦~"}],
    "utter_only_with_order": [{"text": "亲，订单{order_id}已经为您备注好啦~"}],
    "utter_offer_human": [{"text": "亲，这个问题我帮您转给人工客服处理好吗？"}],
}


def test_the_wording_without_an_empty_slot_is_chosen():
    nlg = CompleteTemplatesNLG(responses=RESPONSES)
    texts = {nlg.generate_from_slots("utter_order_note", {"order_id": None}, "rest")["text"] for _ in range(20)}
    assert texts == {"亲，已经为您备注好啦~"}


def test_a_value_given_by_the_action_fills_the_wording():
    nlg = CompleteTemplatesNLG(responses=RESPONSES)
    texts = {nlg.generate_from_slots("utter_only_with_order", {}, "rest", order_id="260318273645019283")["text"] for _ in range(5)}
    assert texts == {"亲，订单260318273645019283已经为您备注好啦~"}


def test_no_complete_wording_offers_a_human_instead_of_none():
    nlg = CompleteTemplatesNLG(responses=RESPONSES)
    reply = nlg.generate_from_slots("utter_only_with_order", {"order_id": None}, "rest")
    assert reply["text"] == "亲，这个问题我帮您转给人工客服处理好吗？"
    assert "None" not in reply["text"]
