"""The agent console: login, the review queue, acting on suggestions, taking over conversations,
metrics; and the /agent socket.io namespace for live updates. Agents only: buyers and anonymous
users get 401 on every endpoint and are refused on the namespace."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

import socketio
from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.live import AGENT_NAMESPACE, LiveUpdates
from bot.gateway.staff_auth import COOKIE, StaffAuth, register_login, serve_console_assets, staff_only
from bot.gateway.store import GatewayStore
from bot.review.history import ConversationHistory, SearchTerms, as_csv, as_jsonl
from bot.review.phrases import VARIABLES, PhraseError, QuickPhrases
from bot.review.queue import AlreadyHandled, ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.shop.identity import issue_buyer_token
from bot.shop.orders.models import Order, Product
from bot.shop.orders.repository import RepositoryUnavailable
from bot.training.project_data import ProjectData

logger = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
AGENT_ROLES = ("agent",)
MAX_EXPORT_DAYS = 92


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment else None


def queue_snapshot(store, queue) -> Dict[str, Any]:
    """What the console polls, read in a constant number of queries however long the queue is:
    pending suggestions with their conversations' takeover, conversations waiting for a human and
    those taken over, with the buyers and last buyer texts of all of them."""
    pending = queue.pending()
    waiting = queue.waiting_for_human()
    taken = queue.taken_over()
    listed = list(dict.fromkeys([s["session_id"] for s in pending] + [c["session_id"] for c in waiting + taken]))
    return {
        "pending": pending,
        "taken_over_by": queue.takeovers(s["session_id"] for s in pending),
        "waiting": waiting,
        "taken": taken,
        "buyers": store.buyers_of(listed),
        "last_texts": store.last_buyer_texts(listed, within=20),
    }


def buyer_rows(snapshot: Dict[str, Any], names: Dict[str, str], routing: RoutingPolicy, now: datetime) -> List[Dict[str, Any]]:
    """The buyer list: one row per conversation that waits for someone or is taken over. A row
    waits since the buyer's first unanswered message (its oldest waiting draft; a redraft keeps
    the rejected draft's time) or since the buyer asked for a human, whichever came first; its
    unread count is the number of buyer messages no one answered yet."""
    rows: Dict[str, Dict[str, Any]] = {}

    def row(session_id: str) -> Dict[str, Any]:
        if session_id not in rows:
            buyer_id = snapshot["buyers"].get(session_id)
            rows[session_id] = {
                "session_id": session_id,
                "buyer_id": buyer_id,
                "buyer_name": names.get(buyer_id) if buyer_id else None,
                "unread": 0,
                "since": None,
                "last_text": snapshot["last_texts"].get(session_id, ""),
                "intent": None,
                "suggestion_ids": [],
                "human_requested": False,
                "taken_over_by": None,
            }
        return rows[session_id]

    def waits_since(item: Dict[str, Any], moment: Optional[datetime]) -> None:
        if moment is not None and (item["since"] is None or moment < item["since"]):
            item["since"] = moment

    for suggestion in snapshot["pending"]:
        item = row(suggestion["session_id"])
        item["unread"] += 1
        item["suggestion_ids"].append(suggestion["id"])
        item["intent"] = suggestion["intent"]  # the latest question's
        item["last_text"] = item["last_text"] or suggestion["buyer_text"]
        waits_since(item, suggestion["created_at"])
        item["taken_over_by"] = snapshot["taken_over_by"].get(suggestion["session_id"])
    for conversation in snapshot["waiting"]:
        item = row(conversation["session_id"])
        item["human_requested"] = True
        item["unread"] = max(item["unread"], 1)
        waits_since(item, conversation["human_requested_at"])
    for conversation in snapshot["taken"]:
        row(conversation["session_id"])["taken_over_by"] = conversation["taken_over_by"]
    listed = []
    for item in rows.values():
        since = item.pop("since")
        seconds = (now - since).total_seconds() if since else None
        item["since"] = _iso(since)
        item["waiting_seconds"] = round(seconds) if seconds is not None else None
        item["sla"] = routing.sla(seconds) if seconds is not None else None
        listed.append(item)
    # Longest wait first; conversations taken over with nothing waiting last.
    listed.sort(key=lambda r: (r["waiting_seconds"] is None, -(r["waiting_seconds"] or 0)))
    return listed


def order_view(order: Order, catalogue: Dict[str, Product], order_states: Dict[str, str]) -> Dict[str, Any]:
    last = order.tracking[-1] if order.tracking else None
    return {
        "order_id": order.id,
        "status": order.status,
        "status_label": order_states.get(order.status, order.status),
        "created_at": _iso(order.created_at),
        "total": order.total,
        "items": [
            {
                "product_id": item.product_id,
                "name": catalogue[item.product_id].name if item.product_id in catalogue else item.product_id,
                "color": item.color,
                "size": item.size,
                "qty": item.qty,
            }
            for item in order.items
        ],
        "courier": order.courier,
        "tracking_no": order.tracking_no,
        "last_event": {"at": _iso(last.at), "location": last.location, "description": last.description} if last else None,
    }


def shop_context(orders: Any, order_states: Dict[str, str], buyer_id: Optional[str], product_id: Optional[str]) -> Dict[str, Any]:
    """The buyer's orders, newest first (none for a visitor who is not logged in), and the product
    they are looking at; read from the order repository."""
    catalogue = {p.id: p for p in orders.list_products()}
    found = orders.orders_for_buyer(buyer_id)[:10] if buyer_id else []
    product = catalogue.get(product_id) if product_id else None
    return {
        "orders": [order_view(o, catalogue, order_states) for o in found],
        "product": {
            "product_id": product.id,
            "name": product.name,
            "price": product.lowest_price,
            "image": product.image,
            "in_stock": product.in_stock,
            "colors": product.colors,
            "sizes": product.sizes,
        }
        if product
        else None,
    }


@dataclass
class AgentServices:
    """What the agent console needs. ``strings`` are gateway_strings.yml's "agent" texts."""

    strings: Dict[str, str]
    buyer_token_secret: str
    store: GatewayStore
    queue: ReviewQueue
    routing: RoutingPolicy
    project: ProjectData
    conversations: Conversations
    live: LiveUpdates
    auth: StaffAuth
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)
    orders: Any = None  # bot.shop.orders repository: buyer names, the buyer's orders, products
    intent_names: Dict[str, str] = field(default_factory=dict)  # gateway_strings.yml's intent_names
    order_states: Dict[str, str] = field(default_factory=dict)  # order status -> what the buyer sees
    shop_timezone: str = "Asia/Shanghai"  # days in searches and exports are the shop's days


def suggestion_view(routing: RoutingPolicy, suggestion: Dict[str, Any], taken_over_by: Optional[str]) -> Dict[str, Any]:
    waiting = (datetime.now(timezone.utc) - suggestion["created_at"]).total_seconds()
    parse = suggestion["parse"][0] if suggestion["parse"] else {}
    return {
        "id": suggestion["id"],
        "session_id": suggestion["session_id"],
        "buyer_id": suggestion["buyer_id"],
        "created_at": _iso(suggestion["created_at"]),
        "waiting_seconds": round(waiting),
        "status": suggestion["status"],
        "buyer_text": suggestion["buyer_text"],
        "intent": suggestion["intent"],
        "confidence": suggestion["confidence"],
        "ranking": parse.get("ranking", [])[1:3],
        "replies": suggestion["replies"],
        "reason": suggestion["reason"],
        "handled_by": suggestion["handled_by"],
        "taken_over_by": taken_over_by,
        "sla": routing.sla(waiting),
    }


def conflict(error: AlreadyHandled):
    return response.json({"error": "already handled", "status": error.status, "handled_by": error.handled_by}, status=409)


def agent_blueprint(services: AgentServices) -> Blueprint:
    """The console's page, strings, assets and login, and its API (the intents are the project's
    now, including those a trainer added)."""
    bp = Blueprint("agent_console")
    agents_only = staff_only(services.auth, AGENT_ROLES, "/agent")

    @bp.get("/agent")
    async def console(_: Request):
        return await response.file(TEMPLATES / "agent.html")

    @bp.get("/agent/strings")
    async def console_strings(_: Request):
        return response.json(services.strings)

    serve_console_assets(bp, "/agent")

    register_login(bp, services.auth, "/agent", AGENT_ROLES)

    @bp.get("/agent/api/me")
    @agents_only
    async def me(_: Request, agent):
        return response.json(agent)

    _queue_routes(bp, services, agents_only)
    _suggestion_routes(bp, services, agents_only)
    _conversation_routes(bp, services, agents_only)
    _phrase_routes(bp, services, agents_only)
    _history_routes(bp, services, agents_only)
    return bp


def _queue_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """What the console polls: the queue, one conversation, the intents, the metrics."""
    store, queue, routing, run_db = services.store, services.queue, services.routing, services.run_db

    async def buyer_names(buyer_ids: List[str]) -> Dict[str, str]:
        if services.orders is None or not buyer_ids:
            return {}
        try:
            return await run_db(services.orders.buyer_names, buyer_ids)
        except RepositoryUnavailable:  # the shop database is down: the list shows visitor-style ids
            logger.warning("shop database unavailable: buyer names not shown")
            return {}

    @bp.get("/agent/api/queue")
    @agents_only
    async def queue_listing(_: Request, agent):
        snapshot = await run_db(queue_snapshot, store, queue)
        names = await buyer_names([b for b in snapshot["buyers"].values() if b])
        now = datetime.now(timezone.utc)
        waiting = []
        for item in snapshot["waiting"]:
            seconds = (now - item["human_requested_at"]).total_seconds()
            waiting.append(
                {
                    "session_id": item["session_id"],
                    "buyer_id": snapshot["buyers"].get(item["session_id"]),
                    "since": _iso(item["human_requested_at"]),
                    "waiting_seconds": round(seconds),
                    "last_text": snapshot["last_texts"].get(item["session_id"], ""),
                    "sla": routing.sla(seconds),
                }
            )
        return response.json(
            {
                "conversations": buyer_rows(snapshot, names, routing, now),
                "suggestions": [
                    suggestion_view(routing, s, snapshot["taken_over_by"].get(s["session_id"])) for s in snapshot["pending"]
                ],
                "waiting": waiting,
                "sla": {"amber": routing.sla_amber_seconds, "red": routing.sla_red_seconds},
            }
        )

    @bp.get("/agent/api/sessions/<session_id>")
    @agents_only
    async def conversation(_: Request, agent, session_id: str):
        messages = await run_db(store.history, session_id)
        buyer_id = await run_db(store.buyer_of, session_id)
        taken_over_by = await run_db(queue.taken_over_by, session_id)
        pending = await run_db(queue.pending_of, session_id)
        names = await buyer_names([buyer_id] if buyer_id else [])
        return response.json(
            {
                "session_id": session_id,
                "buyer_id": buyer_id,
                "buyer_name": names.get(buyer_id) if buyer_id else None,
                "taken_over_by": taken_over_by,
                "messages": messages,
                "photos": [m["image"] for m in messages if m.get("image")],
                "pending": [suggestion_view(routing, s, taken_over_by) for s in pending],
            }
        )

    @bp.get("/agent/api/sessions/<session_id>/context")
    @agents_only
    async def buyer_context(_: Request, agent, session_id: str):
        """Beside the chat: this conversation's buyer's orders (from the order repository, that
        buyer's only) and the product the buyer is looking at."""
        buyer_id = await run_db(store.buyer_of, session_id)
        product_id = await run_db(store.viewed_product, session_id)
        if services.orders is None:
            return response.json({"buyer_id": buyer_id, "orders": [], "product": None})
        try:
            found = await run_db(shop_context, services.orders, services.order_states, buyer_id, product_id)
        except RepositoryUnavailable:
            return response.json({"error": "shop database unavailable"}, status=503)
        return response.json({"buyer_id": buyer_id, **found})

    @bp.get("/agent/api/intents")
    @agents_only
    async def intent_list(_: Request, agent):
        intents = sorted(await run_db(services.project.intent_names))
        names = services.intent_names
        return response.json({"intents": intents, "labels": {i: names[i] for i in [*intents, "nlu_fallback"] if i in names}})

    @bp.get("/agent/api/metrics")
    @agents_only
    async def metrics(_: Request, agent):
        return response.json(await run_db(queue.metrics))


def _suggestion_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """Acting on held suggestions: send, edit, reject (and redraft)."""
    store, queue, run_db = services.store, services.queue, services.run_db
    notify, room_emitter = services.live.notify_agents, services.live.room_emitter

    @bp.post("/agent/api/suggestions/<suggestion_id:int>/send")
    @agents_only
    async def send(_: Request, agent, suggestion_id: int):
        try:
            await services.conversations.agent_sends(suggestion_id, agent["username"], room_emitter)
        except AlreadyHandled as error:
            return conflict(error)
        except KeyError:
            return response.json({"error": "no such suggestion"}, status=404)
        await notify("handled", {"id": suggestion_id, "status": "sent", "handled_by": agent["username"]})
        await notify("queue_changed", {})
        return response.json({"ok": True})

    @bp.post("/agent/api/suggestions/<suggestion_id:int>/edit")
    @agents_only
    async def edit(request: Request, agent, suggestion_id: int):
        body = request.json if isinstance(request.json, dict) else {}
        text = str(body.get("text") or "").strip()
        if not text or len(text) > 2000:
            return response.json({"error": "text must be 1 to 2000 characters"}, status=400)
        try:
            await services.conversations.agent_edits(suggestion_id, agent["username"], text, room_emitter)
        except AlreadyHandled as error:
            return conflict(error)
        except KeyError:
            return response.json({"error": "no such suggestion"}, status=404)
        await notify("handled", {"id": suggestion_id, "status": "edited", "handled_by": agent["username"]})
        await notify("queue_changed", {})
        return response.json({"ok": True})

    @bp.post("/agent/api/suggestions/<suggestion_id:int>/reject")
    @agents_only
    async def reject(request: Request, agent, suggestion_id: int):
        body = request.json if isinstance(request.json, dict) else {}
        intent = str(body.get("intent") or "")
        if intent not in await run_db(services.project.intent_names):
            return response.json({"error": "choose one of the domain's intents"}, status=400)
        current = await run_db(queue.get, suggestion_id)
        if current is None:
            return response.json({"error": "no such suggestion"}, status=404)
        buyer_id = await run_db(store.buyer_of, current["session_id"])
        entities = {"buyer_token": issue_buyer_token(services.buyer_token_secret, buyer_id, 600)} if buyer_id else {}
        try:
            redraft = await services.conversations.agent_rejects(
                suggestion_id, agent["username"], intent, buyer_id, entities, room_emitter
            )
        except AlreadyHandled as error:
            return conflict(error)
        await notify("handled", {"id": suggestion_id, "status": "rejected", "handled_by": agent["username"]})
        await notify("queue_changed", {})
        return response.json({"ok": True, "new_suggestion_id": redraft["id"] if redraft else None})


def _conversation_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """Taking a conversation over, handing it back, writing to the buyer."""
    queue, run_db = services.queue, services.run_db
    notify, room_emitter = services.live.notify_agents, services.live.room_emitter

    @bp.post("/agent/api/sessions/<session_id>/takeover")
    @agents_only
    async def takeover(_: Request, agent, session_id: str):
        await run_db(queue.take_over, session_id, agent["username"])
        await notify("queue_changed", {})
        return response.json({"ok": True})

    @bp.post("/agent/api/sessions/<session_id>/handback")
    @agents_only
    async def handback(_: Request, agent, session_id: str):
        sent = await services.conversations.hand_back(session_id, room_emitter)
        await notify("queue_changed", {})
        return response.json({"ok": True, "drafts_sent": sent})

    @bp.post("/agent/api/sessions/<session_id>/messages")
    @agents_only
    async def agent_message(request: Request, agent, session_id: str):
        body = request.json if isinstance(request.json, dict) else {}
        text = str(body.get("text") or "").strip()
        if not text or len(text) > 2000:
            return response.json({"error": "text must be 1 to 2000 characters"}, status=400)
        stored = await services.conversations.agent_says(session_id, agent["username"], text, room_emitter)
        # The agent answered in their own words: the drafts still waiting here are answered.
        answered = await run_db(queue.answer_pending, session_id, agent["username"])
        if answered:
            await notify("queue_changed", {})
        return response.json({"ok": True, "message": stored, "drafts_answered": answered})


def _phrase_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """Quick phrases: every agent reads and edits the shop's list."""
    phrases, run_db = QuickPhrases(services.store.engine), services.run_db

    def refused(error: PhraseError):
        return response.json({"error": error.code, "message": services.strings.get(error.code, error.code)}, status=400)

    @bp.get("/agent/api/phrases")
    @agents_only
    async def phrase_list(_: Request, agent):
        return response.json({"phrases": await run_db(phrases.all), "variables": list(VARIABLES)})

    @bp.post("/agent/api/phrases")
    @agents_only
    async def phrase_add(request: Request, agent):
        body = request.json if isinstance(request.json, dict) else {}
        try:
            phrase = await run_db(phrases.add, body.get("title"), body.get("text"), agent["username"])
        except PhraseError as error:
            return refused(error)
        return response.json({"phrase": phrase}, status=201)

    @bp.put("/agent/api/phrases/<phrase_id:int>")
    @agents_only
    async def phrase_update(request: Request, agent, phrase_id: int):
        body = request.json if isinstance(request.json, dict) else {}
        try:
            phrase = await run_db(phrases.update, phrase_id, body.get("title"), body.get("text"), agent["username"])
        except PhraseError as error:
            return refused(error)
        if phrase is None:
            return response.json({"error": "no such phrase"}, status=404)
        return response.json({"phrase": phrase})

    @bp.delete("/agent/api/phrases/<phrase_id:int>")
    @agents_only
    async def phrase_delete(_: Request, agent, phrase_id: int):
        if not await run_db(phrases.delete, phrase_id):
            return response.json({"error": "no such phrase"}, status=404)
        return response.json({"ok": True})


def _day_bounds(services: AgentServices, first: str, last: str) -> Tuple[Optional[datetime], Optional[datetime]]:
    """YYYY-MM-DD days of the shop's time zone (both included) as UTC bounds; ValueError if not dates."""
    zone = ZoneInfo(services.shop_timezone)
    start = datetime.combine(date.fromisoformat(first), time.min, zone).astimezone(timezone.utc) if first else None
    end = (
        datetime.combine(date.fromisoformat(last) + timedelta(days=1), time.min, zone).astimezone(timezone.utc) if last else None
    )
    if start and end and end <= start:
        raise ValueError("the range ends before it starts")
    return start, end


def shop_search_terms(orders: Any, intent_names: Dict[str, str], intents: List[str], text: str) -> SearchTerms:
    """What ``text`` can mean: a buyer (name or id), an order number (its buyer), a product (its
    names and page), an intent (English or Chinese name), or words of a message."""
    terms = SearchTerms(text=text)
    if not text:
        return terms
    terms.intents = [i for i in [*intents, "nlu_fallback"] if text == i or (intent_names.get(i) and text in intent_names[i])]
    if orders is None:
        return terms
    terms.buyer_ids = orders.find_buyers(text)
    order = orders.get_order(text) if text.isdigit() else None
    if order is not None:
        terms.buyer_ids.append(order.buyer_id)
    product = orders.find_product(text)
    if product is not None:
        terms.product_id = product.id
        terms.product_names = [product.name, *product.aliases]
    return terms


def _history_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """Searching past conversations and exporting them (staff only, read only)."""
    history, run_db = ConversationHistory(services.store.engine), services.run_db

    def refused(code: str):
        return response.json({"error": code, "message": services.strings.get(code, code)}, status=400)

    async def names_of(buyer_ids: List[str]) -> Dict[str, str]:
        if services.orders is None or not buyer_ids:
            return {}
        try:
            return await run_db(services.orders.buyer_names, buyer_ids)
        except RepositoryUnavailable:
            return {}

    @bp.get("/agent/api/search")
    @agents_only
    async def search(request: Request, agent):
        text = str(request.args.get("q") or "").strip()[:64]
        try:
            start, end = _day_bounds(services, str(request.args.get("from") or ""), str(request.args.get("to") or ""))
        except ValueError:
            return refused("search_bad_dates")
        if not text and not (start or end):
            return refused("search_empty")
        intents = sorted(await run_db(services.project.intent_names))
        try:
            terms = await run_db(shop_search_terms, services.orders, services.intent_names, intents, text)
        except RepositoryUnavailable:
            terms = shop_search_terms(None, services.intent_names, intents, text)
        terms.start, terms.end = start, end
        found = await run_db(history.search, terms)
        names = await names_of([r["buyer_id"] for r in found if r["buyer_id"]])
        for row in found:
            row["buyer_name"] = names.get(row["buyer_id"]) if row["buyer_id"] else None
        return response.json({"conversations": found})

    @bp.get("/agent/api/export")
    @agents_only
    async def export(request: Request, agent):
        kind = str(request.args.get("format") or "csv")
        session_id = str(request.args.get("session_id") or "")[:64] or None
        if kind not in ("csv", "jsonl"):
            return refused("export_bad_format")
        try:
            start, end = _day_bounds(services, str(request.args.get("from") or ""), str(request.args.get("to") or ""))
        except ValueError:
            return refused("search_bad_dates")
        if session_id is None and not (start and end):
            return refused("export_needs_range")
        if session_id is None and start and end and end - start > timedelta(days=MAX_EXPORT_DAYS):
            return refused("export_range_too_long")
        rows = await run_db(history.export_rows, session_id, start, end)
        names = await names_of(list({r["buyer_id"] for r in rows if r["buyer_id"]}))
        for row in rows:
            row["buyer_name"] = names.get(row["buyer_id"]) if row["buyer_id"] else None
        stem = (
            f"conversation-{session_id}" if session_id else f"conversations-{request.args.get('from')}-{request.args.get('to')}"
        )
        stem = re.sub(r"[^A-Za-z0-9_.-]", "", stem)
        body, content_type = (
            (as_csv(rows), "text/csv; charset=utf-8") if kind == "csv" else (as_jsonl(rows), "application/x-ndjson")
        )
        return response.text(
            body,
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{stem}.{kind}"', "Cache-Control": "no-store"},
        )


def register_agent_events(sio: socketio.AsyncServer, services: AgentServices) -> None:
    """The /agent socket.io namespace: live updates for logged-in agents only."""

    @sio.on("connect", namespace=AGENT_NAMESPACE)
    async def agent_connect(sid, environ, auth=None):
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = cookie[COOKIE].value if COOKIE in cookie else None
        who = await services.auth.who(token)
        if who is None or who["role"] not in AGENT_ROLES:
            raise socketio.exceptions.ConnectionRefusedError("agents only")
        await sio.save_session(sid, who, namespace=AGENT_NAMESPACE)
