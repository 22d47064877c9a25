"""The action server: rasa_sdk's Sanic app with the shop services opened at start."""

from __future__ import annotations

import hmac
import logging
from typing import Optional

from rasa_sdk.endpoint import create_app as create_rasa_sdk_app
from sanic import Sanic, response

from bot.action_server import services
from bot.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Optional[Settings] = None, shop: Optional[services.ShopServices] = None) -> Sanic:
    """Action server app; ``shop`` overrides the services built from ``settings`` (tests)."""
    settings = settings or Settings.from_env()
    app = create_rasa_sdk_app("actions", cors_origins="")
    secret = settings.action_server_secret

    @app.middleware("request")
    async def require_shared_secret(request):
        """Only Rasa (which sends ACTION_SERVER_SECRET in X-Action-Secret, endpoints.yml) runs
        actions; /health stays open for the supervisor and the load balancer."""
        if request.path == "/health":
            return None
        given = request.headers.get("x-action-secret") or ""
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.listener("before_server_start")
    async def open_services(app: Sanic, _loop) -> None:
        app.ctx.shop = shop or services.ShopServices.from_settings(settings)
        services.install(app.ctx.shop)
        logger.info("shop services ready (orders: %s)", type(app.ctx.shop.repository).__name__)

    @app.listener("after_server_stop")
    async def close_services(app: Sanic, _loop) -> None:
        close = getattr(app.ctx.shop.repository, "close", None)
        if close:
            close()
        services.install(None)

    return app


def serve(settings: Settings) -> None:
    app = create_app(settings)
    app.run(host=settings.host, port=settings.action_port, access_log=False, workers=1)
