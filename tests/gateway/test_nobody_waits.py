"""Nobody waits forever, through the real gateway: with every reply held for review (confidence
threshold above 1), a safe draft reaches the buyer when no agent acts, a risky one is replaced
by the honest handoff message with the service hours and stays in the queue."""

import asyncio
import time

import pytest
import yaml

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from tests.conftest import ROOT, SECRET, token_for
from tests.gateway.test_gateway_api import Buyer
from tests.replies import said
from tests.servers import RunningBot

pytestmark = pytest.mark.slow

TIMEOUT = 3


@pytest.fixture(scope="module")
def waiting_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("waiting")
    routing = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))
    routing.update(confidence_threshold=1.01, hold_notice_after_seconds=1, agent_timeout_seconds=TIMEOUT)
    (workdir / "routing.yml").write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    running = RunningBot(workdir, SECRET, gateway=True)
    running.env["ROUTING_POLICY_FILE"] = str(workdir / "routing.yml")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gateway_db(waiting_stack):
    store = GatewayStore(f"sqlite:///{waiting_stack.workdir / 'gateway.db'}")
    yield store.engine
    store.close()


def bot_texts(buyer):
    return [m["text"] for m in buyer.messages if m["role"] == "bot" and m["text"]]


async def wait_for_text(buyer, predicate, timeout=20):
    for _ in range(int(timeout * 10)):
        if any(predicate(t) for t in bot_texts(buyer)):
            return bot_texts(buyer)
        await asyncio.sleep(0.1)
    raise AssertionError(f"not received: {bot_texts(buyer)}")


def test_with_no_agent_online_a_held_stock_answer_reaches_the_buyer(waiting_stack, gateway_db):
    async def scenario():
        async with Buyer(waiting_stack, product_id="P001") as buyer:
            await buyer.send("这件还有货吗")
            started = time.monotonic()
            texts = await wait_for_text(buyer, lambda t: said(t, "utter_stock_available_product", product="纯棉T恤"))
            assert time.monotonic() - started < TIMEOUT  # nobody online: no need to wait the timeout
            return buyer.session_id, texts

    session_id, _ = asyncio.run(scenario())
    queue = ReviewQueue(gateway_db)
    assert [s for s in queue.pending() if s["session_id"] == session_id] == []


def test_a_held_return_gets_an_honest_handoff_with_service_hours_and_stays_queued(waiting_stack, gateway_db):
    hours = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))["service_hours"]

    async def scenario():
        async with Buyer(waiting_stack, token=token_for("B001")) as buyer:
            await buyer.send("我要退货")
            texts = await wait_for_text(buyer, lambda t: hours in t)
            assert not any("退换货申请" in t or "订单" in t for t in texts), texts  # the draft itself is not sent
            return buyer.session_id

    session_id = asyncio.run(scenario())
    queue = ReviewQueue(gateway_db)
    assert [s["intent"] for s in queue.pending() if s["session_id"] == session_id] == ["request_return"]
    assert session_id in [w["session_id"] for w in queue.waiting_for_human()]


def test_with_an_agent_signed_in_the_safe_draft_goes_out_after_the_timeout(waiting_stack, gateway_db):
    accounts = AgentAccounts(gateway_db)
    accounts.add("carol", "review-pass-123")
    token = accounts.login("carol", "review-pass-123")

    async def scenario():
        async with Buyer(waiting_stack, product_id="P008") as buyer:
            await buyer.send("这件还有货吗")
            started = time.monotonic()
            await wait_for_text(buyer, lambda t: said(t, "utter_stock_available_product", product="卫衣"))
            assert time.monotonic() - started >= TIMEOUT - 0.5  # the agent had their chance first

    try:
        asyncio.run(scenario())
    finally:
        accounts.logout(token)
