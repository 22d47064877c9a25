"""Finding 6: a conversation belongs to one identity; /api/history and the socket room check it."""

import asyncio

import pytest
import requests

from tests.conftest import token_for
from tests.security.helpers import Buyer, refused

pytestmark = pytest.mark.slow


def test_a_buyers_conversation_is_only_opened_and_read_with_that_buyers_token(stack):
    async def scenario():
        async with Buyer(stack, token=token_for("B001")) as owner:
            assert (await owner.send("你好"))["ok"]
            await owner.bot_replies()
            session = owner.session_id
            # Another buyer, or a visitor who is not logged in, cannot join the room.
            assert "session_not_yours" in await refused(stack, token=token_for("B002"), session_id=session)
            assert "session_not_yours" in await refused(stack, session_id=session)
            # The owner comes back (a new token of the same buyer) and gets in.
            assert await refused(stack, token=token_for("B001"), session_id=session) == ""
            return session

    session = asyncio.run(scenario())
    url = f"{stack.gateway_url}/api/history"
    assert requests.get(url, params={"session_id": session}, timeout=10).status_code == 403
    other = requests.get(url, params={"session_id": session}, headers={"X-Buyer-Token": token_for("B002")}, timeout=10)
    assert other.status_code == 403 and "你好" not in other.text
    mine = requests.get(url, params={"session_id": session}, headers={"X-Buyer-Token": token_for("B001")}, timeout=10)
    assert mine.status_code == 200 and [m["text"] for m in mine.json()["messages"]][0] == "你好"


def test_an_anonymous_conversation_is_not_taken_over_by_a_login(stack):
    async def scenario():
        async with Buyer(stack) as visitor:
            assert (await visitor.send("你好"))["ok"]
            return visitor.session_id

    session = asyncio.run(scenario())
    assert "session_not_yours" in asyncio.run(refused(stack, token=token_for("B002"), session_id=session))
