"""One buyer turn through the gateway: forward to Rasa, then send the replies at once or hold them
for an agent, as the routing policy says; and what agents do with held replies."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.gateway.db_runner import DbRunner
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.store import GatewayStore
from bot.reply_details import ReplyDetails
from bot.review.queue import AlreadyHandled, ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.review.withdrawals import withdraw_announced_records
from bot.shop.orders.repository import OrderRepository, RepositoryUnavailable

logger = logging.getLogger(__name__)

Emit = Callable[[str, Dict[str, Any]], Awaitable[None]]


def bot_messages_from_rasa(reply: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Rasa's collected output (each message with its template, values and sources when known,
    bot/reply_details.py) -> replies the widget renders and the agent console explains."""
    converted = []
    for message in reply.get("messages") or []:
        item: Dict[str, Any] = {"text": str(message.get("text") or "")}
        if message.get("buttons"):
            item["buttons"] = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in message["buttons"]
            ]
        if message.get("image"):
            item["image"] = str(message["image"])
        custom = message.get("custom") or {}
        if isinstance(custom, dict) and isinstance(custom.get("card"), dict):
            item["card"] = custom["card"]
        details = ReplyDetails.from_metadata(message)
        if details is not None:
            item.update(details.to_reply_fields())
        if item["text"] or item.get("card") or item.get("image"):
            converted.append(item)
    return converted


def widget_extra(reply: Dict[str, Any]) -> Dict[str, Any]:
    return {k: reply[k] for k in ("buttons", "card", "image", "quote") if reply.get(k)}


class Conversations:
    def __init__(
        self,
        store: GatewayStore,
        rasa: RasaClient,
        queue: ReviewQueue,
        routing: RoutingPolicy,
        strings: Dict[str, str],
        notify_agents: Callable[[str, Dict[str, Any]], Awaitable[None]],
        run_db: Optional[Callable[..., Awaitable[Any]]] = None,
        agents_online: Optional[Callable[[], Any]] = None,
        orders: Optional[OrderRepository] = None,
    ) -> None:
        self.store = store
        # The shop's records (return requests, price refunds) a rejected draft announced are withdrawn.
        self.orders = orders
        self.rasa = rasa
        self.queue = queue
        self.routing = routing
        self.strings = strings
        self.notify_agents = notify_agents
        # Every store and queue call goes through run_db: off the event loop.
        self.db = run_db or DbRunner()
        if agents_online is not None:
            self.agents_online = agents_online

    async def deliver(
        self, session_id: str, replies: List[Dict[str, Any]], emit: Emit, role: str = "bot"
    ) -> List[Dict[str, Any]]:
        sent = await self.db(
            self.store.add_messages, session_id, role, [(reply["text"], widget_extra(reply)) for reply in replies]
        )
        for stored in sent:
            await emit("message", stored)
        await emit("typing", {"on": False})
        return sent

    async def buyer_turn(
        self,
        session_id: str,
        buyer_id: Optional[str],
        text: str,
        rasa_text: str,
        metadata: Dict[str, Any],
        emit: Emit,
        message_id: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]:
        """Returns the review-queue row of this turn (None when Rasa could not be reached)."""
        await emit("typing", {"on": True})
        try:
            reply = await self.rasa.send(session_id, rasa_text, metadata, message_id)
        except RasaUnavailable:
            logger.exception("Rasa unavailable for session %s", session_id)
            await self.db(self.queue.request_human, session_id)
            await self.deliver(session_id, [{"text": self.strings["service_busy"]}], emit)
            await self.notify_agents("queue_changed", {})
            return None
        replies = bot_messages_from_rasa(reply)
        parse = reply.get("parse") or []
        if not replies:
            # Rasa answered nothing: an action failed (e.g. the action server is down).
            logger.error("no reply for session %s (parse %s): answering busy, queueing for an agent", session_id, parse)
            await self.db(self.queue.request_human, session_id)
            await self.deliver(session_id, [{"text": self.strings["service_busy"]}], emit)
            await self.notify_agents("queue_changed", {})
            return None
        asks_for_human = any(p.get("intent") == "request_human" for p in parse)
        if asks_for_human:
            await self.db(self.queue.request_human, session_id)
        earlier_replies, taken_over_by = await self.db(self.queue.routing_state, session_id)
        decision = self.routing.decide(parse, earlier_replies, taken_over_by, replies=replies)
        turn = await self.db(self.queue.record_turn, session_id, buyer_id, text, parse, replies, decision.review, decision.reason)
        for part in parse:
            if float(part.get("confidence") or 0) < self.routing.confidence_threshold:
                await self.db(
                    self.queue.add_candidate, part.get("text") or text, part.get("intent"), None, "low_confidence", "bot"
                )
        if not decision.review:
            await self.deliver(session_id, replies, emit)
        else:
            await self.notify_agents("suggestion", {"id": turn["id"], "session_id": session_id})
            asyncio.ensure_future(self._hold_notice(turn["id"], session_id, emit))
            asyncio.ensure_future(self._when_unattended(turn["id"], session_id, parse, replies, emit))
        if decision.review or asks_for_human:
            # An auto-sent reply leaves the queue as it was (the console's metrics refresh on their own).
            await self.notify_agents("queue_changed", {})
        return turn

    async def _hold_notice(self, suggestion_id: int, session_id: str, emit: Emit) -> None:
        """While a reply waits for an agent, tell the buyer after the policy's seconds (once)."""
        await asyncio.sleep(self.routing.hold_notice_after_seconds)
        current = await self.db(self.queue.get, suggestion_id)
        if current is not None and current["status"] == "pending" and not await self.db(self.queue.taken_over_by, session_id):
            stored = await self.db(self.store.add_message, session_id, "bot", self.strings["hold_notice"])
            if stored is not None:  # None only for a repeated buyer client_id
                await emit("message", stored)
            await emit("typing", {"on": True})

    # Whether any agent is connected to the console (given by the app; unknown -> assume yes and
    # rely on the timeout). A plain function or a coroutine function.
    agents_online: Callable[[], Any] = staticmethod(lambda: True)

    async def _agents_online(self) -> bool:
        online = self.agents_online()
        return bool(await online) if inspect.isawaitable(online) else bool(online)

    async def _when_unattended(
        self, suggestion_id: int, session_id: str, parse: List[Dict[str, Any]], replies: List[Dict[str, Any]], emit: Emit
    ) -> None:
        """Nobody waits forever (routing.yml agent_timeout_seconds): with no agent online at once,
        else after the timeout, a held reply nobody acted on is sent when safe, or replaced by an
        honest handoff message with the service hours while the item stays in the queue."""
        if await self._agents_online():
            await asyncio.sleep(self.routing.agent_timeout_seconds)
        else:
            await asyncio.sleep(min(self.routing.hold_notice_after_seconds, self.routing.agent_timeout_seconds) / 4)
        current = await self.db(self.queue.get, suggestion_id)
        if current is None or current["status"] != "pending" or await self.db(self.queue.taken_over_by, session_id):
            return
        if self.routing.unattended(parse) == "send":
            try:
                claimed = await self.db(self.queue.claim, suggestion_id, "unattended", "auto_sent")
            except Exception:  # an agent claimed it meanwhile
                return
            await self.deliver(session_id, await self._quoted(claimed), emit)  # late: quotes the question
        else:
            text = self.strings["unattended_handoff"].format(service_hours=self.routing.service_hours)
            await self.deliver(session_id, [{"text": text}], emit)
            await self.db(self.queue.request_human, session_id)
        await self.notify_agents("queue_changed", {})

    async def order_event(self, session_id: str, intent: str, entities: Dict[str, Any], emit: Emit) -> List[Dict[str, Any]]:
        try:
            replies = bot_messages_from_rasa({"messages": await self.rasa.trigger(session_id, intent, entities)})
        except RasaUnavailable:
            logger.exception("Rasa unavailable for an order event in %s", session_id)
            return []
        return await self.deliver(session_id, replies, emit) if replies else []

    # -- agents ----------------------------------------------------------------------------
    async def _quote(self, suggestion: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The stored buyer message a held reply answers, quoted with the reply in the widget."""
        asked = await self.db(
            self.store.buyer_message_before, suggestion["session_id"], suggestion["buyer_text"], suggestion["created_at"]
        )
        return {"message_id": asked["id"], "text": asked["text"]} if asked else None

    async def _quoted(self, suggestion: Dict[str, Any]) -> List[Dict[str, Any]]:
        replies = list(suggestion["replies"])
        quote = await self._quote(suggestion)
        if replies and quote:
            replies[0] = {**replies[0], "quote": quote}
        return replies

    async def agent_sends(self, suggestion_id: int, agent: str, emit_to: Callable[[str], Emit]) -> Dict[str, Any]:
        suggestion = await self.db(self.queue.claim, suggestion_id, agent, "sent")
        await self.deliver(suggestion["session_id"], await self._quoted(suggestion), emit_to(suggestion["session_id"]))
        return suggestion

    async def agent_edits(self, suggestion_id: int, agent: str, text: str, emit_to: Callable[[str], Emit]) -> Dict[str, Any]:
        suggestion = await self.db(self.queue.claim, suggestion_id, agent, "edited", final_text=text)
        await self.db(self.queue.add_candidate, suggestion["buyer_text"], suggestion["intent"], None, "edited", agent)
        await self.agent_says(suggestion["session_id"], agent, text, emit_to, quote=await self._quote(suggestion))
        return suggestion

    async def hand_back(self, session_id: str, emit_to: Callable[[str], Emit]) -> int:
        """The bot takes the conversation back. What the buyer asked during the take-over and no
        agent answered is answered now: a draft the routing policy would send on its own is sent
        (quoting the question), the others stay in the queue for review (and nobody waits forever).
        Returns how many drafts were sent."""
        await self.db(self.queue.hand_back, session_id)
        emit = emit_to(session_id)
        sent = 0
        for draft in await self.db(self.queue.pending_of, session_id):
            earlier_replies, taken_over_by = await self.db(self.queue.routing_state, session_id)
            decision = self.routing.decide(draft["parse"], earlier_replies, taken_over_by, replies=draft["replies"])
            if decision.review:
                asyncio.ensure_future(self._when_unattended(draft["id"], session_id, draft["parse"], draft["replies"], emit))
                continue
            try:
                claimed = await self.db(self.queue.claim, draft["id"], "handback", "auto_sent")
            except AlreadyHandled:
                continue
            await self.deliver(session_id, await self._quoted(claimed), emit)
            sent += 1
        return sent

    async def agent_rejects(
        self,
        suggestion_id: int,
        agent: str,
        intent: str,
        buyer_id: Optional[str],
        entities: Dict[str, Any],
        emit_to: Callable[[str], Emit],
    ) -> Optional[Dict[str, Any]]:
        """Records the right intent for trainers, withdraws the records the rejected draft announced
        (bot/review/withdrawals.py) and has the bot draft that intent's reply (held)."""
        suggestion = await self.db(self.queue.claim, suggestion_id, agent, "rejected")
        await self.db(self.queue.add_candidate, suggestion["buyer_text"], suggestion["intent"], intent, "rejected", agent)
        session_id = suggestion["session_id"]
        if self.orders is not None:
            # Before the redraft, so it does not find the rejected draft's record as an earlier one.
            try:
                withdrawn = await self.db(withdraw_announced_records, self.orders, suggestion["replies"])
            except RepositoryUnavailable:
                logger.exception("shop database unavailable: the records of rejected draft %s stay", suggestion_id)
            else:
                if withdrawn:
                    logger.info("rejected draft %s by %s: withdrew %s", suggestion_id, agent, ", ".join(withdrawn))
        try:
            messages = await self.rasa.trigger(session_id, intent, entities)
        except RasaUnavailable:
            logger.exception("Rasa unavailable while redrafting for %s", session_id)
            return None
        replies = bot_messages_from_rasa({"messages": messages})
        parse = [{"intent": intent, "confidence": 1.0, "ranking": [], "text": suggestion["buyer_text"]}]
        # The redraft keeps the rejected draft's time: the buyer has waited since their question.
        redraft = await self.db(
            self.queue.record_turn,
            session_id,
            buyer_id,
            suggestion["buyer_text"],
            parse,
            replies,
            True,
            f"redrafted by {agent}",
            suggestion["created_at"],
        )
        await self.notify_agents("suggestion", {"id": redraft["id"], "session_id": session_id})
        return redraft

    async def agent_says(
        self, session_id: str, agent: str, text: str, emit_to: Callable[[str], Emit], quote: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        """An agent's own words: shown to the buyer and written into the Rasa tracker as a bot turn."""
        [stored] = await self.deliver(session_id, [{"text": text, "quote": quote}], emit_to(session_id), role="agent")
        try:
            await self.rasa.append_bot_event(session_id, text, {"agent": agent})
        except RasaUnavailable:
            logger.exception("could not write the agent's message into the tracker of %s", session_id)
        return stored
