"""Searching and exporting past conversations (the agent console's 搜索对话 and 导出), on a real
SQLite gateway database and the demo shop."""

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.db_schema import GATEWAY
from bot.gateway.agent_api import shop_search_terms
from bot.gateway.store import GatewayStore
from bot.review.history import ConversationHistory, SearchTerms, as_csv, as_jsonl
from bot.review.phrases import PhraseError, QuickPhrases
from bot.review.queue import ReviewQueue
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from tests.conftest import ROOT, migrated

SHOP = InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml"))
NAMES = {"ask_courier": "询问快递", "haggle": "讲价"}
INTENTS = ["ask_courier", "haggle"]


@pytest.fixture
def db(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'g.db'}", GATEWAY))
    queue = ReviewQueue(store.engine)
    order_id = SHOP.orders_for_buyer("B001")[0].id
    store.claim_session("s-zhang-0001", "B001")
    store.add_message("s-zhang-0001", "buyer", f"订单{order_id}什么时候到", {"product_id": "P001"})
    store.add_message("s-zhang-0001", "bot", "亲，已经在路上啦")
    store.claim_session("s-visit-0002", None)
    store.add_message("s-visit-0002", "buyer", "发什么快递")
    queue.record_turn("s-visit-0002", None, "发什么快递", [{"intent": "ask_courier", "confidence": 0.99}], [], False, "auto-send")
    store.add_message("s-visit-0002", "bot", "=HYPERLINK(\"http://evil\")")
    store.claim_session("s-other-0003", "B002")
    store.add_message("s-other-0003", "buyer", "能便宜点吗")
    yield store, ConversationHistory(store.engine), order_id
    store.close()


def found(history, text):
    return [r["session_id"] for r in history.search(shop_search_terms(SHOP, NAMES, INTENTS, text))]


def test_search_finds_conversations_by_buyer_order_product_intent_and_text(db):
    _, history, order_id = db
    assert found(history, "张小花") == ["s-zhang-0001"]  # the buyer's name
    assert found(history, order_id) == ["s-zhang-0001"]  # an order number
    assert found(history, SHOP.get_product("P001").name) == ["s-zhang-0001"]  # the product viewed
    assert found(history, "询问快递") == ["s-visit-0002"]  # an intent's Chinese name
    assert found(history, "便宜") == ["s-other-0003"]  # words of a message
    assert found(history, "s-visit") == ["s-visit-0002"]  # the short id a visitor is shown by
    assert found(history, "100%_") == []  # LIKE wildcards are taken literally


def test_search_by_date_only_and_outside_the_range(db):
    _, history, _ = db
    now = datetime.now(timezone.utc)
    today = history.search(SearchTerms(start=now - timedelta(hours=1), end=now + timedelta(hours=1)))
    assert {r["session_id"] for r in today} == {"s-zhang-0001", "s-visit-0002", "s-other-0003"}
    assert history.search(SearchTerms(text="便宜", start=now + timedelta(days=1))) == []


def test_export_one_conversation_as_csv_and_jsonl_safe_for_spreadsheets(db):
    _, history, _ = db
    rows = history.export_rows("s-visit-0002", None, None)
    assert [(r["role"], r["text"], r["intent"]) for r in rows] == [
        ("buyer", "发什么快递", "ask_courier"),
        ("bot", '=HYPERLINK("http://evil")', None),
    ]
    table = list(csv.DictReader(io.StringIO(as_csv(rows).lstrip("\ufeff"))))
    assert [r["text"] for r in table] == ["发什么快递", "'=HYPERLINK(\"http://evil\")"]  # never a formula
    lines = [json.loads(line) for line in as_jsonl(rows).splitlines()]
    assert lines[1]["text"] == '=HYPERLINK("http://evil")' and lines[0]["session_id"] == "s-visit-0002"


def test_export_a_date_range_has_every_conversation_of_it(db):
    _, history, _ = db
    now = datetime.now(timezone.utc)
    rows = history.export_rows(None, now - timedelta(days=1), now + timedelta(days=1))
    assert {r["session_id"] for r in rows} == {"s-zhang-0001", "s-visit-0002", "s-other-0003"} and len(rows) == 5


def test_quick_phrases_are_stored_checked_and_edited(db):
    store, _, _ = db
    phrases = QuickPhrases(store.engine)
    added = phrases.add("发货", "亲，您的订单{order_id}已由{courier}发出~", "carol")
    assert [p["title"] for p in phrases.all()] == ["发货"]
    with pytest.raises(PhraseError) as refused:
        phrases.add("错误", "亲，{password}", "carol")
    assert refused.value.code == "phrase_unknown_variable"
    with pytest.raises(PhraseError):
        phrases.add("", "亲", "carol")
    assert phrases.update(added["id"], "发货了", "亲，已发货", "dave")["updated_by"] == "dave"
    assert phrases.update(9999, "x", "y", "dave") is None
    assert phrases.delete(added["id"]) and phrases.all() == []
