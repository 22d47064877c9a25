"""Talks to the Rasa server's shop channel and conversation API."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import aiohttp

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    pass


class RasaClient:
    def __init__(self, base_url: str, timeout_seconds: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.http: Optional[aiohttp.ClientSession] = None

    async def open(self) -> None:
        self.http = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def _post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        try:
            async with self.http.post(f"{self.base_url}{path}", json=body) as reply:
                if reply.status != 200:
                    raise RasaUnavailable(f"{path}: HTTP {reply.status}")
                return await reply.json()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise RasaUnavailable(f"{path}: {error}") from error

    async def send(self, session_id: str, text: str, metadata: Dict[str, Any]) -> Dict[str, Any]:
        """{"messages": [...], "parse": [...]} for one buyer message."""
        return await self._post("/webhooks/shop/webhook", {"sender": session_id, "message": text, "metadata": metadata})

    async def trigger(self, session_id: str, intent: str, entities: Dict[str, Any]) -> List[Dict[str, Any]]:
        reply = await self._post(
            f"/conversations/{session_id}/trigger_intent",
            {"name": intent, "entities": entities},
        )
        return reply.get("messages", [])

    async def append_bot_event(self, session_id: str, text: str, metadata: Dict[str, Any]) -> None:
        """Writes a message a human sent into the conversation's tracker, so the dialogue stays true."""
        await self._post(
            f"/conversations/{session_id}/tracker/events",
            {"event": "bot", "text": text, "metadata": metadata},
        )

    async def healthy(self) -> bool:
        try:
            async with self.http.get(f"{self.base_url}/status") as reply:
                return reply.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
