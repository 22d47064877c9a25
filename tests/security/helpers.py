"""A socket.io buyer like the widget, speaking from a chosen client address."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import socketio

_addresses = itertools.count(10)


def new_ip() -> str:
    """A client address of its own (the stack believes X-Forwarded-For from 127.0.0.1)."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


class Buyer:
    def __init__(self, stack, token=None, session_id=None, ip=None, product_id=None):
        self.stack = stack
        self.session_id = session_id or str(uuid.uuid4())
        self.auth = {"session_id": self.session_id, "buyer_token": token, "product_id": product_id}
        self.headers = {"Origin": stack.gateway_url, "X-Forwarded-For": ip or new_ip()}
        self.client = socketio.AsyncClient(reconnection=False)
        self.messages = []
        self.client.on("message", self.messages.append)

    async def connect(self):
        await self.client.connect(self.stack.gateway_url, auth=self.auth, headers=self.headers, transports=["websocket"])

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *_):
        await self.client.disconnect()

    async def send(self, text, **extra):
        body = {"client_id": str(uuid.uuid4()), "text": text, **extra}
        return await self.client.call("buyer_message", body, timeout=60)

    async def bot_replies(self, count=1, timeout=30):
        for _ in range(int(timeout * 10)):
            bot = [m for m in self.messages if m["role"] == "bot" and m["text"]]
            if len(bot) >= count:
                return bot
            await asyncio.sleep(0.1)
        raise AssertionError(f"expected {count} bot replies, got {self.messages}")


async def refused(stack, **kwargs) -> str:
    """The reason the gateway refused this connection ('' when it was accepted)."""
    buyer = Buyer(stack, **kwargs)
    reasons = []
    buyer.client.on("connect_error", lambda data=None: reasons.append(str((data or {}).get("message") if isinstance(data, dict) else data)))
    try:
        await buyer.connect()
    except socketio.exceptions.ConnectionError as error:
        return " ".join(reasons) or str(error)
    await buyer.client.disconnect()
    return ""
