"""The production profile started the way `make run-prod` starts it (bot.ops.production), on free ports, with
its own PostgreSQL databases, Redis key prefix and RabbitMQ virtual host and user, so the fault tests
can kill and restart parts."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import redis
import requests
import socketio
import sqlalchemy as sa

from bot import settings
from bot.db_schema import conversation_events
from bot.ops.production.databases import ServiceMissing, drop_database, ensure_redis
from bot.ops.production.event_broker import delete_user_and_vhost, ensure_event_broker
from bot.ops.production.profile import ProductionProfile, nginx_binary
from bot.ops.production.run_prod import prepare
from bot.ops.supervisor import RestartPolicy, Service, Supervisor, start_stage, stop_all
from bot.settings import Settings
from tests.events.broker import new_broker
from tests.servers import ACTION_SECRET, MODEL_SERVER_TOKEN, RASA_TOKEN, SHOP_KEY, free_port, require_model

POSTGRES_URL = os.environ.get("QKF_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")
HOW_TO_RUN = (
    "the production-profile tests need PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, RabbitMQ on "
    "127.0.0.1:5672 (rabbitmq-server -detached; rabbitmqctl makes each stack's user) and nginx "
    "(scripts/ensure_debian_packages.sh); start them, or point QKF_TEST_POSTGRES_SERVER / REDIS_HOST at yours"
)


def require_production_services() -> None:
    """Skips (fails under CI=true) when PostgreSQL, Redis, RabbitMQ or nginx is missing."""
    try:
        nginx_binary()
        ensure_redis(settings.get("REDIS_HOST"), settings.get("REDIS_PORT"))
        probe = new_broker()
        try:
            ensure_event_broker(probe)
        finally:
            delete_user_and_vhost(probe)
        engine = sa.create_engine(f"{POSTGRES_URL}/postgres", future=True)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        finally:
            engine.dispose()
    except (ServiceMissing, FileNotFoundError, sa.exc.OperationalError) as error:
        message = f"{HOW_TO_RUN}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def auto_send_routing(workdir: Path) -> Path:
    """A routing.yml that sends every confident reply at once (ROUTING_POLICY_FILE): the tests of the
    infrastructure are not about review."""
    import yaml

    from tests.conftest import ROOT

    routing = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))
    routing.update(
        confidence_threshold=0.0,
        auto_send=routing["auto_send"] + routing["always_review"],
        always_review=[],
        review_after_times={},
    )
    path = workdir / "routing.yml"
    path.write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return path


class ProductionStack:
    def __init__(
        self,
        workdir: Path,
        secret: str,
        rasa_replicas: int = 2,
        lock_lifetime: int = 5,
        extra_env: Optional[Dict[str, str]] = None,
        profile_env: Optional[Dict[str, str]] = None,
        command_prefixes: Optional[Dict[str, List[str]]] = None,
    ) -> None:
        """profile_env: on top of the profile's variables (e.g. where PostgreSQL is);
        command_prefixes: service name -> what runs its command (e.g. `ip netns exec` a host)."""
        self.extra_env = dict(extra_env or {})
        self.command_prefixes = dict(command_prefixes or {})
        tag = uuid.uuid4().hex[:8]
        self.workdir = workdir
        env = {
            "QKF_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "PROD_RASA_REPLICAS": str(rasa_replicas),
            "PROD_POSTGRES_URL": POSTGRES_URL,
            "PROD_DATABASE_PREFIX": f"qkft{tag}",
            "REDIS_PREFIX": f"qkft{tag}",
            "PROD_VAR_DIR": str(workdir),
            "TICKET_LOCK_LIFETIME": str(lock_lifetime),
            # RabbitMQ: a virtual host and user of this stack's own, made by prepare() as run-prod makes them.
            "EVENT_BROKER_VHOST": f"qkft{tag}",
            "EVENT_BROKER_USERNAME": f"qkft{tag}",
            "EVENT_BROKER_PASSWORD": secrets.token_urlsafe(32),
            "EVENTS_PORT": str(free_port()),
            **(profile_env or {}),
        }
        self.profile = ProductionProfile.from_env(env)
        # Replica ports: free ones, not the defaults a developer's `make run-prod` may hold.
        self.profile.rasa_replicas = [free_port() for _ in range(rasa_replicas)]
        self.profile.action_replicas = [free_port() for _ in range(2)]
        self.profile.gateway_replicas = [free_port() for _ in range(2)]
        self.profile.model_server_port = free_port()
        self.secret = secret
        self.services: Dict[str, Service] = {}
        self.env: Dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "ProductionStack":
        model = str(require_model())
        self.env = {
            **prepare(self.profile, Settings.from_env(), reseed=True),
            "BUYER_TOKEN_SECRET": self.secret,
            "SHOP_API_KEY": SHOP_KEY,
            "RASA_AUTH_TOKEN": RASA_TOKEN,
            "ACTION_SERVER_SECRET": ACTION_SECRET,
            "MODEL_SERVER_TOKEN": MODEL_SERVER_TOKEN,
            # Every test buyer comes from 127.0.0.1: the per-address limit would throttle the load.
            "GATEWAY_IP_RATE_BURST": "10000",
            "GATEWAY_IP_RATE_PER_SECOND": "1000",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            **self.extra_env,
        }
        for stage in self.profile.stages(model):
            for service in stage:
                self.services[service.name] = service
                service.command = self.command_prefixes.get(service.name, []) + service.command
            failed = start_stage(self.profile.host, stage, self.env, self.workdir)
            if failed is not None:
                log = failed.log_path.read_text(errors="replace")[-3000:] if failed.log_path else ""
                self.stop()
                raise AssertionError(f"{failed.name} did not start: {log}")
        return self

    def stop(self) -> None:
        stop_all(list(self.services.values()))
        for purpose in ("tracker", "shop", "gateway"):
            try:
                drop_database(self.profile.database_url(purpose))
            except sa.exc.OperationalError:
                pass
        try:
            client = self.redis()
            for key in client.scan_iter(f"{self.profile.redis_prefix}*"):
                client.delete(key)
        except redis.RedisError:
            pass
        delete_user_and_vhost(self.profile.event_broker)
        shutil.rmtree(self.profile.nginx_dir, ignore_errors=True)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.services[name].process
        process.send_signal(sig)
        process.wait(timeout=20)

    def restart(self, name: str) -> None:
        service = self.services[name]
        if service.process and service.process.poll() is None:
            self.kill(name, signal.SIGTERM)
        failed = start_stage(self.profile.host, [service], self.env, self.workdir)
        assert failed is None, f"{name} did not come back"

    @contextlib.contextmanager
    def supervised(self, policy: Optional[RestartPolicy] = None) -> Iterator[io.StringIO]:
        """The supervisor `make run-prod` runs (bot.ops.supervisor.Supervisor, its restart policy)
        watches this stack's processes in a thread while the block runs; yields what it logs."""
        log = io.StringIO()
        supervisor = Supervisor(self.profile.host, list(self.services.values()), self.env, self.workdir, policy, log)
        done = threading.Event()
        thread = threading.Thread(target=supervisor.watch, args=(done.is_set,), daemon=True)
        thread.start()
        try:
            yield log
        finally:
            done.set()
            thread.join(timeout=30)

    # -- where things are ------------------------------------------------------------------
    @property
    def gateway_url(self) -> str:
        """The public address: nginx in front of the gateways."""
        return self.profile.public_url

    def gateway_replica_url(self, index: int) -> str:
        return self.profile.url(self.profile.gateway_replicas[index])

    def gateway_serving(self, session_id: str) -> str:
        """Which gateway replica the load balancer gives this conversation (name of its service)."""
        reply = requests.get(f"{self.gateway_url}/health", params={"conversation": session_id}, timeout=10).json()
        port = int(reply["gateway"].rsplit(":", 1)[1])
        return f"gateway {self.profile.gateway_replicas.index(port) + 1}"

    def redis(self) -> redis.Redis:
        return redis.Redis(host=self.profile.redis_host, port=self.profile.redis_port, db=self.profile.redis_db)

    def tracker_events(self, session_id: str) -> List[dict]:
        """The conversation's events as stored in the PostgreSQL tracker store."""
        engine = sa.create_engine(self.profile.database_url("tracker"), future=True)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("select data from events where sender_id = :s order by id"), {"s": session_id}).all()
        finally:
            engine.dispose()
        return [json.loads(row[0]) for row in rows]

    def stream_events(self, session_id: str) -> List[dict]:
        """The conversation's rows in conversation_events (gateway database), as the consumer stored them."""
        engine = sa.create_engine(self.profile.database_url("gateway"), future=True)
        try:
            with engine.connect() as conn:
                query = sa.select(conversation_events).where(conversation_events.c.sender_id == session_id)
                return [dict(row._mapping) for row in conn.execute(query.order_by(conversation_events.c.id))]
        finally:
            engine.dispose()

    def gateway_history(self, session_id: str, token: Optional[str] = None) -> List[dict]:
        """A buyer's conversation is read with that buyer's token."""
        headers = {"X-Buyer-Token": token} if token else {}
        return requests.get(
            f"{self.gateway_url}/api/history", params={"session_id": session_id}, headers=headers, timeout=10
        ).json()["messages"]


class WidgetClient:
    """A buyer's widget over socket.io through the load balancer: reconnects like the widget, keeps
    unsent messages in an outbox and sends them again when the shop answers 'unavailable'."""

    def __init__(self, stack: ProductionStack, token: Optional[str] = None, product_id: str = "P001") -> None:
        self.stack = stack
        self.session_id = str(uuid.uuid4())
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.auth = {"session_id": self.session_id, "buyer_token": token, "product_id": product_id}
        self.messages: List[dict] = []
        self.notices: List[str] = []
        self.connects = 0
        self.client.on("message", self.messages.append)
        self.client.on("notice", lambda data: self.notices.append(data.get("text", "")))

        async def connected():
            self.connects += 1

        self.client.on("connect", connected)

    async def __aenter__(self) -> "WidgetClient":
        await self.client.connect(
            f"{self.stack.gateway_url}?conversation={self.session_id}",
            auth=self.auth,
            headers={"Origin": self.stack.gateway_url},
            transports=["websocket"],
        )
        return self

    async def __aexit__(self, *_) -> None:
        await self.client.disconnect()

    def bot_texts(self) -> List[str]:
        return [m["text"] for m in self.messages if m["role"] == "bot" and m["text"]]

    async def say(self, text: str, timeout: float = 60) -> str:
        """Sends like the widget (same client id until the gateway takes it) and returns the first
        new bot text or notice."""
        client_id = str(uuid.uuid4())
        before_bot, before_notices = len(self.bot_texts()), len(self.notices)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ack = await self.client.call("buyer_message", {"client_id": client_id, "text": text}, timeout=15)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                ack = {"ok": False, "error": "disconnected"}
            if ack.get("ok"):
                break
            assert ack.get("error") in ("unavailable", "disconnected"), ack
            assert time.monotonic() < deadline, f"message never taken: {ack}"
            await asyncio.sleep(3)  # the widget's RETRY_UNAVAILABLE_MS: slower than the rate limit refills
        while time.monotonic() < deadline:
            if len(self.bot_texts()) > before_bot:
                return self.bot_texts()[before_bot]
            if len(self.notices) > before_notices:
                return self.notices[before_notices]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer to {text!r} in {timeout}s; got {self.messages[-3:]}")


def restart_command(kind: str) -> List[List[str]]:
    """How this machine stops and starts its PostgreSQL / Redis (override with QKF_TEST_*_STOP/START)."""
    if kind == "postgres":
        version = os.environ.get("QKF_TEST_POSTGRES_VERSION") or sorted(os.listdir("/etc/postgresql"))[-1]
        default_stop = f"pg_ctlcluster --skip-systemctl-redirect {version} main stop -m fast"
        default_start = f"pg_ctlcluster --skip-systemctl-redirect {version} main start"
    else:
        default_stop = "redis-cli -h 127.0.0.1 -p 6379 shutdown nosave"
        default_start = (
            "redis-server --daemonize yes --bind '127.0.0.1 -::1' --port 6379 --save '' --appendonly no "
            "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
        )
    return [
        ["bash", "-c", os.environ.get(f"QKF_TEST_{kind.upper()}_STOP", default_stop)],
        ["bash", "-c", os.environ.get(f"QKF_TEST_{kind.upper()}_START", default_start)],
    ]


def may_restart_services() -> None:
    """Restarting the machine's PostgreSQL or Redis is only done where that is expected (CI) or asked for."""
    if os.environ.get("CI") != "true" and os.environ.get("QKF_RESTART_SERVICES") != "1":
        pytest.skip("restarts this machine's PostgreSQL/Redis: runs under CI=true or with QKF_RESTART_SERVICES=1")


def run_command(command: List[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)
