"""Talks to the Rasa server's shop channel and conversation API."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

import aiohttp

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


RETRYABLE_STATUSES = {502, 503, 504}  # a replica died or a store is briefly down
RETRY_AFTER_SECONDS = 0.5


class RasaClient:
    def __init__(self, base_url: str, timeout_seconds: float = 30, max_in_flight: int = 4, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        # Rasa's HTTP API (conversations, status) needs RASA_AUTH_TOKEN; its channels do not.
        self.api_params = {"token": token} if token else {}
        # At most this many buyer turns at Rasa at once; the others wait here in arrival order.
        # Rasa's CPU-bound event loop serves many concurrent requests in no fair order, so under
        # load some turns would wait past the timeout while later ones are answered.
        self.turns = asyncio.Semaphore(max_in_flight)
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.http: Optional[aiohttp.ClientSession] = None

    async def open(self) -> None:
        self.http = aiohttp.ClientSession(timeout=self.timeout)

    def _session(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise RuntimeError("RasaClient.open() was not called (the gateway opens it in a start listener)")
        return self.http

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def _post(self, path: str, body: Dict[str, Any], query: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        params = {**(self.api_params if path.startswith("/conversations/") else {}), **(query or {})}
        try:
            async with self._session().post(f"{self.base_url}{path}", json=body, params=params) as reply:
                if reply.status != 200:
                    raise RasaUnavailable(f"{path}: HTTP {reply.status}", reply.status in RETRYABLE_STATUSES)
                return await reply.json()
        except asyncio.TimeoutError as error:
            # Maybe still being handled: sending it again could answer it twice.
            raise RasaUnavailable(f"{path}: no answer in time", False) from error
        except (aiohttp.ClientError, OSError) as error:
            raise RasaUnavailable(f"{path}: {error}", True) from error

    async def send(
        self, session_id: str, text: str, metadata: Dict[str, Any], message_id: Optional[str] = None
    ) -> Dict[str, Any]:
        """{"messages": [...], "parse": [...]} for one buyer message. When the answer is lost (the
        Rasa replica died, the load balancer answered 502/503/504) the message is sent once more
        with its id, through another replica: the shop channel answers a message it already
        handled from the tracker instead of handling it twice."""
        body = {"sender": session_id, "message": text, "metadata": metadata}
        if message_id:
            body["message_id"] = message_id
        async with self.turns:
            try:
                return await self._post("/webhooks/shop/webhook", body)
            except RasaUnavailable as error:
                if not message_id or not error.retryable:
                    raise
                logger.warning("retrying message %s of %s after: %s", message_id, session_id, error)
                await asyncio.sleep(RETRY_AFTER_SECONDS)
                return await self._post("/webhooks/shop/webhook", dict(body, retry=True))

    async def trigger(self, session_id: str, intent: str, entities: Dict[str, Any]) -> List[Dict[str, Any]]:
        # The shop channel's collector keeps each message's reply details (template, values), as
        # for a buyer's message: the agent console shows them and a rejected draft's records are
        # found by them.
        reply = await self._post(
            f"/conversations/{session_id}/trigger_intent",
            {"name": intent, "entities": entities},
            {"output_channel": "shop"},
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
            async with self._session().get(f"{self.base_url}/status", params=self.api_params) as reply:
                return reply.status == 200
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            return False
