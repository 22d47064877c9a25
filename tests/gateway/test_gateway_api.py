"""The gateway over real socket.io and HTTP, in front of the real Rasa and action servers."""

import asyncio
import uuid

import pytest
import requests
import socketio

from bot.settings import MAX_MESSAGE_CHARS
from tests.conftest import token_for
from tests.replies import said
from tests.servers import SHOP_KEY

pytestmark = pytest.mark.slow
def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (250, 200, 10)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()  # a real picture: uploads are decoded and re-encoded


class Buyer:
    """A socket.io client like the widget: collects what the gateway pushes."""

    def __init__(self, stack, token=None, product_id=None, origin=None, session_id=None):
        self.stack = stack
        self.session_id = session_id or str(uuid.uuid4())
        self.auth = {"session_id": self.session_id, "buyer_token": token, "product_id": product_id}
        self.headers = {"Origin": origin or stack.gateway_url}
        self.client = socketio.AsyncClient(reconnection=False)
        self.messages, self.typing = [], []
        self.client.on("message", self.messages.append)
        self.client.on("typing", self.typing.append)

    async def __aenter__(self):
        await self.client.connect(self.stack.gateway_url, auth=self.auth, headers=self.headers, transports=["websocket"])
        return self

    async def __aexit__(self, *_):
        await self.client.disconnect()

    async def send(self, text, client_id=None, **extra):
        body = {"client_id": client_id or str(uuid.uuid4()), "text": text, **extra}
        return await self.client.call("buyer_message", body, timeout=60)

    async def until(self, predicate, timeout=15):
        """Waits for what the gateway pushes to satisfy ``predicate`` (no fixed sleep to race)."""
        for _ in range(int(timeout * 10)):
            if predicate():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"not pushed in {timeout} s: {self.messages}")

    async def bot_replies(self, count=1, timeout=30):
        """Bot messages with text (cards travel as messages of their own)."""
        for _ in range(int(timeout * 10)):
            bot = [m for m in self.messages if m["role"] == "bot" and m["text"]]
            if len(bot) >= count:
                return bot
            await asyncio.sleep(0.1)
        raise AssertionError(f"expected {count} bot replies, got {self.messages}")


def run(coro):
    return asyncio.run(coro)


def test_widget_assets_are_served(stack):
    for path in ("/widget/widget.js", "/widget/widget.css", "/widget/vendor/socket.io.min.js"):
        assert requests.get(stack.gateway_url + path, timeout=10).status_code == 200, path
    strings = requests.get(stack.gateway_url + "/widget/strings", timeout=10).json()
    assert strings["title"] == "亲客服"


def test_buyer_message_is_answered_by_the_bot_with_typing_indicator(stack):
    async def scenario():
        async with Buyer(stack, product_id="P001") as buyer:
            ack = await buyer.send("这件还有货吗")
            assert ack["ok"] is True
            [reply] = await buyer.bot_replies()
            assert said(reply["text"], "utter_stock_available_product", product="纯棉T恤")
            await buyer.until(lambda: any(m.get("card") for m in buyer.messages))
            await asyncio.sleep(0.5)  # a second card would have come by now
            cards = [m["card"] for m in buyer.messages if m.get("card")]
            assert len(cards) == 1, buyer.messages
            [card] = cards
            assert card["name"] == "纯棉T恤" and card["stock_label"] == "有货"
            assert buyer.messages[0]["role"] == "buyer" and buyer.messages[0]["text"] == "这件还有货吗"
            await buyer.until(lambda: {"on": True} in buyer.typing and buyer.typing[-1] == {"on": False})

    run(scenario())


def test_resent_message_is_processed_once(stack):
    async def scenario():
        async with Buyer(stack) as buyer:
            client_id = str(uuid.uuid4())
            first = await buyer.send("你好", client_id=client_id)
            second = await buyer.send("你好", client_id=client_id)
            assert first["ok"] and second == {"ok": True, "duplicate": True}
            await buyer.bot_replies()
            await asyncio.sleep(1.0)
            history = requests.get(f"{stack.gateway_url}/api/history", params={"session_id": buyer.session_id}, timeout=10).json()
            roles = [m["role"] for m in history["messages"]]
            assert roles.count("buyer") == 1 and roles.count("bot") == 1

    run(scenario())


def test_rate_limit_empty_and_too_long_get_polite_errors(stack):
    async def scenario():
        async with Buyer(stack) as buyer:
            empty = await buyer.send("   ")
            assert empty["ok"] is False and empty["error"] == "empty" and "亲" in empty["message"]
            long = await buyer.send("好" * (MAX_MESSAGE_CHARS + 1))
            assert long["error"] == "too_long" and str(MAX_MESSAGE_CHARS) in long["message"]
            acks = [await buyer.send(f"你好{i}") for i in range(8)]
            limited = [a for a in acks if not a["ok"]]
            assert limited and limited[0]["error"] == "rate_limited" and "稍等" in limited[0]["message"]

    run(scenario())


def test_history_survives_and_is_per_session(stack):
    async def scenario():
        async with Buyer(stack) as buyer:
            await buyer.send("你好")
            await buyer.bot_replies()
            return buyer.session_id

    session_id = run(scenario())
    history = requests.get(f"{stack.gateway_url}/api/history", params={"session_id": session_id}, timeout=10).json()
    assert [m["role"] for m in history["messages"]] == ["buyer", "bot"]
    other = requests.get(f"{stack.gateway_url}/api/history", params={"session_id": str(uuid.uuid4())}, timeout=10).json()
    assert other["messages"] == []
    assert requests.get(f"{stack.gateway_url}/api/history", params={"session_id": "x"}, timeout=10).status_code == 400


def test_photo_upload_checks_type_and_size(stack):
    session = str(uuid.uuid4())
    ok = requests.post(f"{stack.gateway_url}/api/upload", data={"session_id": session}, files={"photo": ("a.png", PNG)}, timeout=10)
    assert ok.status_code == 200 and ok.json()["url"].startswith("/uploads/")
    stored = requests.get(stack.gateway_url + ok.json()["url"], timeout=10).content
    assert stored.startswith(b"\x89PNG") and __import__("PIL.Image").Image.open(__import__("io").BytesIO(stored)).getpixel((0, 0)) == (250, 200, 10)
    text = requests.post(f"{stack.gateway_url}/api/upload", data={"session_id": session}, files={"photo": ("a.png", b"<script>")}, timeout=10)
    assert text.status_code == 415
    big = requests.post(
        f"{stack.gateway_url}/api/upload", data={"session_id": session}, files={"photo": ("a.png", PNG + b"\x00" * (5 * 1024 * 1024))}, timeout=30
    )
    assert big.status_code in (413,)


def test_photo_message_is_acknowledged_and_kept(stack):
    session = str(uuid.uuid4())
    url = requests.post(f"{stack.gateway_url}/api/upload", data={"session_id": session}, files={"photo": ("a.png", PNG)}, timeout=10).json()["url"]

    async def scenario():
        async with Buyer(stack, session_id=session) as buyer:
            assert (await buyer.send("", image=url))["ok"]
            await buyer.bot_replies()

    run(scenario())
    history = requests.get(f"{stack.gateway_url}/api/history", params={"session_id": session}, timeout=10).json()["messages"]
    assert history[0]["image"] == url


def test_order_event_needs_the_shop_key(stack):
    body = {"order_id": "260317339012845567", "event": "shipped"}
    assert requests.post(f"{stack.gateway_url}/api/order-events", json=body, timeout=10).status_code == 401
    wrong = requests.post(f"{stack.gateway_url}/api/order-events", json=body, headers={"X-Shop-Key": "nope"}, timeout=10)
    assert wrong.status_code == 401


def test_order_event_reaches_the_open_widget_at_once(stack):
    async def scenario():
        async with Buyer(stack, token=token_for("B001")) as buyer:
            await asyncio.sleep(0.3)
            reply = await asyncio.to_thread(
                requests.post,
                f"{stack.gateway_url}/api/order-events",
                json={"order_id": "260317339012845567", "event": "shipped"},
                headers={"X-Shop-Key": SHOP_KEY},
                timeout=30,
            )
            assert reply.json()["delivered"] is True
            [message] = await buyer.bot_replies()
            assert said(message["text"], "utter_event_shipped", order_id="260317339012845567", courier="韵达")

    run(scenario())


def test_order_event_for_an_offline_buyer_is_shown_at_the_next_visit(stack):
    reply = requests.post(
        f"{stack.gateway_url}/api/order-events",
        json={"order_id": "260318290046571183", "event": "shipped"},
        headers={"X-Shop-Key": SHOP_KEY},
        timeout=30,
    )
    assert reply.json() == {"delivered": False, "queued": True}  # B005 never opened the widget

    async def scenario():
        async with Buyer(stack, token=token_for("B005")) as buyer:
            [message] = await buyer.bot_replies()
            assert said(message["text"], "utter_event_shipped", order_id="260318290046571183")

    run(scenario())


def test_foreign_origin_is_refused(stack):
    async def scenario():
        with pytest.raises(socketio.exceptions.ConnectionError):
            async with Buyer(stack, origin="http://evil.example"):
                pass

    run(scenario())


def test_invalid_session_id_is_refused(stack):
    async def scenario():
        buyer = Buyer(stack)
        buyer.auth["session_id"] = "../../etc"
        with pytest.raises(socketio.exceptions.ConnectionError):
            async with buyer:
                pass

    run(scenario())
