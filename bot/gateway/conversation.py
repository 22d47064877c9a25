"""One buyer turn through the gateway: store, forward to Rasa, store and push the replies."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.store import GatewayStore

logger = logging.getLogger(__name__)

Emit = Callable[[str, Dict[str, Any]], Awaitable[None]]


def bot_messages_from_rasa(replies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa's collected output -> (text, extra) pairs the widget renders."""
    converted = []
    for reply in replies:
        extra: Dict[str, Any] = {}
        if reply.get("buttons"):
            extra["buttons"] = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in reply["buttons"]
            ]
        if reply.get("image"):
            extra["image"] = str(reply["image"])
        custom = reply.get("custom") or {}
        if isinstance(custom, dict) and isinstance(custom.get("card"), dict):
            extra["card"] = custom["card"]
        if reply.get("text") or extra:
            converted.append({"text": str(reply.get("text") or ""), "extra": extra})
    return converted


class Conversations:
    def __init__(self, store: GatewayStore, rasa: RasaClient, strings: Dict[str, str]) -> None:
        self.store = store
        self.rasa = rasa
        self.strings = strings

    async def buyer_turn(
        self,
        session_id: str,
        text: str,
        metadata: Dict[str, Any],
        emit: Emit,
        rasa_text: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Forwards one stored buyer message to Rasa; stores and emits each reply in order."""
        await emit("typing", {"on": True})
        try:
            reply = await self.rasa.send(session_id, rasa_text if rasa_text is not None else text, metadata)
            produced = bot_messages_from_rasa(reply.get("messages", []))
        except RasaUnavailable:
            logger.exception("Rasa unavailable for session %s", session_id)
            produced = [{"text": self.strings["service_busy"], "extra": {}}]
        sent = []
        for item in produced:
            stored = self.store.add_message(session_id, "bot", item["text"], item["extra"])
            await emit("message", stored)
            sent.append(stored)
        await emit("typing", {"on": False})
        return sent

    async def order_event(self, session_id: str, intent: str, entities: Dict[str, Any], emit: Emit) -> List[Dict[str, Any]]:
        try:
            produced = bot_messages_from_rasa(await self.rasa.trigger(session_id, intent, entities))
        except RasaUnavailable:
            logger.exception("Rasa unavailable for an order event in %s", session_id)
            return []
        sent = []
        for item in produced:
            stored = self.store.add_message(session_id, "bot", item["text"], item["extra"])
            await emit("message", stored)
            sent.append(stored)
        return sent
