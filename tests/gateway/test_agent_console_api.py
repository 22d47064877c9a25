"""The agent console's API over the real stack: routing by policy, exactly-once sends, edits
written into the Rasa tracker, rejections that become training candidates, take-over, auth."""

import asyncio
import concurrent.futures
import json
import time

import pytest
import requests
import socketio

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from tests.conftest import ROOT, token_for
from tests.gateway.test_gateway_api import Buyer
from tests.replies import said

pytestmark = pytest.mark.slow
B001_ORDERS = {o.id for o in InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml")).orders_for_buyer("B001")}
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
    ("get", "/agent/api/sessions/s-0000000001/context"),
    ("get", "/agent/api/phrases"),
    ("post", "/agent/api/phrases"),
    ("put", "/agent/api/phrases/1"),
    ("delete", "/agent/api/phrases/1"),
    ("get", "/agent/api/search?q=x"),
    ("get", "/agent/api/export?session_id=s-0000000001"),
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
            await buyer.until(lambda: any(m["role"] == "agent" for m in buyer.messages))
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


def test_a_rejected_refund_draft_withdraws_the_refund_it_announced(stack, accounts):
    from bot.shop.orders.sql import SqlOrderRepository

    alice = agent_session(stack, "alice")
    order = "260312730019846625"  # B002's wool sweater, cheaper since it was paid

    async def scenario():
        async with Buyer(stack, token=token_for("B002")) as buyer:
            await buyer.send("羊毛衫降价了能退差价吗")
            held = wait_for(lambda: pending_for(stack, alice, buyer.session_id))
            [refund_reply] = [r for r in held[0]["replies"] if r.get("response") == "utter_price_refund"]
            assert refund_reply["values"]["order_id"] == order
            first_refund = int(refund_reply["values"]["refund_id"])
            # The agent rejects it (the buyer never sees that refund number) and picks the same intent:
            # the redraft must not say "already refunded" on the strength of the rejected draft.
            reply = alice.post(
                f"{stack.gateway_url}/agent/api/suggestions/{held[0]['id']}/reject", json={"intent": "price_difference"}, timeout=30
            )
            assert reply.status_code == 200 and reply.json()["new_suggestion_id"]
            redraft = wait_for(lambda: [s for s in pending_for(stack, alice, buyer.session_id) if s["id"] == reply.json()["new_suggestion_id"]])
            responses = [r.get("response") for r in redraft[0]["replies"]]
            assert "utter_price_refund_exists" not in responses, redraft
            [again] = [r for r in redraft[0]["replies"] if r.get("response") == "utter_price_refund"]
            assert again["values"]["amount"] == "70" and int(again["values"]["refund_id"]) != first_refund
            assert all(m["role"] != "bot" or "退差价" not in m["text"] for m in buyer.messages)  # nothing sent yet
            return first_refund, int(again["values"]["refund_id"])

    first_refund, second_refund = asyncio.run(scenario())
    shop = SqlOrderRepository(f"sqlite:///{stack.db_path}")
    try:
        assert [r.id for r in shop.price_refunds_for_order(order)] == [second_refund]
        assert not shop.withdraw_price_refund(first_refund)  # already withdrawn
    finally:
        shop.close()


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
            await buyer.until(lambda: any(m["role"] == "agent" for m in buyer.messages))
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


def test_the_buyer_list_context_and_a_late_reply_quoting_the_question(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack, token=token_for("B001"), product_id="P002") as buyer:
            await buyer.send("我想退货")
            held = wait_for(lambda: pending_for(stack, alice, buyer.session_id))
            queue = alice.get(f"{stack.gateway_url}/agent/api/queue", timeout=10).json()
            [row] = [r for r in queue["conversations"] if r["session_id"] == buyer.session_id]
            assert row["buyer_name"] == "张小花" and row["unread"] == 1 and row["suggestion_ids"] == [held[0]["id"]]
            assert row["sla"] == "green" and row["intent"] == "request_return"
            labels = alice.get(f"{stack.gateway_url}/agent/api/intents", timeout=10).json()["labels"]
            assert labels["request_return"] == "申请退换货"
            context = alice.get(f"{stack.gateway_url}/agent/api/sessions/{buyer.session_id}/context", timeout=10).json()
            assert context["product"]["product_id"] == "P002"
            assert context["orders"] and all(o["order_id"] in B001_ORDERS for o in context["orders"])
            assert alice.post(f"{stack.gateway_url}/agent/api/suggestions/{held[0]['id']}/send", timeout=30).ok
            await asyncio.sleep(1.0)
            quoted = [m for m in buyer.messages if m.get("quote")]
            assert quoted and quoted[0]["quote"]["text"] == "我想退货"
            csv_reply = alice.get(f"{stack.gateway_url}/agent/api/export?format=csv&session_id={buyer.session_id}", timeout=10)
            assert csv_reply.status_code == 200 and "attachment" in csv_reply.headers["Content-Disposition"]
            assert "我想退货" in csv_reply.content.decode("utf-8-sig") and "张小花" in csv_reply.content.decode("utf-8-sig")
            found = alice.get(f"{stack.gateway_url}/agent/api/search", params={"q": "张小花"}, timeout=10).json()
            assert buyer.session_id in [c["session_id"] for c in found["conversations"]]

    asyncio.run(scenario())


def test_a_visitors_conversation_has_no_orders_beside_it(stack, accounts):
    alice = agent_session(stack, "alice")

    async def scenario():
        async with Buyer(stack) as buyer:
            await buyer.send("转人工")
            await buyer.bot_replies()
            context = alice.get(f"{stack.gateway_url}/agent/api/sessions/{buyer.session_id}/context", timeout=10).json()
            assert context == {"buyer_id": None, "orders": [], "product": None}

    asyncio.run(scenario())


def test_quick_phrases_are_kept_in_the_database_and_checked(stack, accounts):
    alice = agent_session(stack, "alice")
    url = f"{stack.gateway_url}/agent/api/phrases"
    added = alice.post(url, json={"title": "发货提醒", "text": "亲，您的订单{order_id}由{courier}发出啦~"}, timeout=10)
    assert added.status_code == 201
    phrase = added.json()["phrase"]
    assert [p["title"] for p in alice.get(url, timeout=10).json()["phrases"]].count("发货提醒") == 1
    wrong = alice.post(url, json={"title": "坏的", "text": "{secret}"}, timeout=10)
    assert wrong.status_code == 400 and "不认识的变量" in wrong.json()["message"]
    cross_site = alice.post(url, json={"title": "x", "text": "y"}, headers={"Origin": "https://evil.example"}, timeout=10)
    assert cross_site.status_code == 403
    changed = alice.put(f"{url}/{phrase['id']}", json={"title": "发货提醒", "text": "亲，已经发货啦"}, timeout=10)
    assert changed.ok and changed.json()["phrase"]["text"] == "亲，已经发货啦"
    assert alice.delete(f"{url}/{phrase['id']}", timeout=10).ok
    assert alice.delete(f"{url}/{phrase['id']}", timeout=10).status_code == 404


def test_search_and_export_refuse_bad_input_politely(stack, accounts):
    alice = agent_session(stack, "alice")
    base = stack.gateway_url
    assert alice.get(f"{base}/agent/api/search", timeout=10).json()["message"] == "请输入要搜索的内容，或选择日期"
    bad = alice.get(f"{base}/agent/api/search", params={"from": "2026-13-40"}, timeout=10)
    assert bad.status_code == 400 and "日期" in bad.json()["message"]
    assert alice.get(f"{base}/agent/api/export", params={"format": "xls", "session_id": "s-1"}, timeout=10).status_code == 400
    too_long = alice.get(f"{base}/agent/api/export", params={"from": "2026-01-01", "to": "2026-12-31"}, timeout=10)
    assert too_long.status_code == 400 and "92" in too_long.json()["message"]
    jsonl = alice.get(f"{base}/agent/api/export", params={"format": "jsonl", "from": "2026-12-01", "to": "2026-12-31"}, timeout=10)
    assert jsonl.status_code == 200
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert all(set(r) >= {"time", "session_id", "role", "text"} for r in rows)
