"""The shop's own Rasa input channel (credentials.yml: ``bot.rasa_channel.ShopChannel``).

Like the REST channel, plus:
- several questions in one message ("in stock? ships today? free shipping?") are split on clause boundaries,
  each confident question is handled in order, and all replies come back in one answer;
  a message with one question behaves exactly as through the REST channel;
- the answer carries the parsed intent, its confidence and the next two intents of every handled
  message, and for every reply the template used with its values and their sources (the
  gateway's review step shows them to the agent);
- empty or huge messages are cut to a sane size instead of failing;
- a message carries the gateway's id: a retry of a message a replica already handled (it died
  before answering) gets the stored replies instead of being handled twice;
- when the tracker or lock store is unreachable the turn fails with HTTP 503 instead of Rasa's
  fail-safe fallback, which would answer from an empty in-memory conversation and forget the turn.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

MAX_CHARS = 500
MESSAGE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
CLAUSE_BOUNDARY = re.compile(r"[？?！!。；;，,\n]+|\s+")
# Intents that ask something the bot answers; greetings and bare values never split a message.
# Metadata Rasa adds to every bot event; not values of the reply.
RASA_BOOKKEEPING = {"recipient_id", "template", "template_name", "model_id", "assistant_id"}
NOT_QUESTIONS = {"greet", "thank_bye", "affirm", "deny", "inform", "nlu_fallback", "out_of_scope"}


def split_clauses(text: str) -> List[str]:
    return [c for c in (part.strip() for part in CLAUSE_BOUNDARY.split(text)) if len(c) >= 2]


def describe_reply(event: BotUttered) -> Dict[str, Any]:
    metadata = dict(event.metadata or {})
    response = metadata.pop("utter_action", None)
    sources = metadata.pop("sources", None) or {}
    values = {
        k: v for k, v in metadata.items() if isinstance(v, (str, int, float)) and k not in RASA_BOOKKEEPING
    }
    return {"response": response, "values": values, "sources": sources}


def summarise_parse(text: str, parse: Dict[str, Any]) -> Dict[str, Any]:
    ranking = [
        {"intent": r.get("name"), "confidence": round(float(r.get("confidence") or 0), 4)}
        for r in (parse.get("intent_ranking") or [])[:3]
    ]
    intent = parse.get("intent") or {}
    return {
        "text": text,
        "intent": intent.get("name"),
        "confidence": round(float(intent.get("confidence") or 0), 4),
        "ranking": ranking,
    }


def use_primary_tracker_store(agent: Any) -> None:
    """Rasa wraps the configured tracker store in a FailSafeTrackerStore that, when the database is
    down, silently starts an empty in-memory conversation. A shop would rather say 'busy' than
    answer out of context and lose the turn, so the shop channel talks to the primary store."""
    store = getattr(agent, "tracker_store", None)
    if isinstance(store, FailSafeTrackerStore):
        agent.tracker_store = store._tracker_store
    processor = getattr(agent, "processor", None)
    if processor is not None and isinstance(processor.tracker_store, FailSafeTrackerStore):
        processor.tracker_store = processor.tracker_store._tracker_store


def outputs_after(events: List[Any], first: int, sender: str) -> List[Dict[str, Any]]:
    """The bot messages of events[first:], as the collecting channel returned them."""
    messages = []
    for event in events[first:]:
        if isinstance(event, BotUttered):
            message = {"recipient_id": sender, "text": event.text}
            message.update({k: v for k, v in (event.data or {}).items() if v})
            messages.append(message)
    return messages


def answer(events: List[Any], first: int, sender: str, messages: List[Dict[str, Any]], replayed: bool = False) -> HTTPResponse:
    handled = [e for e in events[first:] if isinstance(e, UserUttered)]
    replies = [describe_reply(e) for e in events[first:] if isinstance(e, BotUttered)]
    body = {
        "messages": messages,
        "replies": replies if len(replies) == len(messages) else [],
        "parse": [summarise_parse(e.text or "", e.parse_data) for e in handled],
    }
    if replayed:
        body["replayed"] = True
    return response.json(body)


class ShopChannel(InputChannel):
    def __init__(self, question_confidence: float = 0.7) -> None:
        self.question_confidence = question_confidence

    @classmethod
    def name(cls) -> Text:
        return "shop"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopChannel":
        return cls(float((credentials or {}).get("question_confidence", 0.7)))

    async def questions(self, agent: Any, text: str) -> List[str]:
        """The clauses to handle one by one, or [] to handle the message as a whole."""
        clauses = split_clauses(text)
        if len(clauses) < 2:
            return []
        confident, intents = [], set()
        for clause in clauses:
            parse = await agent.parse_message(clause)
            intent = parse.get("intent") or {}
            if intent.get("name") not in NOT_QUESTIONS and float(intent.get("confidence") or 0) >= self.question_confidence:
                confident.append(clause)
                intents.add(intent.get("name"))
        return confident if len(confident) >= 2 and len(intents) >= 2 else []

    async def replay(self, agent: Any, sender: str, message_id: str) -> Optional[HTTPResponse]:
        """The stored answer to a message this conversation already handled, else None."""
        tracker = await agent.tracker_store.retrieve(sender)
        events = list(tracker.events) if tracker else []
        for position, event in enumerate(events):
            if isinstance(event, UserUttered) and event.message_id in (message_id, f"{message_id}.0"):
                logger.info("message %s of %s was already handled: replaying its replies", message_id, sender)
                end = next(
                    (i for i in range(position + 1, len(events)) if isinstance(events[i], UserUttered)
                     and not str(events[i].message_id or "").startswith(f"{message_id}.")),
                    len(events),
                )
                return answer(events[:end], position, sender, outputs_after(events[:end], position, sender), replayed=True)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        shop_webhook = Blueprint("shop_webhook", __name__)

        @shop_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @shop_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else None
            if body is None or not isinstance(body.get("sender"), str) or not body["sender"]:
                return response.json({"error": "expected JSON with a non-empty 'sender'"}, status=400)
            sender = body["sender"]
            text = body.get("message")
            text = text if isinstance(text, str) else ""
            text = text[:MAX_CHARS]
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            message_id = body.get("message_id") if isinstance(body.get("message_id"), str) else None
            message_id = message_id if message_id and MESSAGE_ID.match(message_id) else None
            agent = request.app.ctx.agent
            use_primary_tracker_store(agent)
            try:
                if message_id and body.get("retry"):
                    replayed = await self.replay(agent, sender, message_id)
                    if replayed is not None:
                        return replayed
                parts = await self.questions(agent, text) if text.strip() else []
                collector = CollectingOutputChannel()
                for index, part in enumerate(parts or [text]):
                    part_metadata = dict(metadata, original_text=text) if parts else metadata
                    part_id = f"{message_id}.{index}" if message_id and parts else message_id
                    await on_new_message(
                        UserMessage(
                            part, collector, sender, input_channel=self.name(), metadata=part_metadata,
                            message_id=part_id,
                        )
                    )
                tracker = await agent.tracker_store.retrieve(sender)
            except Exception:  # the tracker store, lock store or model failed: the gateway says busy
                logger.exception("could not handle a message of %s", sender)
                return response.json({"error": "unavailable"}, status=503)
            events = list(tracker.events) if tracker else []
            user_positions = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
            first = user_positions[-len(parts or [text])] if user_positions else len(events)
            return answer(events, first, sender, collector.messages)

        return shop_webhook
