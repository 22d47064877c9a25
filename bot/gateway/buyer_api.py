"""The buyer's side of the gateway: the widget's socket.io events (connect, buyer_message), the JSON
API (history, photo upload, order events), uploaded photos, the widget's assets, health/readiness."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import socketio
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sqlalchemy.exc import SQLAlchemyError

from bot.gateway import security
from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.live import LiveUpdates
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limit import RateLimiter, SessionLocks
from bot.gateway.store import GatewayStore
from bot.settings import MAX_MESSAGE_CHARS, PROJECT_ROOT, Settings
from bot.shop.identity import issue_buyer_token, verify_buyer_token

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SOCKET_IO_CLIENT = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SESSION_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
UPLOAD_CLEANUP_EVERY_SECONDS = 3600
ORDER_EVENTS = ("shipped", "out_for_delivery", "delivered", "exception", "unpaid", "oversold")


def photo_extension(head: bytes) -> Optional[str]:
    for magic, extension in PHOTO_TYPES.items():
        if head.startswith(magic) and (extension != "webp" or head[8:12] == b"WEBP"):
            return extension
    return None


class BuyerLimits:
    """Messages, photo uploads and handoffs are limited per conversation, per buyer and per client
    address (X-Forwarded-For believed from GATEWAY_TRUSTED_PROXIES only), so new session ids buy
    nothing; and one conversation's turns run one at a time."""

    def __init__(self, settings: Settings) -> None:
        self.messages = RateLimiter(burst=settings.rate_burst, per_second=settings.rate_per_second)
        self.ips = RateLimiter(burst=settings.ip_rate_burst, per_second=settings.ip_rate_per_second)
        self.uploads = RateLimiter(burst=settings.rate_burst, per_second=settings.rate_per_second / 5)
        self.turns = SessionLocks()

    def allow(self, session_id: str, buyer_id: Optional[str], ip: str, buckets: Optional[RateLimiter] = None) -> bool:
        keys = [f"session:{session_id}"] + ([f"buyer:{buyer_id}"] if buyer_id else [])
        return (buckets or self.messages).allow_all(*keys) and self.ips.allow(f"ip:{ip}")


@dataclass
class BuyerServices:
    """What the buyer part needs. ``strings`` are gateway_strings.yml's "gateway" and "widget" texts."""

    settings: Settings
    strings: Dict[str, Dict[str, str]]
    store: GatewayStore
    conversations: Conversations
    orders: Any  # bot.shop.orders repository: get_order
    rasa: RasaClient
    live: LiveUpdates
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)
    limits: BuyerLimits = field(init=False)

    def __post_init__(self) -> None:
        self.limits = BuyerLimits(self.settings)


async def run_turn(
    services: BuyerServices,
    session_id: str,
    buyer_id: Optional[str],
    text: str,
    payload: Optional[str],
    image: Optional[str],
    metadata: Dict[str, Any],
    message_id: str,
) -> None:
    async with services.limits.turns.hold(session_id):
        emit = services.live.room_emitter(session_id)
        try:
            if image and not text and not payload:
                stored = await services.run_db(
                    services.store.add_message, session_id, "bot", services.strings["gateway"]["photo_received"]
                )
                await emit("message", stored)
                return
            await services.conversations.buyer_turn(session_id, buyer_id, text, payload or text, metadata, emit, message_id)
        except SQLAlchemyError:
            logger.exception("gateway database unavailable during a turn of %s", session_id)
            await emit("typing", {"on": False})
            await emit("notice", {"text": services.strings["gateway"]["reply_lost"]})


async def deliver_event(services: BuyerServices, session_id: str, buyer_id: str, order_id: str, event: str) -> None:
    entities = {"order_id": order_id, "buyer_token": issue_buyer_token(services.settings.buyer_token_secret, buyer_id, 600)}
    async with services.limits.turns.hold(session_id):
        await services.conversations.order_event(
            session_id, f"EXTERNAL_order_{event}", entities, services.live.room_emitter(session_id)
        )


def register_buyer_events(sio: socketio.AsyncServer, services: BuyerServices) -> None:
    """The widget's socket.io events on the default namespace."""
    settings, store, run_db = services.settings, services.store, services.run_db

    @sio.event
    async def connect(sid, environ, auth):
        auth = auth if isinstance(auth, dict) else {}
        session_id = str(auth.get("session_id") or "")
        if not SESSION_ID.match(session_id):
            raise socketio.exceptions.ConnectionRefusedError("invalid session id")
        token = auth.get("buyer_token") or None
        token = token if isinstance(token, str) else None
        buyer_id = verify_buyer_token(settings.buyer_token_secret, token) if token else None
        product_id = str(auth.get("product_id") or "")[:16] or None
        # A conversation belongs to the identity it was opened with: another buyer, or a visitor
        # who is not logged in, is refused and the widget opens a new conversation.
        if not await run_db(store.claim_session, session_id, buyer_id):
            raise socketio.exceptions.ConnectionRefusedError("session_not_yours")
        request = environ.get("sanic.request")
        ip = security.client_ip(request, settings.trusted_proxies) if request is not None else ""
        await sio.save_session(
            sid,
            {
                "session_id": session_id,
                "buyer_id": buyer_id,
                "token": token if buyer_id else None,
                "product_id": product_id,
                "ip": ip,
            },
        )
        await sio.enter_room(sid, session_id)
        if buyer_id:
            for pending in await run_db(store.take_pending_events, buyer_id):
                sio.start_background_task(deliver_event, services, session_id, buyer_id, pending["order_id"], pending["event"])

    @sio.event
    async def buyer_message(sid, data=None):
        session = await sio.get_session(sid)
        gateway_strings = services.strings["gateway"]
        if not isinstance(data, dict):
            return {"ok": False, "error": "invalid", "message": gateway_strings["empty"]}
        client_id = str(data.get("client_id") or "")
        if not CLIENT_ID.match(client_id):
            return {"ok": False, "error": "invalid", "message": gateway_strings["empty"]}
        text = data.get("text")
        text = text.strip() if isinstance(text, str) else ""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: not text a keyboard types
            return {"ok": False, "error": "invalid", "message": gateway_strings["empty"]}
        payload = data.get("payload")
        payload = payload if isinstance(payload, str) and payload.startswith("/") and len(payload) <= 200 else None
        image = data.get("image")
        image = image if isinstance(image, str) and re.match(r"^/uploads/[a-f0-9]{32}\.(jpg|png|webp)$", image) else None
        if not text and not payload and not image:
            return {"ok": False, "error": "empty", "message": gateway_strings["empty"]}
        if len(text) > MAX_MESSAGE_CHARS:
            return {"ok": False, "error": "too_long", "message": gateway_strings["too_long"].format(max_chars=MAX_MESSAGE_CHARS)}
        session_id = session["session_id"]
        if not services.limits.allow(session_id, session.get("buyer_id"), session.get("ip") or ""):
            return {"ok": False, "error": "rate_limited", "message": gateway_strings["rate_limited"]}
        product_id = str(data.get("product_id") or session.get("product_id") or "")[:16] or None
        # The product page the buyer writes from is kept with the message (the agent console shows it).
        extra = {k: v for k, v in {"image": image, "product_id": product_id}.items() if v}
        try:
            stored = await run_db(store.add_message, session_id, "buyer", text, extra, client_id)
        except SQLAlchemyError:
            # Nothing is lost: the widget keeps the message in its outbox and sends it again.
            logger.exception("gateway database unavailable: message %s of %s not taken", client_id, session_id)
            return {"ok": False, "error": "unavailable", "message": gateway_strings["store_down"]}
        if stored is None:
            return {"ok": True, "duplicate": True}
        await services.live.room_emitter(session_id)("message", stored)
        await services.live.notify_agents("buyer_message", {"session_id": session_id, "message": stored})
        metadata = {k: v for k, v in {"buyer_token": session.get("token"), "product_id": product_id}.items() if v}
        sio.start_background_task(
            run_turn, services, session_id, session.get("buyer_id"), text, payload, image, metadata, client_id
        )
        return {"ok": True, "id": stored["id"]}


def buyer_blueprint(services: BuyerServices) -> Blueprint:
    """Health and readiness, the JSON API, the widget's assets; the uploads folder and its cleanup."""
    settings = services.settings
    bp = Blueprint("buyer")

    @bp.listener("before_server_start")
    async def make_uploads_dir(_app: Sanic, _loop) -> None:
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)

    cleanup: Dict[str, asyncio.Future] = {}

    @bp.listener("after_server_start")
    async def start_upload_cleanup(_app: Sanic, _loop) -> None:
        async def clean_forever() -> None:
            while True:
                await asyncio.get_running_loop().run_in_executor(
                    None, security.remove_old_uploads, settings.uploads_dir, settings.uploads_retention_days
                )
                await asyncio.sleep(UPLOAD_CLEANUP_EVERY_SECONDS)

        cleanup["task"] = asyncio.ensure_future(clean_forever())

    @bp.listener("after_server_stop")
    async def stop_upload_cleanup(_app: Sanic, _loop) -> None:
        if "task" in cleanup:
            cleanup.pop("task").cancel()

    @bp.get("/health")
    async def health(_: Request):
        # Which gateway answered: behind the load balancer, operators (and the fault tests) see it.
        return response.json({"status": "ok", "gateway": f"{settings.host}:{settings.gateway_port}"})

    @bp.get("/ready")
    async def ready(_: Request):
        checks = {"rasa": await services.rasa.healthy()}
        status = 200 if all(checks.values()) else 503
        return response.json({"ready": status == 200, "checks": checks}, status=status)

    _api_routes(bp, services)

    # -- widget assets ---------------------------------------------------------------------
    @bp.get("/widget/strings")
    async def widget_strings(_: Request):
        return response.json(dict(services.strings["widget"], max_chars=MAX_MESSAGE_CHARS), headers={"Cache-Control": "no-cache"})

    bp.static(
        "/widget/widget.js", str(STATIC / "widget.js"), name="widget_js", content_type="application/javascript; charset=utf-8"
    )
    bp.static("/widget/widget.css", str(STATIC / "widget.css"), name="widget_css", content_type="text/css; charset=utf-8")
    bp.static(
        "/widget/vendor/socket.io.min.js", str(SOCKET_IO_CLIENT), name="socket_io_js", content_type="application/javascript"
    )
    return bp


def _api_routes(bp: Blueprint, services: BuyerServices) -> None:
    """The widget's history and photo uploads (for the conversation's owner only), the photos, and
    the shop's order events."""
    settings, store, run_db = services.settings, services.store, services.run_db

    def buyer_from_request(request: Request) -> Optional[str]:
        token = request.headers.get("x-buyer-token") or None
        return verify_buyer_token(settings.buyer_token_secret, token) if token else None

    @bp.get("/api/history")
    async def history(request: Request):
        session_id = request.args.get("session_id", "")
        if not SESSION_ID.match(session_id):
            return response.json({"error": "invalid session_id"}, status=400)
        # A buyer's conversation is shown with that buyer's token (X-Buyer-Token) only.
        if not await run_db(store.may_read, session_id, buyer_from_request(request)):
            return response.json({"error": "not your conversation"}, status=403)
        return response.json({"messages": await run_db(store.history, session_id)})

    @bp.post("/api/upload")
    async def upload(request: Request):
        session_id = (request.form.get("session_id") or "") if request.form else ""
        photo = request.files.get("photo") if request.files else None
        if not SESSION_ID.match(session_id) or photo is None:
            return response.json({"ok": False, "error": "expected session_id and photo"}, status=400)
        buyer_id = buyer_from_request(request)
        if not await run_db(store.may_read, session_id, buyer_id):
            return response.json({"ok": False, "error": "not your conversation"}, status=403)
        ip = security.client_ip(request, settings.trusted_proxies)
        if not services.limits.allow(session_id, buyer_id, ip, services.limits.uploads):
            return response.json({"ok": False, "error": "rate_limited"}, status=429)
        if len(photo.body) > MAX_PHOTO_BYTES:
            return response.json({"ok": False, "error": "too_large"}, status=413)
        if photo_extension(photo.body[:16]) is None:
            return response.json({"ok": False, "error": "unsupported type"}, status=415)
        # Decoded and saved again (Pillow): what is stored is a picture, without its metadata.
        loop = asyncio.get_running_loop()
        reencoded = await loop.run_in_executor(None, security.reencode_photo, photo.body)
        if reencoded is None:
            return response.json({"ok": False, "error": "unsupported type"}, status=415)
        body, extension = reencoded
        name = f"{uuid.uuid4().hex}.{extension}"
        (settings.uploads_dir / name).write_bytes(body)
        return response.json({"ok": True, "url": f"/uploads/{name}"})

    @bp.get("/uploads/<name>")
    async def uploaded(_: Request, name: str):
        if not re.match(r"^[a-f0-9]{32}\.(jpg|png|webp)$", name) or not (settings.uploads_dir / name).is_file():
            return response.json({"error": "not found"}, status=404)
        return await response.file(settings.uploads_dir / name)

    @bp.post("/api/order-events")
    async def order_events(request: Request):
        if not settings.shop_api_key or request.headers.get("x-shop-key") != settings.shop_api_key:
            return response.json({"error": "unauthorized"}, status=401)
        body = request.json if isinstance(request.json, dict) else {}
        order_id, event = str(body.get("order_id") or ""), str(body.get("event") or "")
        if event not in ORDER_EVENTS:
            return response.json({"error": f"event must be one of {ORDER_EVENTS}"}, status=400)
        order = await run_db(services.orders.get_order, order_id)
        if order is None:
            return response.json({"error": "unknown order"}, status=404)
        # Only a conversation the buyer opened with their own token gets the event; the answer
        # names no conversation.
        session_id = await run_db(store.latest_session_of, order.buyer_id)
        if session_id is None:
            await run_db(store.add_pending_event, order.buyer_id, order.id, event)
            return response.json({"delivered": False, "queued": True})
        await deliver_event(services, session_id, order.buyer_id, order.id, event)
        return response.json({"delivered": True})
