"""Gateway app factory: the demo shop pages with the chat widget, the widget's socket.io endpoint,
the JSON API (history, photo upload, order events) and health/readiness."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Dict, Optional

import socketio
import yaml
from sanic import Sanic, response
from sqlalchemy.exc import SQLAlchemyError
from sanic.request import Request

from bot.gateway.agent_api import register_agent_console
from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.pages import register_pages
from bot.gateway.rasa_client import RasaClient
from bot.gateway import security
from bot.gateway.rate_limit import RateLimiter, SessionLocks
from bot.gateway.store import GatewayStore
from bot.gateway.trainer_api import demo_preview_values, register_trainer_console
from bot.shop.identity import issue_buyer_token, verify_buyer_token
from bot.shop.orders import build_repository
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.training.jobs import TrainingJobs
from bot.training.project_data import ProjectData
from bot.settings import MAX_MESSAGE_CHARS, PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SOCKET_IO_CLIENT = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SESSION_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
MAX_CHARS = MAX_MESSAGE_CHARS
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
UPLOAD_CLEANUP_EVERY_SECONDS = 3600
ORDER_EVENTS = ("shipped", "out_for_delivery", "delivered", "exception", "unpaid", "oversold")


def load_strings(path: Path) -> Dict[str, Dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def photo_extension(head: bytes) -> Optional[str]:
    for magic, extension in PHOTO_TYPES.items():
        if head.startswith(magic) and (extension != "webp" or head[8:12] == b"WEBP"):
            return extension
    return None


def create_app(settings: Optional[Settings] = None, name: str = "qinkefu_gateway") -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_PHOTO_BYTES + 64 * 1024
    app.ctx.settings = settings
    strings = load_strings(settings.gateway_strings_file)
    # Several gateways share their socket.io rooms through Redis (an emit reaches a buyer connected to
    # any gateway); one gateway keeps them in memory.
    manager = socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel) if settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="sanic", cors_allowed_origins=settings.allowed_origins, ping_interval=10, ping_timeout=10,
        client_manager=manager,
    )
    sio.attach(app)
    app.ctx.sio = sio
    # Messages, photo uploads and handoffs are limited per conversation, per buyer and per client
    # address (X-Forwarded-For believed from GATEWAY_TRUSTED_PROXIES only), so new session ids buy nothing.
    limiter = RateLimiter(burst=settings.rate_burst, per_second=settings.rate_per_second)
    ip_limiter = RateLimiter(burst=settings.ip_rate_burst, per_second=settings.ip_rate_per_second)
    upload_limiter = RateLimiter(burst=settings.rate_burst, per_second=settings.rate_per_second / 5)
    turn_locks = SessionLocks()
    # Every database call of a handler goes through run_db (a bounded thread pool opened below).
    run_db = DbRunner()
    app.ctx.run_db = run_db
    security.install(app, settings.allowed_origins, settings.trusted_proxies)

    def within_limits(session_id: str, buyer_id: Optional[str], ip: str, buckets: RateLimiter = limiter) -> bool:
        keys = [f"session:{session_id}"] + ([f"buyer:{buyer_id}"] if buyer_id else [])
        return buckets.allow_all(*keys) and ip_limiter.allow(f"ip:{ip}")

    def buyer_from_request(request: Request) -> Optional[str]:
        token = request.headers.get("x-buyer-token") or None
        return verify_buyer_token(settings.buyer_token_secret, token) if token else None

    @app.listener("before_server_start")
    async def open_resources(app: Sanic, _loop) -> None:
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        run_db.open()
        app.ctx.store = GatewayStore(settings.gateway_db_url)
        app.ctx.queue = ReviewQueue(app.ctx.store.engine)
        app.ctx.accounts = AgentAccounts(app.ctx.store.engine)
        app.ctx.routing = RoutingPolicy.load(settings.routing_file)
        app.ctx.orders = build_repository(settings.orders_db_url)
        app.ctx.rasa = RasaClient(
            settings.rasa_url, max_in_flight=settings.rasa_max_in_flight, token=settings.rasa_auth_token
        )
        await app.ctx.rasa.open()
        app.ctx.project = ProjectData(settings.trainer_project_dir)
        app.ctx.project.fixed_intents = set(app.ctx.project.intents())
        app.ctx.jobs = TrainingJobs(
            app.ctx.store.engine,
            settings.trainer_project_dir,
            settings.trainer_project_dir / "models",
            settings.rasa_replica_urls,
            rasa_token=settings.rasa_auth_token,
        )
        app.ctx.jobs.run_db = run_db
        app.ctx.preview_values = lambda: run_db(demo_preview_values, app.ctx.orders)
        app.ctx.conversations = Conversations(
            app.ctx.store, app.ctx.rasa, app.ctx.queue, app.ctx.routing, strings["gateway"], app.ctx.notify_agents,
            run_db,
        )

        # An agent signed in to the console, or connected to it here (else held replies are unattended at once).
        async def agents_online() -> bool:
            return any(True for _ in sio.manager.get_participants("/agent", None)) or await run_db(
                app.ctx.accounts.agents_signed_in
            )

        app.ctx.conversations.agents_online = agents_online

    @app.listener("after_server_start")
    async def start_upload_cleanup(app: Sanic, _loop) -> None:
        async def clean_forever() -> None:
            while True:
                security.remove_old_uploads(settings.uploads_dir, settings.uploads_retention_days)
                await asyncio.sleep(UPLOAD_CLEANUP_EVERY_SECONDS)

        app.ctx.upload_cleanup = asyncio.ensure_future(clean_forever())

    @app.listener("after_server_stop")
    async def close_resources(app: Sanic, _loop) -> None:
        cleanup = getattr(app.ctx, "upload_cleanup", None)
        if cleanup is not None:
            cleanup.cancel()
        await app.ctx.rasa.close()
        app.ctx.store.close()
        run_db.close()

    def room_emitter(session_id: str):
        async def emit(event: str, data: Dict[str, Any]) -> None:
            await sio.emit(event, data, room=session_id)

        return emit

    # -- socket.io -------------------------------------------------------------------------
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
        if not await run_db(app.ctx.store.claim_session, session_id, buyer_id):
            raise socketio.exceptions.ConnectionRefusedError("session_not_yours")
        request = environ.get("sanic.request")
        ip = security.client_ip(request, settings.trusted_proxies) if request is not None else ""
        await sio.save_session(
            sid, {"session_id": session_id, "buyer_id": buyer_id, "token": token if buyer_id else None, "product_id": product_id, "ip": ip}
        )
        await sio.enter_room(sid, session_id)
        if buyer_id:
            for pending in await run_db(app.ctx.store.take_pending_events, buyer_id):
                sio.start_background_task(deliver_event, session_id, buyer_id, pending["order_id"], pending["event"])

    @sio.event
    async def buyer_message(sid, data=None):
        session = await sio.get_session(sid)
        gateway_strings = strings["gateway"]
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
        if len(text) > MAX_CHARS:
            return {"ok": False, "error": "too_long", "message": gateway_strings["too_long"].format(max_chars=MAX_CHARS)}
        session_id = session["session_id"]
        if not within_limits(session_id, session.get("buyer_id"), session.get("ip") or ""):
            return {"ok": False, "error": "rate_limited", "message": gateway_strings["rate_limited"]}
        try:
            stored = await run_db(app.ctx.store.add_message, session_id, "buyer", text, {"image": image} if image else {}, client_id)
        except SQLAlchemyError:
            # Nothing is lost: the widget keeps the message in its outbox and sends it again.
            logger.exception("gateway database unavailable: message %s of %s not taken", client_id, session_id)
            return {"ok": False, "error": "unavailable", "message": gateway_strings["store_down"]}
        if stored is None:
            return {"ok": True, "duplicate": True}
        emit = room_emitter(session_id)
        await emit("message", stored)
        await app.ctx.notify_agents("buyer_message", {"session_id": session_id, "message": stored})
        product_id = str(data.get("product_id") or session.get("product_id") or "")[:16] or None
        metadata = {k: v for k, v in {"buyer_token": session.get("token"), "product_id": product_id}.items() if v}
        sio.start_background_task(run_turn, session_id, session.get("buyer_id"), text, payload, image, metadata, client_id)
        return {"ok": True, "id": stored["id"]}

    async def run_turn(
        session_id: str, buyer_id: Optional[str], text: str, payload: Optional[str], image: Optional[str], metadata,
        message_id: str,
    ) -> None:
        async with turn_locks.hold(session_id):
            emit = room_emitter(session_id)
            try:
                if image and not text and not payload:
                    stored = await run_db(app.ctx.store.add_message, session_id, "bot", strings["gateway"]["photo_received"])
                    await emit("message", stored)
                    return
                await app.ctx.conversations.buyer_turn(
                    session_id, buyer_id, text, payload or text, metadata, emit, message_id
                )
            except SQLAlchemyError:
                logger.exception("gateway database unavailable during a turn of %s", session_id)
                await emit("typing", {"on": False})
                await emit("notice", {"text": strings["gateway"]["reply_lost"]})

    async def deliver_event(session_id: str, buyer_id: str, order_id: str, event: str) -> None:
        entities = {"order_id": order_id, "buyer_token": issue_buyer_token(settings.buyer_token_secret, buyer_id, 600)}
        async with turn_locks.hold(session_id):
            await app.ctx.conversations.order_event(
                session_id, f"EXTERNAL_order_{event}", entities, room_emitter(session_id)
            )

    # -- HTTP API --------------------------------------------------------------------------
    @app.get("/health")
    async def health(_: Request):
        # Which gateway answered: behind the load balancer, operators (and the fault tests) see it.
        return response.json({"status": "ok", "gateway": f"{settings.host}:{settings.gateway_port}"})

    @app.get("/ready")
    async def ready(_: Request):
        checks = {"rasa": await app.ctx.rasa.healthy()}
        status = 200 if all(checks.values()) else 503
        return response.json({"ready": status == 200, "checks": checks}, status=status)

    @app.get("/api/history")
    async def history(request: Request):
        session_id = request.args.get("session_id", "")
        if not SESSION_ID.match(session_id):
            return response.json({"error": "invalid session_id"}, status=400)
        # A buyer's conversation is shown with that buyer's token (X-Buyer-Token) only.
        if not await run_db(app.ctx.store.may_read, session_id, buyer_from_request(request)):
            return response.json({"error": "not your conversation"}, status=403)
        return response.json({"messages": await run_db(app.ctx.store.history, session_id)})

    @app.post("/api/upload")
    async def upload(request: Request):
        session_id = (request.form.get("session_id") or "") if request.form else ""
        photo = request.files.get("photo") if request.files else None
        if not SESSION_ID.match(session_id) or photo is None:
            return response.json({"ok": False, "error": "expected session_id and photo"}, status=400)
        buyer_id = buyer_from_request(request)
        if not await run_db(app.ctx.store.may_read, session_id, buyer_id):
            return response.json({"ok": False, "error": "not your conversation"}, status=403)
        if not within_limits(session_id, buyer_id, security.client_ip(request, settings.trusted_proxies), upload_limiter):
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

    @app.get("/uploads/<name>")
    async def uploaded(_: Request, name: str):
        if not re.match(r"^[a-f0-9]{32}\.(jpg|png|webp)$", name) or not (settings.uploads_dir / name).is_file():
            return response.json({"error": "not found"}, status=404)
        return await response.file(settings.uploads_dir / name)

    @app.post("/api/order-events")
    async def order_events(request: Request):
        if not settings.shop_api_key or request.headers.get("x-shop-key") != settings.shop_api_key:
            return response.json({"error": "unauthorized"}, status=401)
        body = request.json if isinstance(request.json, dict) else {}
        order_id, event = str(body.get("order_id") or ""), str(body.get("event") or "")
        if event not in ORDER_EVENTS:
            return response.json({"error": f"event must be one of {ORDER_EVENTS}"}, status=400)
        order = await run_db(app.ctx.orders.get_order, order_id)
        if order is None:
            return response.json({"error": "unknown order"}, status=404)
        # Only a conversation the buyer opened with their own token gets the event; the answer
        # names no conversation.
        session_id = await run_db(app.ctx.store.latest_session_of, order.buyer_id)
        if session_id is None:
            await run_db(app.ctx.store.add_pending_event, order.buyer_id, order.id, event)
            return response.json({"delivered": False, "queued": True})
        await deliver_event(session_id, order.buyer_id, order.id, event)
        return response.json({"delivered": True})

    # -- widget assets ---------------------------------------------------------------------
    @app.get("/widget/strings")
    async def widget_strings(_: Request):
        return response.json(dict(strings["widget"], max_chars=MAX_MESSAGE_CHARS), headers={"Cache-Control": "no-cache"})

    app.static("/widget/widget.js", str(STATIC / "widget.js"), content_type="application/javascript; charset=utf-8")
    app.static("/widget/widget.css", str(STATIC / "widget.css"), content_type="text/css; charset=utf-8")
    app.static("/widget/vendor/socket.io.min.js", str(SOCKET_IO_CLIENT), content_type="application/javascript")

    # The demo shop (pages that sign a token for ?buyer=…) only when QKF_DEMO_SHOP is on (make run).
    register_pages(app, settings, strings["pages"], demo=settings.demo_shop)
    register_agent_console(app, sio, settings, strings["agent"], room_emitter)
    register_trainer_console(app, strings["trainer"])
    return app


def serve(settings: Settings) -> None:
    create_app(settings).run(host=settings.host, port=settings.gateway_port, access_log=False, workers=1)
