"""Order resolution rules (bot/shop/orders/resolution.py), one test per rule, on the demo buyers' orders."""

from datetime import datetime, timezone

import pytest

from bot.shop.lexicon import Lexicon
from bot.shop.orders.resolution import OrderClues, read_clues, resolve
from tests.conftest import ROOT

LEXICON = Lexicon.load(ROOT / "data/shop/lexicon.yml")


@pytest.fixture
def now():
    return datetime.now(timezone.utc)


def clues(repository, text, **extra):
    return read_clues(
        text, repository.list_products(), LEXICON.order_time_words, LEXICON.order_state_words, **extra
    )


def orders(repository, buyer):
    return repository.orders_for_buyer(buyer)


def test_the_product_named_picks_its_order_whatever_is_newer(repository, now):
    # B001: the jeans were paid 199 and cost 159 now; the T恤 orders are newer.
    result = resolve(orders(repository, "B001"), clues(repository, "牛仔裤降价了 能退差价吗"), "price_difference", now)
    assert result.order.id == "260304918273650142" and result.reason == "narrowed" and result.inferred


def test_product_aliases_and_counts_do_not_confuse_the_product(repository, now):
    result = resolve(orders(repository, "B003"), clues(repository, "我买的两件T恤降价了 能退差价吗"), "price_difference", now)
    assert result.order.id == "260309375521804617"


def test_a_product_the_buyer_never_bought_is_an_honest_none(repository, now):
    result = resolve(orders(repository, "B001"), clues(repository, "雨鞋到哪了"), "ask_order_status", now)
    assert result.order is None and not result.candidates
    assert result.reason == "no_order_for_product" and result.missing_products == ("P005",)


def test_logistics_questions_prefer_the_order_on_its_way(repository, now):
    # B001 has a paid, unshipped order newer than the shipped one.
    result = resolve(orders(repository, "B001"), clues(repository, "我的快递到哪了"), "ask_order_status", now)
    assert result.order.id == "260317339012845567" and result.reason == "ranked"


def test_returns_prefer_delivered_orders_and_a_product_breaks_the_tie(repository, now):
    result = resolve(orders(repository, "B003"), clues(repository, "收到的雨鞋开胶了 质量有问题"), "report_quality_issue", now)
    assert result.order.id == "260303208817465529"


def test_several_equally_good_orders_are_offered_newest_first(repository, now):
    result = resolve(orders(repository, "B003"), clues(repository, "快递到哪了"), "ask_order_status", now)
    assert result.ambiguous and result.order is None
    assert [o.id for o in result.candidates] == ["260317512290374468", "260317104486627913"]


def test_prefer_breaks_a_tie_among_the_best_ranked(repository, now):
    result = resolve(
        orders(repository, "B006"), clues(repository, "怎么还没到"), "logistics_delay", now,
        prefer=lambda o: o.status == "exception",
    )
    assert result.order.id == "260314070391586628"


def test_time_words_narrow_by_when_the_order_was_placed(repository, now):
    # B001's order of today is paid, not shipped: without the time word the shipped one would win.
    today = resolve(orders(repository, "B001"), clues(repository, "今天买的到哪了"), "ask_order_status", now)
    assert today.order.id == "260319550172638844"
    # B003 has delivered orders 10 and 16 days ago: last week's is the 10-day one.
    last_week = resolve(orders(repository, "B003"), clues(repository, "上周买的东西想退"), "request_return", now)
    assert last_week.order.id == "260309375521804617"


def test_state_words_narrow_and_negation_is_not_a_delivery(repository, now):
    unshipped = resolve(orders(repository, "B001"), clues(repository, "怎么还没发货"), "logistics_delay", now)
    assert unshipped.order.id == "260319550172638844"
    assert clues(repository, "还没收到").states == ("shipped", "out_for_delivery", "exception")
    assert clues(repository, "收到的有问题").states == ("delivered",)


def test_colour_and_size_narrow_within_the_product(repository, now):
    result = resolve(
        orders(repository, "B001"), clues(repository, "T恤要退", colors=["黑色"]), "request_return", now
    )
    assert result.order.id == "260317339012845567"


def test_the_viewed_product_page_narrows_only_when_an_order_holds_it(repository, now):
    viewed = resolve(orders(repository, "B006"), OrderClues(viewed_product="P008"), "ask_order_status", now)
    assert viewed.order.id == "260314070391586628"
    other = resolve(orders(repository, "B001"), OrderClues(viewed_product="P006"), "ask_order_status", now)
    assert other.order.id == "260317339012845567"


def test_no_orders_and_no_fitting_state_are_none(repository, now):
    assert resolve([], OrderClues(), "ask_order_status", now).reason == "none"
    # B003's only unpaid order is the dress: free shipping is about it; nothing unpaid for B006's lamp page
    result = resolve(orders(repository, "B004"), OrderClues(), "ask_free_shipping", now)
    assert result.order is None and result.reason == "none"
