"""The socket.io server as the gateway's parts use it: emit into one buyer conversation's room, and
tell every agent console (the /agent namespace). Created before the parts and passed to each."""

from __future__ import annotations

from typing import Any, Dict

import socketio

from bot.gateway.conversation import Emit
from bot.settings import Settings

AGENT_NAMESPACE = "/agent"


def socket_server(settings: Settings) -> socketio.AsyncServer:
    # Several gateways share their socket.io rooms through Redis (an emit reaches a buyer connected to
    # any gateway); one gateway keeps them in memory.
    manager = socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel) if settings.redis_url else None
    return socketio.AsyncServer(
        async_mode="sanic",
        cors_allowed_origins=settings.allowed_origins,
        ping_interval=10,
        ping_timeout=10,
        client_manager=manager,
    )


class LiveUpdates:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    def room_emitter(self, session_id: str) -> Emit:
        async def emit(event: str, data: Dict[str, Any]) -> None:
            await self.sio.emit(event, data, room=session_id)

        return emit

    async def notify_agents(self, event: str, data: Dict[str, Any]) -> None:
        await self.sio.emit(event, data, namespace=AGENT_NAMESPACE)

    def agents_connected(self) -> bool:
        """Whether an agent console is connected to this gateway's /agent namespace."""
        return any(True for _ in self.sio.manager.get_participants(AGENT_NAMESPACE, None))
