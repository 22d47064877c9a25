"""Finding 11: odd input gets a polite JSON answer or ack everywhere; photos are decoded and
re-encoded before they are stored."""

import asyncio
import io
import uuid

import pytest
import requests
from PIL import Image, PngImagePlugin

from tests.security.helpers import Buyer, new_ip

pytestmark = pytest.mark.slow


def test_odd_socket_messages_get_a_polite_ack(stack):
    async def scenario():
        async with Buyer(stack) as buyer:
            surrogate = await buyer.send("你好\ud800")
            nothing = await buyer.client.call("buyer_message", timeout=10)
            number = await buyer.client.call("buyer_message", {"client_id": str(uuid.uuid4()), "text": 5}, timeout=10)
            return surrogate, nothing, number

    for ack in asyncio.run(scenario()):
        assert ack["ok"] is False and ack["message"].startswith("亲"), ack


@pytest.mark.parametrize("body", [{"sender": "x", "message": 5}, {"sender": "x", "message": ["a"]}, {"sender": "x", "message": None}, [], None, {"message": "hi"}])
def test_odd_rest_bodies_get_a_json_400(stack, body):
    reply = requests.post(stack.rest_url, data=__import__("json").dumps(body), headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 400 and "error" in reply.json(), reply.text


def upload(stack, body, name="a.png"):
    return requests.post(
        f"{stack.gateway_url}/api/upload", data={"session_id": str(uuid.uuid4())}, files={"photo": (name, body)},
        headers={"X-Forwarded-For": new_ip()}, timeout=30,
    )


def test_a_too_large_upload_gets_a_json_413(stack):
    reply = upload(stack, b"\x89PNG\r\n\x1a\n" + b"\x00" * (6 * 1024 * 1024))
    assert reply.status_code == 413
    assert reply.headers["content-type"].startswith("application/json"), reply.text[:200]


def test_a_photo_is_decoded_and_stored_without_its_metadata(stack):
    assert upload(stack, b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10).status_code == 415
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script> GPS 22.54N 113.95E")
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(out, format="PNG", pnginfo=info)
    reply = upload(stack, out.getvalue())
    assert reply.status_code == 200, reply.text
    stored = requests.get(stack.gateway_url + reply.json()["url"], timeout=10)
    assert stored.status_code == 200 and b"<script>" not in stored.content and b"GPS" not in stored.content
    assert Image.open(io.BytesIO(stored.content)).size == (16, 16)
