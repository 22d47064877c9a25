"""The shop's own Rasa input channel (credentials.yml: ``bot.rasa_channel.ShopChannel``).

Like the REST channel, plus:
- several questions in one message ("in stock? ships today? free shipping?") are split on clause boundaries,
  each confident question is handled in order, and all replies come back in one answer;
  a message with one question behaves exactly as through the REST channel;
- the answer carries the parsed intent, its confidence and the next two intents of every handled
  message, and for every reply the template used with its values and their sources (the
  gateway's review step shows them to the agent);
- empty or huge messages are cut to a sane size instead of failing.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_CHARS = 500
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
            text = body.get("message")
            text = text if isinstance(text, str) else ""
            text = text[:MAX_CHARS]
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            agent = request.app.ctx.agent
            parts = await self.questions(agent, text) if text.strip() else []
            collector = CollectingOutputChannel()
            for part in parts or [text]:
                part_metadata = dict(metadata, original_text=text) if parts else metadata
                await on_new_message(
                    UserMessage(part, collector, body["sender"], input_channel=self.name(), metadata=part_metadata)
                )
            tracker = await agent.tracker_store.retrieve(body["sender"])
            events = list(tracker.events) if tracker else []
            user_positions = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
            first = user_positions[-len(parts or [text])] if user_positions else len(events)
            handled = [events[i] for i in user_positions if i >= first]
            replies = [describe_reply(e) for e in events[first:] if isinstance(e, BotUttered)]
            return response.json(
                {
                    "messages": collector.messages,
                    "replies": replies if len(replies) == len(collector.messages) else [],
                    "parse": [summarise_parse(e.text or "", e.parse_data) for e in handled],
                }
            )

        return shop_webhook
