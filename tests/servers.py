"""Starts the real action server and Rasa server (on free ports) for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests

from bot.db_migrate import upgrade
from bot.db_schema import GATEWAY
from tests.conftest import ROOT

MODEL = ROOT / "models" / "qinkefu.tar.gz"
SHOP_KEY = "test-shop-key"
RASA_TOKEN = "test-rasa-token-0123456789abcdef0123"
ACTION_SECRET = "test-action-secret-0123456789abcdef"
MODEL_SERVER_TOKEN = "test-model-server-token-0123456789abc"


# The console tests run a shop that has an agent approve every after-sale reply (a stricter
# routing.yml than the shipped one, which holds only the replies that commit the shop).
AFTER_SALE_INTENTS = ["request_return", "price_difference", "complain", "report_quality_issue", "wrong_item"]


def write_routing(workdir: Path, **changes) -> Path:
    """A copy of data/shop/routing.yml with ``changes``; ``ROUTING_POLICY_FILE`` points at it."""
    import yaml

    routing = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))
    routing.update(changes)
    path = workdir / "routing.yml"
    path.write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_model() -> Path:
    if not MODEL.exists():
        raise AssertionError(f"{MODEL} is missing: run `make train` (make test does it)")
    return MODEL


class RunningBot:
    """Action server + Rasa server on a private SQLite copy of the demo shop."""

    def __init__(self, workdir: Path, secret: str, gateway: bool = False, demo_shop: bool = True) -> None:
        self.workdir = workdir
        self.with_gateway = gateway
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.gateway_port = free_port()
        self.db_path = workdir / "shop.db"
        self.env = dict(
            os.environ,
            ORDERS_DB_URL=f"sqlite:///{self.db_path}",
            ACTION_PORT=str(self.action_port),
            RASA_PORT=str(self.rasa_port),
            GATEWAY_PORT=str(self.gateway_port),
            GATEWAY_DB_URL=f"sqlite:///{workdir / 'gateway.db'}",
            UPLOADS_DIR=str(workdir / "uploads"),
            SHOP_API_KEY=SHOP_KEY,
            RASA_TRACKER_DB=str(workdir / "tracker.db"),
            BUYER_TOKEN_SECRET=secret,
            RASA_AUTH_TOKEN=RASA_TOKEN,
            ACTION_SERVER_SECRET=ACTION_SECRET,
            QKF_DEMO_SHOP="1" if demo_shop else "0",
            QKF_VAR_DIR=str(workdir),
            QKF_HOST="127.0.0.1",
            TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
        )
        self.processes: List[subprocess.Popen] = []
        self.logs: Dict[str, Path] = {}

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def _spawn(self, name: str, command: List[str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def _wait(self, url: str, process: subprocess.Popen, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {self.logs[name].read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{name} not ready after {timeout}s")

    def start(self, gateway_only: bool = False) -> "RunningBot":
        """Action server, Rasa and (with ``gateway``) the gateway; ``gateway_only``: just the gateway.
        As `make run` does, the schema is upgraded first: the shop's by the seed, the gateway's here."""
        subprocess.run(
            [sys.executable, "-m", "bot", "seed"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )
        upgrade(self.env["GATEWAY_DB_URL"], [GATEWAY])
        if gateway_only:
            gateway = self._spawn("gateway", [sys.executable, "-m", "bot", "gateway"])
            self._wait(f"{self.gateway_url}/health", gateway, "gateway", 60)
            return self
        model = require_model()
        actions = self._spawn("actions", [sys.executable, "-m", "bot", "actions"])
        rasa = self._spawn(
            "rasa",
            [
                sys.executable, "-m", "bot.rasa_server", "run", "--enable-api", "--model", str(model),
                "--interface", "127.0.0.1", "--port", str(self.rasa_port),
                "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
            ],
        )
        self._wait(f"http://127.0.0.1:{self.action_port}/health", actions, "actions", 60)
        self._wait(f"http://127.0.0.1:{self.rasa_port}/status?token={RASA_TOKEN}", rasa, "rasa", 240)
        if self.with_gateway:
            gateway = self._spawn("gateway", [sys.executable, "-m", "bot", "gateway"])
            self._wait(f"{self.gateway_url}/health", gateway, "gateway", 60)
        return self

    def start_training_worker(self) -> None:
        """The training worker `make run` starts beside the gateway: it trains what the console queues."""
        self._spawn("training-worker", [sys.executable, "-m", "bot", "training-worker"])

    def stop_actions(self) -> None:
        """Stops the action server (the first process started)."""
        self.processes[0].terminate()
        self.processes[0].wait(timeout=20)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def say(self, sender: str, text: str, metadata: Optional[dict] = None) -> List[dict]:
        body = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        reply = requests.post(self.rest_url, json=body, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def shop_say(self, sender: str, text: str, metadata: Optional[dict] = None) -> dict:
        """Through the shop channel: {"messages": [...], "parse": [...]}."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        reply = requests.post(f"http://127.0.0.1:{self.rasa_port}/webhooks/shop/webhook", json=body, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def trigger(self, sender: str, intent: str, entities: dict) -> List[dict]:
        reply = requests.post(
            f"http://127.0.0.1:{self.rasa_port}/conversations/{sender}/trigger_intent",
            params={"token": RASA_TOKEN},
            json={"name": intent, "entities": entities},
            timeout=60,
        )
        reply.raise_for_status()
        return reply.json().get("messages", [])

    def alive(self) -> bool:
        return requests.get(f"http://127.0.0.1:{self.rasa_port}/status", params={"token": RASA_TOKEN}, timeout=5).status_code == 200

    def tracker(self, sender: str) -> dict:
        """The conversation's tracker through Rasa's HTTP API (with the API token)."""
        reply = requests.get(
            f"http://127.0.0.1:{self.rasa_port}/conversations/{sender}/tracker", params={"token": RASA_TOKEN}, timeout=30
        )
        reply.raise_for_status()
        return reply.json()
