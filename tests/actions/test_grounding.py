"""Grounded answers at the action level: follow-ups, care topics, places, the order named, and
the apology before the return form's first question (fresh tracker per test)."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer_fading import ActionAnswerFading
from actions.handle_inform import ActionHandleInform
from actions.resume_question import ActionResumeQuestion
from actions.tell_arrival_time import ActionTellArrivalTime
from actions.tell_courier import ActionTellCourier
from actions.tell_free_shipping import ActionTellFreeShipping
from actions.validate_return_form import ValidateReturnForm
from tests.conftest import make_tracker, run_action, token_for


def after(previous_action, text, intent, entities, slots):
    """A tracker whose previous turn ended with ``previous_action``."""
    base = make_tracker(text, intent, entities, slots=slots)
    events = [
        {"event": "user", "text": "有货吗"},
        {"event": "action", "name": previous_action},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text},
    ]
    return Tracker(base.sender_id, base.slots, base.latest_message, events, False, None, {}, "action_listen")


def test_a_colour_and_size_after_a_stock_answer_ask_about_the_same_product(shop, domain):
    tracker = after("action_check_stock", "黑色xl呢", "inform", {"color": "黑色", "size": "xl"}, {"product": "纯棉T恤"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses[:2] == ["utter_stock_out", "utter_stock_restock"]
    assert result.values("utter_stock_out") == {"product": "纯棉T恤", "variant": "黑色 XL"}


def test_a_colour_after_another_answer_is_not_taken_as_a_stock_question(shop, domain):
    tracker = after("action_answer_fading", "黑色呢", "inform", {"color": "黑色"}, {"product": "纯棉T恤"})
    assert run_action(ActionHandleInform(), tracker, domain).responses == ["utter_default"]


def test_a_loosely_written_catalogue_size_maps_to_the_sku(shop, domain):
    tracker = after("action_check_stock", "200x230的呢", "inform", {"size": "200x230", "color": "米白"}, {"product": "羽绒被"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.values("utter_stock_available_sku") == {"product": "羽绒被", "color": "米白", "size": "200x230cm", "price": "699"}


@pytest.mark.parametrize(
    "text, response",
    [
        ("这个洗了会缩水吗", "utter_care_shrink"),
        ("会起球吗", "utter_care_pilling"),
        ("洗了会变形吗", "utter_care_deform"),
        ("这个怎么洗", "utter_care_washing"),
        ("会掉色吗", "utter_fading_colorfast"),
    ],
)
def test_care_topics_are_answered_from_the_care_note(shop, domain, repository, text, response):
    result = run_action(ActionAnswerFading(), make_tracker(text, "ask_fading", metadata={"product_id": "P007"}), domain)
    sweater = repository.get_product("P007")
    assert result.responses == [response]
    assert result.values(response)["care"] == sweater.care and sweater.care in result.text


@pytest.mark.parametrize(
    "text, courier, response, values",
    [
        ("寄到新疆要几天", None, "utter_arrival_remote", {"courier": "韵达", "province": "新疆", "days": "5"}),
        ("发西藏几天", None, "utter_arrival_unserved",
         {"place": "西藏", "default_courier": "韵达", "courier": "EMS", "surcharge": "10", "days": "7"}),
        ("我在成都 几天能到", "顺丰", "utter_arrival_time_place", {"place": "成都", "courier": "顺丰", "days": "2", "window_days": 7}),
    ],
)
def test_the_place_in_the_message_decides_courier_and_days(shop, domain, text, courier, response, values):
    entities = {"courier": courier} if courier else None
    tracker = make_tracker(text, "ask_arrival_time", entities, metadata={"buyer_token": token_for("B005"), "product_id": "P001"})
    result = run_action(ActionTellArrivalTime(), tracker, domain)
    assert result.responses == [response]
    assert result.values(response) == values


def test_the_buyers_address_is_the_place_when_none_is_named(shop, domain):
    tracker = make_tracker("寄到我这边要几天", "ask_arrival_time", metadata={"buyer_token": token_for("B004"), "product_id": "P001"})
    result = run_action(ActionTellArrivalTime(), tracker, domain)
    assert result.values("utter_arrival_remote")["province"] == "新疆维吾尔自治区"


def test_courier_question_for_tibet_offers_the_courier_that_reaches_it(shop, domain):
    result = run_action(ActionTellCourier(), make_tracker("发西藏能到吗", "ask_courier"), domain)
    assert result.values("utter_courier_province_unserved") == {
        "province": "西藏", "default_courier": "韵达", "courier": "EMS", "surcharge": "10"
    }


def test_free_shipping_for_an_unpaid_order_names_its_products(shop, domain):
    tracker = make_tracker("包邮吗", "ask_free_shipping", metadata={"buyer_token": token_for("B003"), "product_id": "P004"})
    result = run_action(ActionTellFreeShipping(), tracker, domain)
    assert result.values("utter_free_shipping_yes") == {"item": "真丝连衣裙", "amount": "459", "threshold": "99"}


def test_an_unpaid_order_of_another_product_is_not_the_pages_question(shop, domain):
    tracker = make_tracker("包邮吗", "ask_free_shipping", metadata={"buyer_token": token_for("B003"), "product_id": "P001"})
    result = run_action(ActionTellFreeShipping(), tracker, domain)
    assert result.values("utter_free_shipping_short")["item"] == "纯棉T恤"


def test_a_picked_order_answers_the_waiting_question(shop, domain):
    tracker = make_tracker(
        '/inform{"order_id":"260317104486627913"}', "inform", {"order_id": "260317104486627913"},
        slots={"pending_question": "ask_order_status", "order_id": "260317104486627913"},
        metadata={"buyer_token": token_for("B003")},
    )
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_order_shipped"]
    assert result.values("utter_order_shipped")["order_id"] == "260317104486627913"
    assert result.slot("pending_question") is None


def test_resume_of_an_arrival_question_after_the_pick(shop, domain):
    tracker = make_tracker(
        "260315726638105547", "inform", {"order_id": "260315726638105547"},
        slots={"pending_question": "ask_arrival_time", "order_id": "260315726638105547"},
        metadata={"buyer_token": token_for("B004")},
    )
    result = run_action(ActionResumeQuestion(), tracker, domain)
    assert result.values("utter_arrival_order_in_transit")["order_id"] == "260315726638105547"


def test_a_quality_report_is_apologised_for_before_the_forms_first_question(shop, domain):
    tracker = make_tracker("这面包完全就是坏的", "report_quality_issue")
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateReturnForm().run(dispatcher, tracker, domain))
    assert dispatcher.messages[0]["response"] == "utter_problem_apology"


def test_a_quality_report_in_a_running_form_is_not_apologised_for_again(shop, domain):
    tracker = make_tracker("还是坏的", "report_quality_issue", slots={"requested_slot": "order_id"})
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateReturnForm().run(dispatcher, tracker, domain))
    assert "utter_problem_apology" not in [m.get("response") for m in dispatcher.messages]
