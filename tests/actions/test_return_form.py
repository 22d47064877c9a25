import asyncio
from datetime import timedelta

from rasa_sdk.executor import CollectingDispatcher

from actions.submit_return import ActionSubmitReturn
from actions.validate_return_form import ValidateReturnForm
from bot.reply_details import ReplyDetails
from tests.conftest import make_tracker, run_action, token_for

RECENT = "260318273645019283"  # B001, delivered 2 days ago
OLD = "260304918273650142"  # B001, delivered 12 days ago
PAID = "260319550172638844"  # B001, paid, not shipped
DOMAIN_SLOTS = ["order_id", "phone_tail", "return_reason", "quality_photo"]


def required(tracker):
    return asyncio.run(ValidateReturnForm().required_slots(DOMAIN_SLOTS, CollectingDispatcher(), tracker, {}))


def test_owner_is_not_asked_for_phone_digits(shop):
    tracker = make_tracker(slots={"order_id": RECENT}, metadata={"buyer_token": token_for("B001")})
    assert required(tracker) == ["order_id", "return_reason"]


def test_quality_returns_ask_for_the_photo_before_the_plan(shop):
    tracker = make_tracker(slots={"order_id": RECENT, "return_reason": "quality"}, metadata={"buyer_token": token_for("B001")})
    assert required(tracker) == ["order_id", "return_reason", "quality_photo"]


def test_an_order_outside_the_window_is_answered_at_once_without_reason_or_photo(shop):
    tracker = make_tracker(slots={"order_id": OLD, "return_reason": "quality"}, metadata={"buyer_token": token_for("B001")})
    assert required(tracker) == ["order_id"]


def test_someone_elses_order_needs_phone_digits(shop):
    tracker = make_tracker(slots={"order_id": RECENT}, metadata={"buyer_token": token_for("B002")})
    assert required(tracker) == ["order_id", "phone_tail", "return_reason"]
    anonymous = make_tracker(slots={"order_id": RECENT})
    assert required(anonymous) == ["order_id", "phone_tail", "return_reason"]


def test_logged_in_buyer_without_order_number_gets_most_recent_delivered_order(shop, domain):
    tracker = make_tracker("我要退货", "request_return", metadata={"buyer_token": token_for("B001")}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    found = asyncio.run(ValidateReturnForm().extract_order_id(dispatcher, tracker, domain))
    assert found["order_id"] == RECENT
    details = ReplyDetails.from_metadata(dispatcher.messages[0])
    assert details.template == "utter_return_recent_order"
    assert details.values == {"order_id": RECENT, "items": "纯棉T恤"}
    assert details.sources == {"order_id": f"orders.{RECENT}: ranked for request_return of B001", "items": "order_items"}


def test_right_phone_digits_verify_the_order(shop, repository, domain):
    tail = repository.get_order(RECENT).phone[-4:]
    tracker = make_tracker(f"尾号{tail}", "inform", {"phone_tail": tail}, slots={"order_id": RECENT})
    dispatcher = CollectingDispatcher()
    result = ValidateReturnForm().validate_phone_tail(tail, dispatcher, tracker, domain)
    assert result == {"phone_tail": tail, "verified_orders": [RECENT]}
    assert dispatcher.messages == []


def test_wrong_digits_and_unknown_order_get_the_same_answer(shop, repository, domain):
    wrong = "0000" if not repository.get_order(RECENT).phone.endswith("0000") else "1111"
    answers = []
    for order_id in (RECENT, "1234567890123456789"):
        tracker = make_tracker(f"尾号{wrong}", "inform", {"phone_tail": wrong}, slots={"order_id": order_id})
        dispatcher = CollectingDispatcher()
        result = ValidateReturnForm().validate_phone_tail(wrong, dispatcher, tracker, domain)
        assert result == {"phone_tail": None, "order_id": None}
        answers.append(dispatcher.messages)
    assert answers[0] == answers[1] == [{**answers[0][0], "response": "utter_order_not_verified"}]


def test_reason_and_exchange_wish_are_read_from_the_buyers_words(shop, domain):
    cases = {
        "尺码不合适想换一下": {"return_reason": "non_quality", "return_kind": "exchange"},
        "衣服开线了要退": {"return_reason": "quality"},
        "就是不想要了": {"return_reason": "non_quality"},
        "嗯": {},
    }
    for text, expected in cases.items():
        tracker = make_tracker(text, "inform", active_loop="return_form")
        found = asyncio.run(ValidateReturnForm().extract_return_reason(CollectingDispatcher(), tracker, domain))
        assert found == expected, text


def test_malformed_order_number_is_refused_politely(shop, domain):
    dispatcher = CollectingDispatcher()
    result = ValidateReturnForm().validate_order_id("12345", dispatcher, make_tracker(), domain)
    assert result == {"order_id": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_order_id"


def submit(domain, order_id, reason, buyer="B001", kind=None, verified=None):
    slots = {"order_id": order_id, "return_reason": reason, "return_kind": kind, "verified_orders": verified}
    metadata = {"buyer_token": token_for(buyer)} if buyer else {}
    return run_action(ActionSubmitReturn(), make_tracker("", "inform", slots=slots, metadata=metadata), domain)


def test_quality_return_inside_window_asks_photo_refunds_postage_and_is_recorded(shop, domain, repository):
    result = submit(domain, RECENT, "quality")
    # The photo was the form's last question (quality_photo); the plan and the record come after it.
    assert result.responses == ["utter_return_quality_refund", "utter_return_recorded"]
    assert result.values("utter_return_quality_refund") == {"postage_refund": "10"}
    assert "订单编号、姓名、联系电话" in result.text and "退您垫付的邮费10元" in result.text
    [request] = repository.return_requests_for_order(RECENT)
    assert (request.buyer_id, request.reason, request.kind, request.postage_payer, request.status) == (
        "B001", "quality", "refund", "seller", "requested"
    )
    assert result.values("utter_return_recorded") == {"request_id": request.id, "order_id": RECENT}
    assert result.slot("return_reason") is None


def test_quality_exchange_uses_reply_b(shop, domain):
    result = submit(domain, RECENT, "quality", kind="exchange")
    assert "utter_return_quality_exchange" in result.responses
    assert "注明质量问题换货" in result.text


def test_non_quality_return_buyer_pays_postage(shop, domain, repository):
    result = submit(domain, RECENT, "non_quality")
    assert result.responses == ["utter_return_non_quality", "utter_return_recorded"]
    assert "7天内是可以无条件退换货的" in result.text and "由您承担" in result.text
    assert repository.return_requests_for_order(RECENT)[0].postage_payer == "buyer"


def test_outside_window_is_refused_with_the_delivery_date_and_a_human(shop, domain, repository):
    result = submit(domain, OLD, "non_quality")
    assert result.responses == ["utter_return_outside_window", "utter_offer_human"]
    values = result.values("utter_return_outside_window")
    assert values["window_days"] == 7 and values["order_id"] == OLD
    assert repository.return_requests_for_order(OLD) == []


def test_undelivered_order_cannot_be_returned_yet(shop, domain):
    result = submit(domain, PAID, "non_quality")
    assert result.responses == ["utter_return_not_delivered"]


def test_someone_elses_order_is_not_returned_or_described(shop, domain, repository):
    result = submit(domain, RECENT, "quality", buyer="B002")
    assert result.responses == ["utter_order_not_verified"]
    assert RECENT not in result.text and "纯棉T恤" not in result.text
    assert repository.return_requests_for_order(RECENT) == []


def test_phone_verified_order_can_be_returned_without_login(shop, domain, repository):
    result = submit(domain, RECENT, "quality", buyer=None, verified=[RECENT])
    assert "utter_return_recorded" in result.responses
    assert repository.return_requests_for_order(RECENT)[0].buyer_id == "B001"


def test_second_request_for_same_order_reports_the_first(shop, domain):
    submit(domain, RECENT, "quality")
    result = submit(domain, RECENT, "quality")
    assert result.responses == ["utter_return_already_requested", "utter_return_status_requested"]


def test_window_boundary_counts_from_delivery(shop, domain, repository, monkeypatch):
    from actions import base

    delivered = repository.get_order(RECENT).delivered_at
    monkeypatch.setattr(base.ShopContext, "now", staticmethod(lambda: delivered + timedelta(days=7, minutes=1)))
    assert submit(domain, RECENT, "non_quality").responses[0] == "utter_return_outside_window"
    monkeypatch.setattr(base.ShopContext, "now", staticmethod(lambda: delivered + timedelta(days=7, minutes=-1)))
    assert "utter_return_recorded" in submit(domain, RECENT, "non_quality").responses
