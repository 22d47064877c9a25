"""After-sale replies: order status per state, logistics delay, wrong item, price protection,
complaints, the order check form and proactive order events."""

import pytest

from actions.check_logistics_delay import ActionCheckLogisticsDelay
from actions.check_order_status import ActionCheckOrderStatus
from actions.handle_complaint import ActionHandleComplaint
from actions.handle_price_difference import ActionHandlePriceDifference
from actions.handle_wrong_item import ActionHandleWrongItem
from actions.notify_order_event import ActionNotifyOrderEvent
from actions.resume_question import ActionResumeQuestion
from tests.conftest import make_tracker, run_action, token_for


def ask(action, domain, buyer=None, order_id=None, text="", intent="", verified=None):
    entities = {"order_id": order_id} if order_id else None
    metadata = {"buyer_token": token_for(buyer)} if buyer else None
    slots = {"verified_orders": verified} if verified else None
    return run_action(action, make_tracker(text, intent, entities, slots=slots, metadata=metadata), domain)


@pytest.mark.parametrize(
    "order_id, buyer, response, phrase",
    [
        ("260319804412763390", "B002", "utter_order_unpaid", "跟亲核对下地址"),
        ("260316627739104458", "B002", "utter_ship_time_overdue", "非常抱歉"),
        ("260317339012845567", "B001", "utter_order_shipped", "快件已到达温州分拨中心"),
        ("260316981255037716", "B002", "utter_order_out_for_delivery", "已经到达您的所在地了"),
        ("260318273645019283", "B001", "utter_order_delivered", "显示签收了呢"),
        ("260313458820917734", "B002", "utter_order_exception", "收件地址不详"),
        ("260227346610958821", "B002", "utter_order_returned", "退货完成"),
    ],
)
def test_each_order_state_has_its_own_template(shop, domain, order_id, buyer, response, phrase):
    result = ask(ActionCheckOrderStatus(), domain, buyer=buyer, order_id=order_id, text="到哪了", intent="ask_order_status")
    assert result.responses == [response]
    assert phrase in result.text and order_id in result.text


def test_order_status_of_someone_elses_order_starts_the_order_check(shop, domain):
    result = ask(ActionCheckOrderStatus(), domain, buyer="B003", order_id="260318273645019283", intent="ask_order_status")
    assert result.messages == []
    assert result.slot("pending_question") == "ask_order_status"
    assert {"event": "followup", "name": "order_check_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in result.events
    ]


def test_phone_verified_order_status_is_shown(shop, domain):
    order_id = "260318273645019283"
    result = ask(ActionCheckOrderStatus(), domain, order_id=order_id, verified=[order_id])
    assert result.responses == ["utter_order_delivered"]


def test_resume_after_order_check_answers_the_waiting_question(shop, domain):
    order_id = "260313458820917734"
    tracker = make_tracker("尾号4321", "inform", slots={"pending_question": "logistics_delay", "order_id": order_id, "verified_orders": [order_id]})
    result = run_action(ActionResumeQuestion(), tracker, domain)
    assert result.responses == ["utter_logistics_stuck"]
    assert result.slot("pending_question") is None


def test_stuck_parcel_gets_apology_and_resend_or_refund(shop, domain):
    result = ask(ActionCheckLogisticsDelay(), domain, buyer="B006", order_id="260314070391586628", intent="logistics_delay")
    assert result.responses == ["utter_logistics_stuck"]
    assert "外包装破损" in result.text and "联系一下快递公司" in result.text and "补发" in result.text


def test_moving_parcel_gets_latest_event(shop, domain):
    result = ask(ActionCheckLogisticsDelay(), domain, buyer="B006", order_id="260318156627409981", intent="logistics_delay")
    assert result.responses == ["utter_logistics_moving"]
    assert "发往南京分拨中心" in result.text


def test_wrong_colour_is_exchanged_and_recorded(shop, domain, repository):
    result = ask(ActionHandleWrongItem(), domain, buyer="B001", text="T恤发错颜色了", intent="wrong_item")
    assert result.responses == [
        "utter_wrong_item_apology", "utter_order_in_question", "utter_wrong_item_exchange", "utter_return_recorded"
    ]
    assert result.values("utter_order_in_question") == {"order_id": "260318273645019283", "items": "纯棉T恤"}
    [request] = repository.return_requests_for_order("260318273645019283")
    assert (request.reason, request.kind, request.postage_payer) == ("seller_error", "exchange", "seller")
    again = ask(ActionHandleWrongItem(), domain, buyer="B001", text="T恤发错颜色了", intent="wrong_item")
    assert "utter_return_already_requested" in again.responses
    assert len(repository.return_requests_for_order("260318273645019283")) == 1


def test_wrong_item_with_two_delivered_orders_apologises_then_offers_both(shop, domain, repository):
    result = ask(ActionHandleWrongItem(), domain, buyer="B001", text="发错颜色了", intent="wrong_item")
    assert result.responses == ["utter_wrong_item_apology", "utter_which_order"]
    assert [c["order_id"] for c in result.cards] == ["260318273645019283", "260304918273650142"]
    buttons = result.messages[1]["buttons"]
    assert [b["payload"] for b in buttons] == [
        '/inform{"order_id":"260318273645019283"}', '/inform{"order_id":"260304918273650142"}'
    ]
    assert [b["title"] for b in buttons] == ["纯棉T恤（260318273645019283）", "牛仔裤（260304918273650142）"]
    assert result.slot("pending_question") == "wrong_item"
    assert repository.return_requests_for_buyer("B001") == []


def test_missing_item_is_resent(shop, domain, repository):
    result = ask(ActionHandleWrongItem(), domain, buyer="B006", order_id="260315338801726645", text="少发了一个", intent="wrong_item")
    assert "utter_wrong_item_resend" in result.responses
    assert repository.return_requests_for_order("260315338801726645")[0].kind == "resend"


def test_price_drop_inside_window_refunds_the_exact_difference(shop, domain, repository):
    result = ask(ActionHandlePriceDifference(), domain, buyer="B003", order_id="260309375521804617", intent="price_difference")
    assert result.responses == ["utter_price_refund"]
    assert result.values("utter_price_refund")["amount"] == "40"  # 2 x (99 - 79)
    assert repository.price_refunds_for_order("260309375521804617")[0].amount == 40.0
    again = ask(ActionHandlePriceDifference(), domain, buyer="B003", order_id="260309375521804617", intent="price_difference")
    assert again.responses == ["utter_price_refund_exists"]


def test_price_drop_outside_window_is_politely_refused(shop, domain, repository):
    result = ask(ActionHandlePriceDifference(), domain, buyer="B005", order_id="2602220937718845120", intent="price_difference")
    assert result.responses == ["utter_price_outside_window", "utter_offer_human"]
    assert "15天" in result.text
    assert repository.price_refunds_for_order("2602220937718845120") == []


def test_no_price_drop_is_said_plainly(shop, domain):
    result = ask(ActionHandlePriceDifference(), domain, buyer="B006", order_id="260319018846273350", intent="price_difference")
    assert result.responses == ["utter_price_no_drop"]


def test_complaint_apologises_first_restates_and_offers_a_human(shop, domain):
    result = run_action(ActionHandleComplaint(), make_tracker("你们什么破服务 等了一周", "complain"), domain)
    assert result.responses == ["utter_complain_apology", "utter_complain_restate", "utter_complain_ask_details"]
    assert "你们什么破服务 等了一周" in result.text
    offer = domain["responses"][result.responses[-1]][0]["buttons"][0]
    assert offer["payload"] == "/request_human" and "人工" in offer["title"]


def event(intent, order_id, buyer):
    return make_tracker("", intent, {"order_id": order_id}, slots={"buyer_id": buyer})


def test_shipped_event_reaches_the_owner(shop, domain):
    result = run_action(ActionNotifyOrderEvent(), event("EXTERNAL_order_shipped", "260317339012845567", "B001"), domain)
    assert result.responses == ["utter_event_shipped"]
    assert "已经发货啦" in result.text and "韵达" in result.text


def test_unpaid_event_checks_the_address(shop, domain, repository):
    result = run_action(ActionNotifyOrderEvent(), event("EXTERNAL_order_unpaid", "260319804412763390", "B002"), domain)
    assert repository.get_order("260319804412763390").address in result.text and "跟亲核对下地址" in result.text


def test_oversold_event_apologises_and_offers_alternatives(shop, domain):
    result = run_action(ActionNotifyOrderEvent(), event("EXTERNAL_order_oversold", "260319018846273350", "B006"), domain)
    assert result.responses[0] == "utter_event_oversold"
    assert result.responses[1] in ("utter_stock_alternative_variant", "utter_event_oversold_refund")


def test_event_for_another_buyers_order_is_not_shown(shop, domain):
    result = run_action(ActionNotifyOrderEvent(), event("EXTERNAL_order_shipped", "260317339012845567", "B002"), domain)
    assert result.messages == []


def test_order_status_carries_an_order_card(shop, domain):
    result = ask(ActionCheckOrderStatus(), domain, buyer="B001", order_id="260317339012845567", intent="ask_order_status")
    [card] = result.cards
    assert card == {
        "type": "order",
        "order_id": "260317339012845567",
        "status_label": "已发货",
        "items": "纯棉T恤、保温杯",
        "courier": "韵达",
        "last_event": "快件已到达温州分拨中心",
        "last_event_time": card["last_event_time"],
    }
    assert card["last_event_time"]
