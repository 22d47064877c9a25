"""Runs last in this package (it stops the shared stack's action server): with the action server
down, the buyer gets the polite busy reply and waits in the agents' queue."""

import asyncio

import pytest
import requests
import yaml

from tests.conftest import ROOT
from tests.gateway.test_gateway_api import Buyer

pytestmark = pytest.mark.slow


def test_action_server_down_gives_the_busy_reply_and_queues_for_an_agent(stack):
    stack.stop_actions()
    busy = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"]["service_busy"]

    async def scenario():
        async with Buyer(stack, product_id="P001") as buyer:
            await buyer.send("这件还有货吗")
            [reply] = await buyer.bot_replies()
            return buyer.session_id, reply["text"]

    session_id, text = asyncio.run(scenario())
    assert text == busy
    assert stack.alive()
    from bot.gateway.store import GatewayStore
    from bot.review.queue import ReviewQueue

    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    waiting = [w["session_id"] for w in ReviewQueue(store.engine).waiting_for_human()]
    store.close()
    assert session_id in waiting
