"""The shop's own Rasa input channel (credentials.yml: ``bot.rasa_server.channel.ShopChannel``).

Like the REST channel, plus:
- several questions in one message ("in stock? ships today? free shipping?") are split on clause boundaries,
  each confident question is handled in order, and all replies come back in one answer;
  a message with one question behaves exactly as through the REST channel;
- the answer carries the parsed intent, its confidence and the next two intents of every handled
  message, and each reply message carries its details, the template used with its values and
  their sources, under ``REPLY_KEY`` (bot/reply_details.py; the gateway's review step shows them
  to the agent);
- empty or huge messages are cut to a sane size instead of failing;
- a message carries the gateway's id: a retry of a message a replica already handled (it died
  before answering) gets the stored replies instead of being handled twice;
- when the tracker or lock store is unreachable the turn fails with HTTP 503 instead of Rasa's
  fail-safe fallback, which would answer from an empty in-memory conversation and forget the turn;
- each message is parsed once, and the replies' details come with the replies (no second read of
  the tracker); a long conversation's working session is rolled over, so turns stay as fast.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.actions.action import ActionSessionStart
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import log_scrub
from bot.rasa_server import patches
from bot.rasa_server.tracker_store import KnowsSessionLength
from bot.reply_details import REPLY_KEY, ReplyDetails
from bot.settings import MAX_MESSAGE_CHARS

logger = logging.getLogger(__name__)

MESSAGE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
CLAUSE_BOUNDARY = re.compile(r"[？?！!。；;，,\n]+|\s+")
# A conversation's working session is rolled over (slots carried over, like Rasa's session expiry)
# once it holds this many events (about 15 turns), so a turn costs the same at turn 300 as at turn 5.
ROLL_OVER_AFTER_EVENTS = 100
# Intents that ask something the bot answers; greetings and bare values never split a message.
NOT_QUESTIONS = {"greet", "thank_bye", "affirm", "deny", "inform", "nlu_fallback", "out_of_scope"}


# A problem described in several clauses ("the cup arrived, it doesn't keep warm, quality problem,
# refund") is one message: the complaint, quality report or return is handled once, as a whole.
PROBLEMS = {
    "complain",
    "report_quality_issue",
    "request_return",
    "wrong_item",
    "picture_mismatch",
    "logistics_delay",
    "price_difference",
}
# Questions about an order already placed; a turn never mixes their answers with pre-sale ones.
AFTER_SALE = PROBLEMS | {"ask_order_status", "ask_return_status"}


def separate_questions(intents: set) -> bool:
    """Clauses are split into separate questions only when none describes a problem and they are
    all pre-sale or all after-sale."""
    if intents & PROBLEMS:
        return False
    questions = intents - NOT_QUESTIONS - {None}
    return not (questions & AFTER_SALE and questions - AFTER_SALE)


def split_clauses(text: str) -> List[str]:
    return [c for c in (part.strip() for part in CLAUSE_BOUNDARY.split(text)) if len(c) >= 2]


class DetailedCollector(CollectingOutputChannel):
    """Collects the bot's messages like the REST channel; each collected message keeps its own
    reply details (template, values, sources) under ``REPLY_KEY``, read from the bot message Rasa
    hands to the channel (its metadata merged in). A bot message Rasa sends as several (a text
    with blank lines, a text and a card) gives each of them its details."""

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        details = ReplyDetails.from_metadata(message)
        first = len(self.messages)
        await super().send_response(recipient_id, dict(message))
        if details is not None:
            for collected in self.messages[first:]:
                collected[REPLY_KEY] = details.to_metadata()


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


class ShopRestInput(RestInput):
    """Rasa's REST channel (credentials.yml: ``bot.rasa_server.channel.ShopRestInput`` instead of ``rest``, same
    /webhooks/rest/webhook) with the shop's input rules before any NLU runs: a body that is not a JSON
    object, a missing sender or a message that is not text gets a JSON 400, and text over the
    message limit is cut to it."""

    def __init__(self) -> None:
        log_scrub.install()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopRestInput":
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = super().blueprint(on_new_message)

        @rest.middleware("request")
        async def check_input(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            try:
                body = request.json
            except Exception:  # Sanic refuses invalid JSON with its own 400
                return response.json({"error": "expected a JSON object"}, status=400)
            if not isinstance(body, dict):
                return response.json({"error": "expected a JSON object with 'sender' and 'message'"}, status=400)
            if not isinstance(body.get("sender"), str) or not body["sender"]:
                return response.json({"error": "'sender' must be a non-empty string"}, status=400)
            if not isinstance(body.get("message"), str):
                return response.json({"error": "'message' must be a string"}, status=400)
            if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
                return response.json({"error": "'metadata' must be an object"}, status=400)
            try:
                body["message"].encode("utf-8")
            except UnicodeEncodeError:
                return response.json({"error": "'message' is not valid text"}, status=400)
            # Sanic annotates parsed_json by its initial None; it holds the parsed body.
            request.parsed_json = dict(body, message=body["message"][:MAX_MESSAGE_CHARS])  # type: ignore[assignment]
            return None

        return rest


class ShopChannel(InputChannel):
    def __init__(self, question_confidence: float = 0.7) -> None:
        log_scrub.install()
        self.question_confidence = question_confidence
        self._frozen_agent: Any = None  # the agent whose model was last kept out of garbage collection

    def keep_model_out_of_gc(self, agent: Any) -> None:
        """Once per loaded model: at server start, and at the first message after a model reload."""
        if agent is not None and agent is not self._frozen_agent and agent.is_ready():
            self._frozen_agent = None  # the replaced model must be collectable, not frozen for good
            patches.freeze_loaded_model()
            self._frozen_agent = agent

    @classmethod
    def name(cls) -> Text:
        return "shop"

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For Rasa's HTTP API with ``?output_channel=shop`` (the gateway's trigger_intent): the
        bot's messages collected with their reply details, as for a message sent here."""
        return DetailedCollector()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "ShopChannel":
        return cls(float((credentials or {}).get("question_confidence", 0.7)))

    async def questions(self, agent: Any, text: str) -> List[Tuple[str, Dict[str, Any]]]:
        """The clauses to handle one by one with their parses, or [] to handle the message as a whole."""
        clauses = split_clauses(text)
        if len(clauses) < 2:
            return []
        confident, intents, seen = [], set(), set()
        for clause in clauses:
            parse = await agent.parse_message(clause)
            intent = parse.get("intent") or {}
            seen.add(intent.get("name"))
            if intent.get("name") not in NOT_QUESTIONS and float(intent.get("confidence") or 0) >= self.question_confidence:
                confident.append((clause, parse))
                intents.add(intent.get("name"))
        if len(confident) < 2 or len(intents) < 2 or not separate_questions(seen):
            return []
        whole = await agent.parse_message(text)
        if (whole.get("intent") or {}).get("name") in PROBLEMS:
            return []
        return confident

    async def roll_over_if_long(self, agent: Any, sender: str) -> None:
        """Starts a new working session when this one has grown long: Rasa reads and replays the
        whole session at every turn. Like Rasa's session expiry, the slots are carried over; an
        active form is carried over too, so the buyer's open question goes on. The new session's
        events are appended to the tracker as read and saved once, so the store holds each event once.
        The shop tracker store says how long the session was at this process's last save; the
        session is read again, under the conversation's lock, only when that says it is long."""
        store = agent.tracker_store
        if not isinstance(store, KnowsSessionLength) or (store.session_length(sender) or 0) < ROLL_OVER_AFTER_EVENTS:
            return
        try:
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
                if (
                    tracker is None
                    or len(tracker.events) < ROLL_OVER_AFTER_EVENTS
                    or tracker.latest_action_name != ACTION_LISTEN_NAME
                ):
                    return
                active_loop = tracker.active_loop_name
                started = await ActionSessionStart().run(CollectingOutputChannel(), agent.nlg, tracker, agent.domain)
                if active_loop:
                    started += [ActiveLoop(active_loop), ActionExecuted(ACTION_LISTEN_NAME)]
                tracker.update_with_events([ActionExecuted(ACTION_SESSION_START_NAME), *started], agent.domain)
                await agent.tracker_store.save(tracker)
                logger.debug("rolled over the session of %s after %d events", sender, len(tracker.events))
        except Exception:  # a later check tries again
            logger.exception("could not roll over the session of %s", sender)

    async def replay(self, agent: Any, sender: str, message_id: str) -> Optional[HTTPResponse]:
        """The stored answer to a message this conversation already handled, else None."""
        tracker = await agent.tracker_store.retrieve_full_tracker(sender)
        events = list(tracker.events) if tracker else []
        for position, event in enumerate(events):
            if isinstance(event, UserUttered) and event.message_id in (message_id, f"{message_id}.0"):
                logger.info("message %s of %s was already handled: replaying its replies", message_id, sender)
                end = next(
                    (
                        i
                        for i in range(position + 1, len(events))
                        if isinstance(events[i], UserUttered) and not str(events[i].message_id or "").startswith(f"{message_id}.")
                    ),
                    len(events),
                )
                collector = DetailedCollector()
                for event in events[position:end]:
                    if isinstance(event, BotUttered):
                        await collector.send_response(sender, event.message())
                handled = [e for e in events[position:end] if isinstance(e, UserUttered)]
                return response.json(
                    {
                        "messages": collector.messages,
                        "parse": [summarise_parse(e.text or "", e.parse_data) for e in handled],
                        "replayed": True,
                    }
                )
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        shop_webhook = Blueprint("shop_webhook", __name__)

        @shop_webhook.listener("after_server_start")
        async def model_loaded(app: Any, _: Any) -> None:
            self.keep_model_out_of_gc(getattr(app.ctx, "agent", None))

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
            text = text[:MAX_MESSAGE_CHARS]
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return response.json({"error": "'message' is not valid text"}, status=400)
            raw_metadata = body.get("metadata")
            metadata: Dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
            message_id = body.get("message_id") if isinstance(body.get("message_id"), str) else None
            message_id = message_id if message_id and MESSAGE_ID.match(message_id) else None
            agent = request.app.ctx.agent
            patches.use_primary_tracker_store(agent)
            self.keep_model_out_of_gc(agent)
            try:
                if message_id and body.get("retry"):
                    replayed = await self.replay(agent, sender, message_id)
                    if replayed is not None:
                        return replayed
                await self.roll_over_if_long(agent, sender)
                parts = await self.questions(agent, text) if text.strip() else []
                if not parts:
                    parts = [(text, await agent.processor.parse_message(UserMessage(text, sender_id=sender, metadata=metadata)))]
                collector = DetailedCollector()
                for index, (part, parse) in enumerate(parts):
                    part_metadata = dict(metadata, original_text=text) if len(parts) > 1 else metadata
                    part_id = f"{message_id}.{index}" if message_id and len(parts) > 1 else message_id
                    await on_new_message(
                        UserMessage(
                            part,
                            collector,
                            sender,
                            parse_data=parse,
                            input_channel=self.name(),
                            metadata=part_metadata,
                            message_id=part_id,
                        )
                    )
            except Exception:  # the tracker store, lock store or model failed: the gateway says busy
                logger.exception("could not handle a message of %s", sender)
                return response.json({"error": "unavailable"}, status=503)
            return response.json(
                {
                    "messages": collector.messages,
                    "parse": [summarise_parse(part, parse) for part, parse in parts],
                }
            )

        return shop_webhook
