"""Gateway app factory. For now: health and readiness (Rasa server and action server reachable)."""

from __future__ import annotations

from typing import Optional

import aiohttp
from sanic import Sanic, response
from sanic.request import Request

from bot.settings import Settings


def create_app(settings: Optional[Settings] = None, name: str = "qinkefu_gateway") -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic(name)
    app.ctx.settings = settings

    @app.listener("before_server_start")
    async def open_http(app: Sanic, _loop) -> None:
        app.ctx.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))

    @app.listener("after_server_stop")
    async def close_http(app: Sanic, _loop) -> None:
        await app.ctx.http.close()

    @app.get("/health")
    async def health(_: Request):
        return response.json({"status": "ok"})

    @app.get("/ready")
    async def ready(_: Request):
        checks = {
            "rasa": f"http://{settings.host}:{settings.rasa_port}/status",
            "actions": f"http://{settings.host}:{settings.action_port}/health",
        }
        results = {}
        for name, url in checks.items():
            try:
                async with app.ctx.http.get(url) as reply:
                    results[name] = reply.status == 200
            except (aiohttp.ClientError, OSError, TimeoutError):
                results[name] = False
        status = 200 if all(results.values()) else 503
        return response.json({"ready": status == 200, "checks": results}, status=status)

    return app


def serve(settings: Settings) -> None:
    create_app(settings).run(host=settings.host, port=settings.gateway_port, access_log=False, workers=1)
