"""The trainer's side of the model server: publish a trained model, activate one by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import aiohttp


class ModelServerError(RuntimeError):
    """The model server refused or could not be reached (the trainer console shows the message)."""


class ModelServerClient:
    def __init__(self, url: str, token: str, timeout: float = 600) -> None:
        if not token:
            raise ValueError("MODEL_SERVER_TOKEN is empty")
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=self.timeout, headers=self.headers) as http:
                async with http.request(method, f"{self.url}{path}", **kwargs) as reply:
                    found = await reply.json(content_type=None) if reply.content_length != 0 else {}
                    if reply.status == 404:
                        raise KeyError(path)
                    if reply.status >= 300:
                        raise ModelServerError(f"the model server refused {method} {path}: HTTP {reply.status} {found}")
                    return found
        except aiohttp.ClientError as error:
            raise ModelServerError(f"the model server {self.url} cannot be reached: {error}") from error

    async def publish(self, name: str, path: Path) -> Dict[str, Any]:
        with open(path, "rb") as model:
            return await self._call("PUT", f"/models/{name}", data=model, headers={"Content-Type": "application/gzip"})

    async def activate(self, name: str) -> Dict[str, Any]:
        return await self._call("POST", f"/models/{name}/activate")

    async def publish_and_activate(self, name: str, path: Path) -> Dict[str, Any]:
        """Makes ``name`` the model every replica pulls: activates it, uploading it first when the
        server does not have it (a model the trainer just trained, or one from before the server)."""
        try:
            return await self.activate(name)
        except KeyError:
            await self.publish(name, path)
            return await self.activate(name)

    async def models(self) -> Dict[str, Any]:
        return await self._call("GET", "/models")
