"""Nobody waits forever: a held reply no agent acts on goes out when safe, else the buyer gets an
honest handoff message with the service hours and the item stays queued for the next agent."""

import asyncio
import dataclasses

import pytest
import sqlalchemy as sa
import yaml

from bot.db_schema import GATEWAY
from bot.gateway.conversation import Conversations
from bot.review.queue import ReviewQueue
from bot.review.routing import RoutingPolicy
from tests.conftest import ROOT, migrated

STRINGS = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"]


class FakeStore:
    def __init__(self):
        self.sent = []

    def buyer_message_before(self, session_id, text, before):
        return {"id": 1, "text": text}  # the question the late reply quotes

    def add_messages(self, session_id, role, items):
        stored = [{"session_id": session_id, "role": role, "text": text} for text, _ in items]
        self.sent.extend(stored)
        return stored


@pytest.fixture
def setup(tmp_path):
    policy = dataclasses.replace(RoutingPolicy.load(ROOT / "data/shop/routing.yml"), agent_timeout_seconds=0.2)
    queue = ReviewQueue(sa.create_engine(migrated(f"sqlite:///{tmp_path / 'q.db'}", GATEWAY), future=True, connect_args={"check_same_thread": False}))
    store = FakeStore()

    async def notify(*_):
        return None

    conversations = Conversations(store, None, queue, policy, STRINGS, notify)
    return conversations, queue, store, policy


async def emit(*_):
    return None


def hold(queue, intent, confidence, text):
    parse = [{"intent": intent, "confidence": confidence, "text": text}]
    turn = queue.record_turn("s-0000001", "B001", text, parse, [{"text": "亲，这款纯棉T恤是有现货的呢"}], True, "unsure")
    return turn, parse


def test_the_policy_sends_presale_and_order_status_drafts_and_hands_off_the_rest():
    policy = RoutingPolicy.load(ROOT / "data/shop/routing.yml")
    assert policy.agent_timeout_seconds == 90 and policy.service_hours
    assert policy.unattended([{"intent": "ask_stock"}, {"intent": "ask_order_status"}]) == "send"
    assert policy.unattended([{"intent": "request_return"}]) == "handoff"
    assert policy.unattended([{"intent": "ask_stock"}, {"intent": "complain"}]) == "handoff"


def test_an_unsure_stock_answer_goes_out_when_no_agent_acts_in_time(setup):
    conversations, queue, store, _ = setup
    turn, parse = hold(queue, "ask_stock", 0.6, "这个有吗")
    asyncio.run(conversations._when_unattended(turn["id"], "s-0000001", parse, [{"text": "亲，这款纯棉T恤是有现货的呢"}], emit))
    assert [m["text"] for m in store.sent] == ["亲，这款纯棉T恤是有现货的呢"]
    assert queue.get(turn["id"])["status"] == "auto_sent"


def test_a_return_gets_an_honest_handoff_with_service_hours_and_stays_queued(setup):
    conversations, queue, store, policy = setup
    conversations.agents_online = lambda: False
    turn, parse = hold(queue, "request_return", 0.99, "我要退货")
    asyncio.run(conversations._when_unattended(turn["id"], "s-0000001", parse, [{"text": "亲，退货…"}], emit))
    [message] = store.sent
    assert "人工客服" in message["text"] and policy.service_hours in message["text"]
    assert queue.get(turn["id"])["status"] == "pending"
    assert [w["session_id"] for w in queue.waiting_for_human()] == ["s-0000001"]


def test_a_reply_an_agent_already_handled_is_left_alone(setup):
    conversations, queue, store, _ = setup
    turn, parse = hold(queue, "ask_stock", 0.6, "这个有吗")
    queue.claim(turn["id"], "alice", "sent")
    asyncio.run(conversations._when_unattended(turn["id"], "s-0000001", parse, [{"text": "x"}], emit))
    assert store.sent == []


def test_a_signed_in_agent_counts_as_online(tmp_path):
    from bot.review.agents import AgentAccounts

    accounts = AgentAccounts(sa.create_engine(migrated(f"sqlite:///{tmp_path / 'a.db'}", GATEWAY), future=True))
    assert not accounts.agents_signed_in()
    accounts.add("alice", "correct-horse-9", "agent")
    accounts.add("tina", "correct-horse-9", "trainer")
    accounts.login("tina", "correct-horse-9")
    assert not accounts.agents_signed_in()  # a trainer does not answer buyers
    token = accounts.login("alice", "correct-horse-9")
    assert accounts.agents_signed_in()
    accounts.logout(token)
    assert not accounts.agents_signed_in()
