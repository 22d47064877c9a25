"""The agent console's buyer list and take-over bookkeeping, on a real (SQLite) gateway database
without Rasa: one row per conversation, waits measured from the buyer's first unanswered message
(a reject does not restart the clock), and questions asked during a take-over get answered."""

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from bot.db_schema import GATEWAY
from bot.db_schema import review_suggestions as suggestions
from bot.gateway.agent_api import buyer_rows, queue_snapshot, shop_context
from bot.gateway.conversation import Conversations
from bot.gateway.store import GatewayStore
from bot.review.queue import ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from tests.conftest import ROOT, migrated

POLICY = RoutingPolicy.load(ROOT / "data/shop/routing.yml")
GREET = [{"intent": "greet", "confidence": 0.99, "text": "你好"}]


@pytest.fixture
def db(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'g.db'}", GATEWAY))
    yield store, ReviewQueue(store.engine)
    store.close()


def ask(store, queue, session_id, text, parse=GREET, review=True, reason="taken over by alice"):
    store.add_message(session_id, "buyer", text)
    return queue.record_turn(session_id, None, text, parse, [{"text": "亲，您好~"}], review, reason)


def backdate(queue, suggestion_id, seconds):
    with queue.engine.begin() as conn:
        conn.execute(
            suggestions.update()
            .where(suggestions.c.id == suggestion_id)
            .values(created_at=datetime.now(timezone.utc) - timedelta(seconds=seconds))
        )


def rows(store, queue, names=None):
    return buyer_rows(queue_snapshot(store, queue), names or {}, POLICY, datetime.now(timezone.utc))


def test_thirty_hellos_from_one_visitor_are_one_row_with_thirty_unread(db):
    store, queue = db
    store.claim_session("s-visitor-1", None)
    first = ask(store, queue, "s-visitor-1", "你好")
    for _ in range(29):
        ask(store, queue, "s-visitor-1", "你好")
    backdate(queue, first["id"], 70)  # the visitor's first hello waits longest (amber after 60 s)
    store.claim_session("s-buyer-0001", "B001")
    ask(store, queue, "s-buyer-0001", "我想退货", [{"intent": "request_return", "confidence": 0.97}])
    listed = rows(store, queue, {"B001": "张小红"})
    assert [(r["session_id"], r["unread"], r["buyer_name"], r["sla"]) for r in listed] == [
        ("s-visitor-1", 30, None, "amber"),
        ("s-buyer-0001", 1, "张小红", "green"),
    ]
    visitor = next(r for r in listed if r["session_id"] == "s-visitor-1")
    assert visitor["last_text"] == "你好" and visitor["intent"] == "greet" and len(visitor["suggestion_ids"]) == 30


def test_the_wait_runs_from_the_first_unanswered_message_and_a_reject_does_not_restart_it(db):
    store, queue = db
    first = ask(store, queue, "s-waiting-01", "这个能便宜点吗", [{"intent": "haggle", "confidence": 0.6}], reason="unsure")
    backdate(queue, first["id"], 200)  # past the red threshold (180 s)
    rejected = queue.claim(first["id"], "alice", "rejected")
    # what Conversations.agent_rejects records: the redraft keeps the question's time
    queue.record_turn("s-waiting-01", None, "这个能便宜点吗", [{"intent": "haggle", "confidence": 1.0}], [{"text": "亲"}], True, "redrafted by alice", rejected["created_at"])
    [row] = rows(store, queue)
    assert row["waiting_seconds"] >= 200 and row["sla"] == "red" and row["unread"] == 1


def test_a_buyer_waiting_for_a_human_counts_from_the_request(db):
    store, queue = db
    store.add_message("s-human-0001", "buyer", "转人工")
    queue.request_human("s-human-0001")
    [row] = rows(store, queue)
    assert row["human_requested"] and row["unread"] == 1 and row["last_text"] == "转人工" and row["sla"] == "green"


@pytest.fixture
def conversations(db):
    store, queue = db
    emitted = []

    async def notify(*_):
        return None

    def emit_to(session_id):
        async def emit(event, data):
            emitted.append((event, data))

        return emit

    policy = dataclasses.replace(POLICY, agent_timeout_seconds=30)
    return Conversations(store, None, queue, policy, {}, notify), emit_to, emitted


def test_after_hand_back_a_question_asked_during_the_take_over_is_answered_by_the_bot_quoting_it(db, conversations):
    store, queue = db
    talk, emit_to, emitted = conversations
    queue.take_over("s-takeover-1", "alice")
    ask(store, queue, "s-takeover-1", "你好，在吗")
    ask(store, queue, "s-takeover-1", "我要退货", [{"intent": "request_return", "confidence": 0.97}])
    # the return draft commits the shop in real life; here it is made to need review by its reply
    with queue.engine.begin() as conn:
        conn.execute(
            suggestions.update()
            .where(suggestions.c.intent == "request_return")
            .values(replies='[{"text": "亲，退货已登记", "response": "utter_return_recorded"}]')
        )

    async def scenario():
        sent = await talk.hand_back("s-takeover-1", emit_to)
        await asyncio.sleep(0)
        return sent

    assert asyncio.run(scenario()) == 1
    delivered = [data for event, data in emitted if event == "message"]
    assert [m["text"] for m in delivered] == ["亲，您好~"]
    assert delivered[0]["quote"]["text"] == "你好，在吗"
    assert store.history("s-takeover-1")[-1]["quote"]["text"] == "你好，在吗"  # stored with the reply
    still = queue.pending_of("s-takeover-1")
    assert [s["buyer_text"] for s in still] == ["我要退货"]  # needs an agent's review: stays queued
    assert queue.taken_over_by("s-takeover-1") is None


def test_an_agents_own_words_answer_the_drafts_waiting_in_that_conversation(db):
    store, queue = db
    queue.take_over("s-takeover-2", "alice")
    ask(store, queue, "s-takeover-2", "在吗")
    ask(store, queue, "s-takeover-2", "发什么快递")
    ask(store, queue, "s-other-0001", "你好")
    assert queue.answer_pending("s-takeover-2", "alice") == 2
    assert queue.pending_of("s-takeover-2") == []
    assert [r["session_id"] for r in rows(store, queue) if r["unread"]] == ["s-other-0001"]
    assert queue.metrics()["per_intent"]["greet"]["pending"] == 1  # an unknown status does not break the metrics


def test_beside_the_chat_only_this_buyers_orders_and_the_viewed_product():
    orders = InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml"))
    found = shop_context(orders, {"shipped": "已发货"}, "B001", "P001")
    mine = {o.id for o in orders.orders_for_buyer("B001")}
    assert found["orders"] and {o["order_id"] for o in found["orders"]} <= mine
    assert all(item["name"] and not item["name"].startswith("P0") for o in found["orders"] for item in o["items"])
    assert found["product"]["product_id"] == "P001" and found["product"]["name"] == orders.get_product("P001").name
    assert shop_context(orders, {}, None, None) == {"orders": [], "product": None}
