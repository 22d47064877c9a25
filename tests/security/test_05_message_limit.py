"""Finding 5: one message-length limit, defined once, enforced before any NLU in every channel."""

import asyncio
import uuid

import pytest
import requests

from bot.settings import MAX_MESSAGE_CHARS
from tests.security.helpers import Buyer

pytestmark = pytest.mark.slow


def test_a_huge_rest_message_is_cut_to_the_limit_before_nlu(stack):
    sender = str(uuid.uuid4())
    reply = requests.post(stack.rest_url, json={"sender": sender, "message": "包邮吗" * 33_334}, timeout=60)
    assert reply.status_code == 200
    [user] = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert len(user["text"]) == MAX_MESSAGE_CHARS


def test_the_shop_channel_cuts_to_the_same_limit(stack):
    sender = str(uuid.uuid4())
    stack.shop_say(sender, "好" * 100_000)
    users = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert users and all(len(u["text"]) <= MAX_MESSAGE_CHARS for u in users)


def test_the_widget_and_the_socket_use_the_same_limit(stack):
    strings = requests.get(f"{stack.gateway_url}/widget/strings", timeout=10).json()
    assert strings["max_chars"] == MAX_MESSAGE_CHARS

    async def scenario():
        async with Buyer(stack) as buyer:
            too_long = await buyer.send("好" * (MAX_MESSAGE_CHARS + 1))
            fits = await buyer.send("好" * MAX_MESSAGE_CHARS)
            return too_long, fits

    too_long, fits = asyncio.run(scenario())
    assert too_long["error"] == "too_long" and f"最多{MAX_MESSAGE_CHARS}个字" in too_long["message"]
    assert fits["ok"] is True
