"""A socket.io buyer like the widget, speaking from a chosen client address."""

from __future__ import annotations

import itertools

import socketio

from tests.gateway.test_gateway_api import Buyer as WidgetBuyer

_addresses = itertools.count(10)


def new_ip() -> str:
    """A client address of its own (the stack believes X-Forwarded-For from 127.0.0.1)."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


class Buyer(WidgetBuyer):
    """The widget's socket.io buyer, from a client address of its own."""

    def __init__(self, stack, token=None, session_id=None, ip=None, product_id=None):
        super().__init__(stack, token=token, product_id=product_id, session_id=session_id)
        self.headers["X-Forwarded-For"] = ip or new_ip()

    async def connect(self):
        await self.client.connect(self.stack.gateway_url, auth=self.auth, headers=self.headers, transports=["websocket"])

    async def __aenter__(self):
        await self.connect()
        return self


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
