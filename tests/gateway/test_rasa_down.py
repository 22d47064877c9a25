"""With the Rasa server down, the buyer gets the polite 系统繁忙 reply and the gateway stays up."""

import asyncio
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests
import socketio
import yaml

from bot.db_migrate import upgrade
from bot.db_schema import GATEWAY
from tests.conftest import ROOT
from tests.servers import free_port

pytestmark = pytest.mark.slow


def test_rasa_down_gives_the_busy_reply(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        GATEWAY_PORT=str(port),
        RASA_PORT=str(free_port()),  # nothing listens there
        GATEWAY_DB_URL=f"sqlite:///{tmp_path / 'gateway.db'}",
        ORDERS_DB_URL=f"sqlite:///{tmp_path / 'shop.db'}",
        UPLOADS_DIR=str(tmp_path / "uploads"),
    )
    upgrade(env["GATEWAY_DB_URL"], [GATEWAY])  # as `make run` does before it starts the gateway
    gateway = subprocess.Popen([sys.executable, "-m", "bot", "gateway"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        assert requests.get(f"{url}/ready", timeout=5).status_code == 503

        async def scenario():
            client = socketio.AsyncClient(reconnection=False)
            messages = []
            client.on("message", messages.append)
            await client.connect(url, auth={"session_id": str(uuid.uuid4())}, headers={"Origin": url}, transports=["websocket"])
            ack = await client.call("buyer_message", {"client_id": str(uuid.uuid4()), "text": "有货吗"}, timeout=30)
            for _ in range(100):
                if any(m["role"] == "bot" for m in messages):
                    break
                await asyncio.sleep(0.1)
            await client.disconnect()
            return ack, messages

        ack, messages = asyncio.run(scenario())
        assert ack["ok"]
        [reply] = [m for m in messages if m["role"] == "bot"]
        busy = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"]["service_busy"]
        assert reply["text"] == busy and "人工" in busy
        assert requests.get(f"{url}/health", timeout=5).ok
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
