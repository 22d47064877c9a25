"""Making a model the one buyers talk to. With a model server (MODEL_SERVER_URL) the model is
published to it and activated there, and every Rasa replica pulls it within MODEL_PULL_SECONDS;
without one it is loaded into each replica with Rasa's PUT /model (a local file path: one shared
disk only, the embedded profile). The training worker delivers a new model, the trainer console a
rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import aiohttp

from bot.model_server.client import ModelServerClient
from bot.settings import Settings


class ModelDelivery:
    def __init__(self, rasa_urls: Sequence[str], rasa_token: str = "", model_server: Optional[ModelServerClient] = None) -> None:
        # Every Rasa replica loads the new model (behind a load balancer one PUT would reach one).
        self.rasa_urls = [url.rstrip("/") for url in rasa_urls]
        self.rasa_token = rasa_token  # RASA_AUTH_TOKEN: PUT /model is part of Rasa's protected API
        self.model_server = model_server

    @classmethod
    def from_settings(cls, settings: Settings) -> "ModelDelivery":
        server = ModelServerClient(settings.model_server_url, settings.model_server_token) if settings.model_server_url else None
        return cls(settings.rasa_replica_urls, settings.rasa_auth_token, server)

    async def deliver(self, name: str, path: Path) -> None:
        if self.model_server is not None:
            await self.model_server.publish_and_activate(name, path)
        else:
            await self.load_into_rasa(path)

    async def keep(self, name: str, path: Path) -> None:
        """A model that does not go live now, kept where a later activation finds it: published to
        the model server (the worker's own files may be gone by then), else left on this disk."""
        if self.model_server is not None:
            await self.model_server.publish(name, path)

    async def load_into_rasa(self, path: Path) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
            for rasa_url in self.rasa_urls:
                params = {"token": self.rasa_token} if self.rasa_token else {}
                async with http.put(f"{rasa_url}/model", json={"model_file": str(Path(path).resolve())}, params=params) as reply:
                    if reply.status not in (200, 204):
                        raise RuntimeError(
                            f"the Rasa server {rasa_url} refused the model: HTTP {reply.status} {await reply.text()}"
                        )
