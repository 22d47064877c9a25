"""The agent console: login, the review queue, acting on suggestions, taking over conversations,
metrics; and the /agent socket.io namespace for live updates. Agents only: buyers and anonymous
users get 401 on every endpoint and are refused on the namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import socketio
from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.live import AGENT_NAMESPACE, LiveUpdates
from bot.gateway.staff_auth import COOKIE, StaffAuth, register_login, serve_console_assets, staff_only
from bot.gateway.store import GatewayStore
from bot.review.queue import AlreadyHandled, ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.shop.identity import issue_buyer_token
from bot.training.project_data import ProjectData

TEMPLATES = Path(__file__).resolve().parent / "templates"
AGENT_ROLES = ("agent",)


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment else None


def queue_snapshot(store, queue) -> Dict[str, Any]:
    """What the console polls, read in a constant number of queries however long the queue is:
    pending suggestions with their conversations' takeover, and conversations waiting for a human
    with their buyer and last buyer text."""
    pending = queue.pending()
    waiting = queue.waiting_for_human()
    waiting_ids = [item["session_id"] for item in waiting]
    return {
        "pending": pending,
        "taken_over_by": queue.takeovers(s["session_id"] for s in pending),
        "waiting": waiting,
        "buyers": store.buyers_of(waiting_ids),
        "last_texts": store.last_buyer_texts(waiting_ids, within=20),
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
    return bp


def _queue_routes(bp: Blueprint, services: AgentServices, agents_only: Callable) -> None:
    """What the console polls: the queue, one conversation, the intents, the metrics."""
    store, queue, routing, run_db = services.store, services.queue, services.routing, services.run_db

    @bp.get("/agent/api/queue")
    @agents_only
    async def queue_listing(_: Request, agent):
        snapshot = await run_db(queue_snapshot, store, queue)
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
        return response.json(
            {
                "session_id": session_id,
                "buyer_id": await run_db(store.buyer_of, session_id),
                "taken_over_by": await run_db(queue.taken_over_by, session_id),
                "messages": messages,
                "photos": [m["image"] for m in messages if m.get("image")],
            }
        )

    @bp.get("/agent/api/intents")
    @agents_only
    async def intent_list(_: Request, agent):
        return response.json({"intents": sorted(services.project.intents())})

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
        if intent not in services.project.intents():
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
        await run_db(queue.hand_back, session_id)
        await notify("queue_changed", {})
        return response.json({"ok": True})

    @bp.post("/agent/api/sessions/<session_id>/messages")
    @agents_only
    async def agent_message(request: Request, agent, session_id: str):
        body = request.json if isinstance(request.json, dict) else {}
        text = str(body.get("text") or "").strip()
        if not text or len(text) > 2000:
            return response.json({"error": "text must be 1 to 2000 characters"}, status=400)
        stored = await services.conversations.agent_says(session_id, agent["username"], text, room_emitter)
        return response.json({"ok": True, "message": stored})


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
