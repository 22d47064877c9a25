"""Finding 8: limits per buyer and per client address, so new session ids buy nothing; uploads are
limited too and expire with the retention setting."""

import asyncio
import io
import os
import time
import uuid

import pytest
import requests
from PIL import Image

from bot.gateway.security import remove_old_uploads
from tests.conftest import token_for
from tests.security.conftest import IP_BURST, UNTRUSTED_IP_BURST
from tests.security.helpers import Buyer, new_ip

pytestmark = pytest.mark.slow


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def one_message_per_new_session(stack, count, token=None, ip=None):
    acks = []
    for _ in range(count):
        async with Buyer(stack, token=token, ip=ip) as buyer:
            acks.append(await buyer.send("你好"))
    return acks


def test_a_buyer_rotating_session_ids_is_still_limited(stack):
    acks = asyncio.run(one_message_per_new_session(stack, 8, token=token_for("B004")))
    errors = [a.get("error") for a in acks]
    assert errors[:5] == [None] * 5 and "rate_limited" in errors[5:], acks
    assert "亲" in next(a["message"] for a in acks if a.get("error") == "rate_limited")


def test_one_address_rotating_session_ids_is_limited_and_another_is_not(stack):
    address = new_ip()
    acks = asyncio.run(one_message_per_new_session(stack, IP_BURST + 2, ip=address))
    assert [a.get("ok") for a in acks[:IP_BURST]] == [True] * IP_BURST
    assert acks[-1].get("error") == "rate_limited"
    [other] = asyncio.run(one_message_per_new_session(stack, 1, ip=new_ip()))
    assert other["ok"] is True


def test_uploads_are_limited_per_conversation(stack):
    session = str(uuid.uuid4())
    headers = {"X-Forwarded-For": new_ip()}
    statuses = [
        requests.post(
            f"{stack.gateway_url}/api/upload", data={"session_id": session}, files={"photo": ("a.png", png())},
            headers=headers, timeout=10,
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429, statuses


def test_x_forwarded_for_from_an_untrusted_peer_buys_nothing(shop_without_demo):
    statuses = [
        requests.post(
            f"{shop_without_demo.gateway_url}/api/upload", data={"session_id": str(uuid.uuid4())},
            files={"photo": ("a.png", png())}, headers={"X-Forwarded-For": new_ip()}, timeout=10,
        ).status_code
        for _ in range(UNTRUSTED_IP_BURST + 1)
    ]
    assert statuses == [200] * UNTRUSTED_IP_BURST + [429], statuses


def test_uploads_older_than_the_retention_are_deleted(tmp_path):
    old, new = tmp_path / ("a" * 32 + ".png"), tmp_path / ("b" * 32 + ".png")
    old.write_bytes(png())
    new.write_bytes(png())
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    assert remove_old_uploads(tmp_path, 30) == 1
    assert not old.exists() and new.exists()
