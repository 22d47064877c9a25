"""The agent console's API over the real stack: routing by policy, exactly-once sends, edits
written into the Rasa tracker, rejections that become training candidates, take-over, auth."""

import asyncio
import time
import concurrent.futures

import pytest
import requests
import socketio

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from tests.conftest import token_for
from tests.gateway.test_gateway_api import Buyer
from tests.replies import said

pytestmark = pytest.mark.slow
PASSWORD = "review-pass-123"


@pytest.fixture(scope="module")
def accounts(stack):
    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    AgentAccounts(store.engine).add("alice", PASSWORD)
    AgentAccounts(store.engine).add("bob", PASSWORD)
    yield ReviewQueue(store.engine)
    store.close()


def agent_session(stack, name):
    session = requests.Session()
    reply = session.post(f"{stack.gateway_url}/agent/login", json={"username": name, "password": PASSWORD}, timeout=10)
    assert reply.status_code == 200 and reply.json() == {"username": name, "role": "agent"}
    return session


def wait_for(predicate, timeout=30):
    for _ in range(int(timeout * 10)):
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def pending_for(stack, session, session_id):
    queue = session.get(f"{stack.gateway_url}/agent/api/queue", timeout=10).json()
    return [s for s in queue["suggestions"] if s["session_id"] == session_id]


ENDPOINTS = [
    ("get", "/agent/api/me"),
    ("get", "/agent/api/queue"),
    ("get", "/agent/api/metrics"),
    ("get", "/agent/api/intents"),
    ("get", "/agent/api/sessions/s-0000000001"),
    ("post", "/agent/api/suggestions/1/send"),
    ("post", "/agent/api/suggestions/1/edit"),
    ("post", "/agent/api/suggestions/1/reject"),
    ("post", "/agent/api/sessions/s-0000000001/takeover"),
    ("post", "/agent/api/sessions/s-0000000001/handback"),
    ("post", "/agent/api/sessions/s-0000000001/messages"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_agent_endpoint_refuses_buyers_and_strangers(stack, accounts, method, path):
    for cookies in ({}, {"qkf_agent": "forged"}, {"qkf_agent": token_for("B001")}):
        reply = getattr(requests, method)(stack.gateway_url + path, cookies=cookies, json={}, timeout=10)
        assert reply.status_code == 401, (path, cookies)


def test_wrong_password_and_agent_namespace_without_login_are_refused(stack, accounts):
    reply = requests.post(f"{stack.gateway_url}/agent/login", json={"username": "alice", "password": "nope"}, timeout=10)
    assert reply.status_code == 401

    async def connect():
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(stack.gateway_url, namespaces=["/agent"], headers={"Origin": stack.gateway_url}, transports=["websocket"])

    asyncio.run(connect())


def test_auto_sent_intent_goes_out_and_review_intent_waits_for_an_agent(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack, token=token_for("B001")) as buyer:
            await buyer.send("你好")
            [greeting] = await buyer.bot_replies()
            assert said(greeting["text"], "utter_greet")
            await buyer.send("我想退货")
            await asyncio.sleep(2.5)
            held = pending_for(stack, alice, buyer.session_id)
            assert len(held) == 1 and held[0]["intent"] == "request_return"
            bot_texts = [m["text"] for m in buyer.messages if m["role"] == "bot"]
            # nothing but the greeting and the hold notice reached the buyer
            assert len(bot_texts) == 2 and "请稍等" in bot_texts[1]
            suggestion = held[0]
            assert suggestion["replies"][0]["response"] in ("utter_return_recent_order", "utter_ask_order_id", "utter_ask_return_reason")
            assert suggestion["sla"] == "green" and suggestion["confidence"] > 0.5
            # two agents accept at the same time: exactly one send
            bob = agent_session(stack, "bob")
            url = f"{stack.gateway_url}/agent/api/suggestions/{suggestion['id']}/send"
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                replies = list(pool.map(lambda s: s.post(url, timeout=30), [alice, bob]))
            codes = sorted(r.status_code for r in replies)
            assert codes == [200, 409]
            loser = next(r for r in replies if r.status_code == 409).json()
            assert loser["handled_by"] in ("alice", "bob") and loser["status"] == "sent"
            await asyncio.sleep(1.0)
            delivered = [m["text"] for m in buyer.messages if m["role"] == "bot"][2:]
            assert [r["text"] for r in suggestion["replies"] if r["text"]] == [t for t in delivered if t]

    asyncio.run(scenario())


def test_edit_sends_the_agents_text_and_writes_it_into_the_tracker(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack, token=token_for("B003")) as buyer:
            await buyer.send("刚买完就降价了 能退差价吗")
            held = wait_for(lambda: pending_for(stack, alice, buyer.session_id))
            edited = "亲，已经为您核实，差价40元会在24小时内退回~"
            reply = alice.post(f"{stack.gateway_url}/agent/api/suggestions/{held[0]['id']}/edit", json={"text": edited}, timeout=30)
            assert reply.status_code == 200
            await asyncio.sleep(1.0)
            assert [m["text"] for m in buyer.messages if m["role"] == "agent"] == [edited]
            return buyer.session_id, edited

    session_id, edited = asyncio.run(scenario())
    tracker = stack.tracker(session_id)
    bot_events = [e for e in tracker["events"] if e["event"] == "bot"]
    assert bot_events[-1]["text"] == edited and bot_events[-1]["metadata"]["agent"] == "alice"


def test_reject_records_a_candidate_and_redrafts_for_the_right_intent(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack) as buyer:
            await buyer.send("这个东西我要投诉到平台")
            held = wait_for(lambda: pending_for(stack, alice, buyer.session_id))
            reply = alice.post(
                f"{stack.gateway_url}/agent/api/suggestions/{held[0]['id']}/reject", json={"intent": "ask_ship_time"}, timeout=30
            )
            assert reply.status_code == 200 and reply.json()["new_suggestion_id"]
            redraft = wait_for(lambda: [s for s in pending_for(stack, alice, buyer.session_id) if s["id"] == reply.json()["new_suggestion_id"]])
            assert redraft[0]["intent"] == "ask_ship_time"
            assert said(redraft[0]["replies"][0]["text"], "utter_ship_time", ship_hours=48)
            return held[0]["buyer_text"]

    text = asyncio.run(scenario())
    candidates = accounts.candidates()
    assert any(c["text"] == text and c["correct_intent"] == "ask_ship_time" and c["source"] == "rejected" for c in candidates)


def test_take_over_silences_the_bot_until_handed_back(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack) as buyer:
            await buyer.send("在吗")
            await buyer.bot_replies()
            assert alice.post(f"{stack.gateway_url}/agent/api/sessions/{buyer.session_id}/takeover", timeout=10).ok
            await buyer.send("你好呀")
            drafted = wait_for(lambda: pending_for(stack, alice, buyer.session_id))
            assert drafted[0]["taken_over_by"] == "alice"
            await asyncio.sleep(2.5)
            assert len([m for m in buyer.messages if m["role"] == "bot"]) == 1  # no reply, no hold notice
            said_by_agent = "亲，我是客服小美，请问有什么可以帮您？"
            assert alice.post(f"{stack.gateway_url}/agent/api/sessions/{buyer.session_id}/messages", json={"text": said_by_agent}, timeout=30).ok
            await asyncio.sleep(1.0)
            assert [m["text"] for m in buyer.messages if m["role"] == "agent"] == [said_by_agent]
            assert alice.post(f"{stack.gateway_url}/agent/api/sessions/{buyer.session_id}/handback", timeout=10).ok
            before = len([m for m in buyer.messages if m["role"] == "bot"])
            await buyer.send("谢谢")
            await buyer.bot_replies(before + 1)

    asyncio.run(scenario())


def test_request_human_puts_the_buyer_in_the_waiting_list(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack) as buyer:
            await buyer.send("转人工")
            await buyer.bot_replies()
            waiting = alice.get(f"{stack.gateway_url}/agent/api/queue", timeout=10).json()["waiting"]
            assert any(w["session_id"] == buyer.session_id and w["last_text"] == "转人工" for w in waiting)

    asyncio.run(scenario())


def test_metrics_reflect_what_agents_did(stack, accounts):
    alice = agent_session(stack, "alice")
    metrics = alice.get(f"{stack.gateway_url}/agent/api/metrics", timeout=10).json()
    assert metrics["auto_send_share"] is not None
    assert sum(v["accepted"] + v["edited"] + v["rejected"] for v in metrics["per_intent"].values()) >= 1
