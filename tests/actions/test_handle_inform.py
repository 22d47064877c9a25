from actions.handle_inform import ActionHandleInform
from tests.conftest import make_tracker, run_action, token_for


def test_product_named_after_stock_question_answers_it(shop, domain):
    tracker = make_tracker("T恤", "inform", {"product": "T恤"}, slots={"pending_question": "ask_stock"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_stock_available_product"]
    assert result.slot("pending_question") is None


def test_product_named_after_fading_question_answers_it(shop, domain):
    tracker = make_tracker("羽绒被", "inform", {"product": "羽绒被"}, slots={"pending_question": "ask_fading"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_fading_dry_clean_only"]


def test_bare_order_number_asks_what_about_it_without_details(shop, domain):
    tracker = make_tracker("260318273645019283", "inform", {"order_id": "260318273645019283"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_inform_order"]
    assert "纯棉T恤" not in result.text


def test_bare_product_asks_what_about_it(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("牛仔裤", "inform", {"product": "牛仔裤"}), domain)
    assert result.responses == ["utter_inform_product"]
    assert result.slot("product") == "牛仔裤"


def test_nothing_understood_apologises(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("嗯那个", "inform"), domain)
    assert result.responses == ["utter_default"]


def test_bare_height_and_weight_start_the_size_form(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("身高160 体重95斤", "inform"), domain)
    assert result.responses == []
    assert {"event": "followup", "name": "size_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in result.events
    ]


def test_a_bed_width_is_not_a_body_measurement(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("1.8米的床", "inform"), domain)
    assert result.responses == ["utter_default"]


# B003 has two parcels on the way; the bot offered both (lamp first, jeans second) for "快递到哪了".
LAMP, JEANS = "260317512290374468", "260317104486627913"


def picking(text, entities=None, buyer="B003", offered=(LAMP, JEANS), **slots):
    slots = {"pending_question": "ask_order_status", "offered_orders": list(offered), **slots}
    return make_tracker(text, "inform", entities, slots=slots, metadata={"buyer_token": token_for(buyer)})


def test_the_order_picked_by_its_product_in_words_answers_the_waiting_question(shop, domain):
    result = run_action(ActionHandleInform(), picking("牛仔裤那单", {"product": "牛仔裤"}), domain)
    assert result.values("utter_order_shipped")["order_id"] == JEANS
    assert result.values("utter_order_shipped")["courier"] == "韵达"
    assert result.slot("pending_question") is None and result.slot("order_id") == JEANS
    assert not result.sets_slot("offered_orders")  # kept: "the other one" may follow


def test_the_order_picked_by_position_answers_the_waiting_question(shop, domain):
    assert run_action(ActionHandleInform(), picking("第二个"), domain).values("utter_order_shipped")["order_id"] == JEANS
    lamp = run_action(ActionHandleInform(), picking("上面那个吧"), domain)
    assert lamp.values("utter_order_out_for_delivery")["order_id"] == LAMP
    assert run_action(ActionHandleInform(), picking("最后一个"), domain).values("utter_order_shipped")["order_id"] == JEANS


def test_a_position_beyond_the_orders_offered_picks_nothing(shop, domain):
    result = run_action(ActionHandleInform(), picking("第四个"), domain)
    assert result.responses == ["utter_default"]
    assert not result.sets_slot("pending_question")  # still waiting for a pick


def test_another_buyers_order_in_the_offer_slot_is_never_picked(shop, domain):
    # The slot names B003's parcels, but the message comes from B001: nothing of B003's is shown.
    result = run_action(ActionHandleInform(), picking("第二个", buyer="B001"), domain)
    assert JEANS not in result.text and "韵达" not in result.text
    assert "utter_order_shipped" not in result.responses


def following(previous_intent, text, entities, buyer="B003", earlier=()):
    """A tracker whose buyer asked ``previous_intent`` (after ``earlier`` intents), got an answer,
    and now writes ``text``."""
    from rasa_sdk import Tracker

    base = make_tracker(text, "inform", entities, metadata={"buyer_token": token_for(buyer)} if buyer else {})
    events = [{"event": "session_started"}]
    for intent in (*earlier, previous_intent):
        events += [
            {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}},
            {"event": "action", "name": "action_listen"},
        ]
    events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}})
    return Tracker(base.sender_id, base.slots, base.latest_message, events, False, None, {}, "action_listen")


def test_a_product_named_after_an_order_answer_asks_the_same_about_its_order(shop, domain):
    result = run_action(ActionHandleInform(), following("ask_order_status", "那台灯呢", {"product": "LED台灯"}), domain)
    assert result.values("utter_order_out_for_delivery")["order_id"] == LAMP
    assert "utter_inform_product" not in result.responses


def test_a_product_named_after_a_care_answer_gets_the_same_answer_for_it(shop, domain):
    tracker = following("ask_fading", "卫衣呢", {"product": "卫衣"}, buyer="B001")
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses and result.responses[0].startswith("utter_fading"), result.responses
    assert "卫衣" in result.text


def test_follow_ups_chain_on_and_a_product_never_bought_is_said_honestly(shop, domain):
    tracker = following("inform", "雨鞋呢", {"product": "雨鞋"}, buyer="B006", earlier=("ask_order_status",))
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.values("utter_no_order_for_product")["product"] == "雨鞋"


def test_an_after_sale_request_is_never_repeated_for_a_product_named_next(shop, domain):
    result = run_action(ActionHandleInform(), following("price_difference", "那牛仔裤呢", {"product": "牛仔裤"}), domain)
    assert result.responses == ["utter_inform_product"]


def test_both_orders_offered_are_answered_each_named(shop, domain):
    result = run_action(ActionHandleInform(), picking("两个都查一下"), domain)
    assert result.values("utter_order_out_for_delivery")["order_id"] == LAMP
    assert result.values("utter_order_shipped")["order_id"] == JEANS
    assert result.slot("pending_question") is None


def test_the_other_order_offered_is_answered_after_one_was(shop, domain):
    tracker = following("inform", "另一个呢", {}, earlier=("ask_order_status",))
    tracker.slots.update({"offered_orders": [LAMP, JEANS], "order_id": JEANS})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.values("utter_order_out_for_delivery")["order_id"] == LAMP
    assert "utter_order_shipped" not in result.responses  # not the jeans again


def test_a_new_order_question_answered_at_once_ends_the_last_offer(shop, domain):
    from actions.check_order_status import ActionCheckOrderStatus

    tracker = make_tracker(
        "牛仔裤到哪了", "ask_order_status", {"product": "牛仔裤"}, slots={"offered_orders": [LAMP, JEANS]},
        metadata={"buyer_token": token_for("B003")},
    )
    result = run_action(ActionCheckOrderStatus(), tracker, domain)
    assert result.values("utter_order_shipped")["order_id"] == JEANS
    assert result.sets_slot("offered_orders") and result.slot("offered_orders") is None


def answered_about(tracker, order_id):
    """The bot's reply to the buyer's previous message was filled with ``order_id``."""
    details = {"template": "utter_order_shipped", "values": {"order_id": order_id}, "sources": {}}
    tracker.events.insert(-1, {"event": "bot", "text": "…", "metadata": {"qkf_reply": details}})
    return tracker


def test_the_other_order_is_answered_with_nothing_on_offer(shop, domain):
    # The jeans were asked about by name (no cards shown, no order number slot); "the other one"
    # is B003's other parcel.
    tracker = answered_about(following("ask_order_status", "另外那单呢", {}), JEANS)
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.values("utter_order_in_question") == {"order_id": LAMP, "items": "LED台灯"}
    assert result.values("utter_order_out_for_delivery")["order_id"] == LAMP
    assert JEANS not in result.text
    assert result.slot("order_id") == LAMP


def test_another_buyers_parcels_are_never_the_other_order(shop, domain):
    # B001 was answered about an order; B003's parcels are never "the other one".
    tracker = answered_about(following("ask_order_status", "另外那单呢", {}, buyer="B001"), "260318273645019283")
    result = run_action(ActionHandleInform(), tracker, domain)
    assert LAMP not in result.text and JEANS not in result.text


def test_the_other_order_without_a_login_picks_nothing(shop, domain):
    tracker = answered_about(following("ask_order_status", "另外那单呢", {}, buyer=None), JEANS)
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_default"]
    assert LAMP not in result.text
