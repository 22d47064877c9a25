"""The model server's HTTP API (`python -m bot model-server`):

    GET  /health                       open: the supervisor's and the cluster's probes
    GET  /models/active                the active model, for Rasa's ``models: url:`` (ETag, 304)
    GET  /models                       the published models and which one is active
    PUT  /models/<name>                publish a model (the body is the .tar.gz)
    POST /models/<name>/activate       make a published model the active one (swap, rollback)

Everything but /health needs MODEL_SERVER_TOKEN, as Rasa sends it (endpoints.yml's ``models:
token:`` becomes the ``?token=`` query parameter) or as ``Authorization: Bearer``: none gets 401,
a wrong one 403. There is no default token; the server does not start without one."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from pathlib import Path
from typing import Any, Callable, Optional

from sanic import Blueprint, Sanic, response
from sanic.request import Request

from bot.model_server.store import ModelConflict, ModelStore, NotAModel, StoredModel, etag_matches, valid_name
from bot.settings import Settings

logger = logging.getLogger(__name__)
MODEL_MAX_BYTES = 1 << 30


def _given_token(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        return header[len("bearer ") :].strip()
    return request.args.get("token") or ""


def _described(model: StoredModel, active: Optional[StoredModel]) -> dict:
    return {
        "name": model.name,
        "sha256": model.sha256,
        "size": model.size,
        "published_at": model.published_at,
        "active": active is not None and active.name == model.name,
    }


def model_server_blueprint(store: ModelStore, token: str) -> Blueprint:
    if not token:
        raise ValueError("the model server needs MODEL_SERVER_TOKEN")
    bp = Blueprint("model_server")

    async def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    def refused(request: Request):
        """None when the request carries the token; else the 401 / 403 answer."""
        given = _given_token(request)
        if not given:
            return response.json({"error": "a token is needed"}, status=401)
        if not hmac.compare_digest(given.encode(), token.encode()):
            return response.json({"error": "wrong token"}, status=403)
        return None

    @bp.get("/health")
    async def health(_: Request):
        return response.json({"ok": True})

    @bp.get("/models/active")
    async def active_model(request: Request):
        denied = refused(request)
        if denied:
            return denied
        active = await off_loop(store.active)
        if active is None:
            # Rasa treats 404 as "no model yet" and asks again at its next pull.
            return response.json({"error": "no model is active"}, status=404)
        headers = {"ETag": active.etag, "filename": active.filename, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("if-none-match") or "", active.etag):
            return response.empty(status=304, headers=headers)
        return await response.file_stream(
            store.path(active.name), chunk_size=1 << 20, mime_type="application/gzip", headers=headers
        )

    @bp.get("/models")
    async def history(request: Request):
        denied = refused(request)
        if denied:
            return denied
        models, active = await off_loop(store.history), await off_loop(store.active)
        return response.json({"active": active.name if active else None, "models": [_described(m, active) for m in models]})

    @bp.put("/models/<name>", stream=True)
    async def publish(request: Request, name: str):
        denied = refused(request)
        if denied:
            return denied
        if not valid_name(name):
            return response.json({"error": "a model name is letters, digits, '.', '_' and '-'"}, status=400)
        stream = request.stream
        assert stream is not None  # a stream=True route
        temporary, handle = store.begin_upload()
        try:
            with handle:
                while True:
                    chunk = await stream.read()
                    if chunk is None:
                        break
                    handle.write(chunk)
            model, created = await off_loop(store.finish_upload, name, temporary)
        except NotAModel as error:
            return response.json({"error": str(error)}, status=400)
        except ModelConflict as error:
            return response.json({"error": str(error)}, status=409)
        finally:
            temporary.unlink(missing_ok=True)
        logger.info("model %s published (sha256 %s)", name, model.sha256)
        return response.json(_described(model, await off_loop(store.active)), status=201 if created else 200)

    @bp.post("/models/<name>/activate")
    async def activate(request: Request, name: str):
        denied = refused(request)
        if denied:
            return denied
        try:
            model = await off_loop(store.activate, name)
        except KeyError:
            return response.json({"error": "no such model"}, status=404)
        logger.info("model %s is active", name)
        return response.json(_described(model, model))

    return bp


def create_app(settings: Optional[Settings] = None, name: str = "qinkefu_model_server") -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MODEL_MAX_BYTES
    app.config.REQUEST_TIMEOUT = 600
    app.blueprint(model_server_blueprint(ModelStore(settings.model_server_dir), settings.model_server_token))
    return app


def serve(settings: Settings, seed: Optional[Path] = None) -> None:
    """Runs the server; ``seed``: publish and activate this model first when none is active."""
    if not settings.model_server_token:
        raise SystemExit("error: MODEL_SERVER_TOKEN is empty; set a random value of at least 32 characters")
    if seed is not None:
        if not seed.is_file():
            raise SystemExit(f"error: the model to start with, {seed}, is missing: run `make train`")
        seeded = ModelStore(settings.model_server_dir).seed(seed)
        if seeded is not None:
            logger.info("no model was active: %s is now (sha256 %s)", seeded.name, seeded.sha256)
    app = create_app(settings)
    # No access log: Rasa sends the token as a query parameter.
    app.run(host=settings.host, port=settings.model_server_port, access_log=False, workers=1)
