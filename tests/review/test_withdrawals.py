"""A rejected draft's announced records (return requests, price refunds) are withdrawn; records
it only mentions (an earlier request) are not."""

from bot.review.withdrawals import withdraw_announced_records
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from tests.conftest import ROOT

ORDER = "260312730019846625"


def repository():
    return InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml"))


def reply(template, **values):
    return {"text": "…", "response": template, "values": values, "sources": {}}


def test_the_records_a_rejected_draft_announced_are_withdrawn():
    orders = repository()
    refund = orders.create_price_refund(ORDER, "B002", 70.0)
    request = orders.create_return_request(ORDER, "B002", "quality", "refund", "seller")
    replies = [
        reply("utter_return_quality_refund", postage_refund="10"),
        reply("utter_return_recorded", request_id=request.id, order_id=ORDER),
        reply("utter_price_refund", order_id=ORDER, amount="70", refund_id=refund.id),
    ]
    assert withdraw_announced_records(orders, replies) == [
        f"utter_return_recorded:{request.id}",
        f"utter_price_refund:{refund.id}",
    ]
    assert orders.return_requests_for_order(ORDER) == [] and orders.price_refunds_for_order(ORDER) == []
    assert withdraw_announced_records(orders, replies) == []  # once


def test_an_earlier_record_a_draft_only_mentions_stays():
    orders = repository()
    earlier = orders.create_return_request(ORDER, "B002", "quality", "refund", "seller")
    replies = [reply("utter_return_already_requested", order_id=ORDER, request_id=earlier.id)]
    assert withdraw_announced_records(orders, replies) == []
    assert [r.id for r in orders.return_requests_for_order(ORDER)] == [earlier.id]


def test_replies_without_details_or_with_odd_values_withdraw_nothing():
    orders = repository()
    refund = orders.create_price_refund(ORDER, "B002", 70.0)
    replies = [
        {"text": "亲，在的"},
        reply("utter_price_refund", refund_id="x1"),
        reply("utter_price_refund", refund_id=True),
        reply("utter_price_refund"),
        "not a reply",
    ]
    assert withdraw_announced_records(orders, replies) == []
    assert [r.id for r in orders.price_refunds_for_order(ORDER)] == [refund.id]
