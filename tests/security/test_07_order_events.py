"""Finding 7: an order event goes only to a conversation the buyer opened with their own token, and
the shop's API answer names no conversation."""

import asyncio

import pytest
import requests

from tests.conftest import token_for
from tests.security.helpers import Buyer, refused
from tests.servers import SHOP_KEY

pytestmark = pytest.mark.slow
B006_ORDER = "260314070391586628"


def post_event(stack, order_id, event="shipped"):
    return requests.post(
        f"{stack.gateway_url}/api/order-events", json={"order_id": order_id, "event": event},
        headers={"X-Shop-Key": SHOP_KEY}, timeout=30,
    )


def test_the_event_reaches_the_owner_and_the_answer_names_no_session(stack):
    async def scenario():
        async with Buyer(stack, token=token_for("B006")) as owner:
            await asyncio.sleep(0.3)
            reply = post_event(stack, B006_ORDER)
            await owner.bot_replies()
            return reply, owner.session_id

    reply, session_id = asyncio.run(scenario())
    assert reply.status_code == 200 and reply.json() == {"delivered": True}
    assert session_id not in reply.text


def test_an_anonymous_conversation_does_not_become_the_buyers_by_connecting_with_a_token(stack):
    async def scenario():
        async with Buyer(stack) as visitor:
            # The visitor's conversation cannot be claimed by connecting with a buyer's token later.
            assert "session_not_yours" in await refused(stack, token=token_for("B005"), session_id=visitor.session_id)
            post_event(stack, "2602220937718845120")
            await asyncio.sleep(1.5)
            return [m for m in visitor.messages if m["role"] == "bot"]

    assert asyncio.run(scenario()) == []
