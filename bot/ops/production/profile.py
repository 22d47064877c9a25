"""The production profile on one machine: Rasa, action server and gateway replicas behind nginx,
conversations in PostgreSQL, locks and socket.io rooms in Redis, conversation events through
RabbitMQ into the gateway database (the event consumer). Its configuration comes from the
settings registry (bot/settings.py, .env.example), and so does the replicas' environment: the same
variables, with the values this profile derives; the same code runs the embedded profile."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from sqlalchemy.engine import make_url

from bot import settings
from bot.events.broker import BrokerConfig
from bot.ops.supervisor import RASA_HEALTH_PATH, Service, rasa_command
from bot.settings import PROJECT_ROOT, SECRET_NAMES

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "qinkefu.conf.template"
ENDPOINTS = "deploy/endpoints.prod.yml"


@dataclass
class ProductionProfile:
    host: str  # public: where nginx serves the gateways
    private_host: str  # replicas and the internal Rasa / action balancers: never exposed
    gateway_port: int  # public: nginx in front of the gateways
    rasa_port: int  # internal: nginx in front of the Rasa replicas
    action_port: int  # internal: nginx in front of the action servers
    rasa_replicas: List[int]
    action_replicas: List[int]
    gateway_replicas: List[int]
    postgres_url: str  # server URL without a database, e.g. postgresql://postgres@127.0.0.1:5432
    database_prefix: str
    redis_host: str
    redis_port: int
    redis_db: int
    redis_prefix: str
    var_dir: Path
    lock_lifetime_seconds: int
    model_server_port: int  # internal: the model server the Rasa replicas pull the active model from
    model_pull_seconds: int
    event_broker: BrokerConfig  # Rasa's Pika event broker and the consumer (EVENT_BROKER_*)
    events_port: int  # internal: the event consumer's /health and /ready
    # BUYER_TOKEN_SECRET, SHOP_API_KEY, RASA_AUTH_TOKEN, ACTION_SERVER_SECRET, MODEL_SERVER_TOKEN,
    # EVENT_BROKER_PASSWORD (run-prod refuses weak ones)
    secrets: Dict[str, str] = field(default_factory=dict)
    # A replica on a host of its own (service name, e.g. "Rasa server 1" -> the address it listens on
    # and is reached at); the others listen on private_host. The cross-host fault test puts each
    # Rasa replica, action server and gateway in a network namespace of its own.
    replica_hosts: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ProductionProfile":
        """From ``env`` (default: os.environ) and the registry's defaults; SettingError names a
        variable that does not fit its type."""
        problems = settings.check(env)
        if problems:
            raise settings.SettingError("\n".join(problems))

        def get(name: str):
            return settings.get(name, env)

        def ports(replicas: str) -> List[int]:
            start = get(f"PROD_{replicas}_FIRST_PORT")
            return [start + i for i in range(get(f"PROD_{replicas}_REPLICAS"))]

        return cls(
            host=get("QKF_HOST"),
            private_host=get("PROD_PRIVATE_HOST"),
            gateway_port=get("GATEWAY_PORT"),
            rasa_port=get("RASA_PORT"),
            action_port=get("ACTION_PORT"),
            rasa_replicas=ports("RASA"),
            action_replicas=ports("ACTION"),
            gateway_replicas=ports("GATEWAY"),
            postgres_url=get("PROD_POSTGRES_URL"),
            database_prefix=get("PROD_DATABASE_PREFIX"),
            redis_host=get("REDIS_HOST"),
            redis_port=get("REDIS_PORT"),
            redis_db=get("REDIS_DB"),
            redis_prefix=get("REDIS_PREFIX"),
            var_dir=get("PROD_VAR_DIR"),
            lock_lifetime_seconds=get("TICKET_LOCK_LIFETIME"),
            model_server_port=get("MODEL_SERVER_PORT"),
            model_pull_seconds=get("MODEL_PULL_SECONDS"),
            event_broker=BrokerConfig.from_env(env),
            events_port=get("EVENTS_PORT"),
            secrets={name: get(name) or "" for name in SECRET_NAMES},
        )

    # -- where things are ------------------------------------------------------------------
    def database_url(self, purpose: str) -> str:
        """purpose: tracker, shop or gateway."""
        return str(make_url(self.postgres_url).set(database=f"{self.database_prefix}_{purpose}"))

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"

    def url(self, port: int) -> str:
        """A replica or internal balancer (on the private address)."""
        return f"http://{self.private_host}:{port}"

    def replica_host(self, name: str) -> str:
        return self.replica_hosts.get(name, self.private_host)

    def own_host(self, name: str) -> Dict[str, str]:
        """The environment that makes a replica on a host of its own listen there."""
        return {"QKF_HOST": self.replica_hosts[name]} if name in self.replica_hosts else {}

    def replica_url(self, name: str, port: int) -> str:
        return f"http://{self.replica_host(name)}:{port}"

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def nginx_dir(self) -> Path:
        return self.var_dir / "nginx"

    @property
    def model_server_dir(self) -> Path:
        """The model server's own folder (no Rasa replica reads it: they pull over HTTP)."""
        return self.var_dir / "model-server"

    # -- environment of the replicas -------------------------------------------------------
    def environment(self) -> Dict[str, str]:
        """What the replicas' environment changes (run_prod.prepare builds it on the process's with
        settings.child_environment, which takes declared variables only): the databases, Redis and
        balancers of this profile, and Rasa's endpoints (deploy/endpoints.prod.yml)."""
        tracker = make_url(self.database_url("tracker"))
        return {
            "ORDERS_DB_URL": self.database_url("shop"),
            "GATEWAY_DB_URL": self.database_url("gateway"),
            "GATEWAY_REDIS_URL": self.redis_url,
            "GATEWAY_REDIS_CHANNEL": f"{self.redis_prefix}-socketio",
            "RASA_URL": self.url(self.rasa_port),
            "RASA_REPLICA_URLS": ",".join(
                self.replica_url(f"Rasa server {i + 1}", port) for i, port in enumerate(self.rasa_replicas)
            ),
            "GATEWAY_ALLOWED_ORIGINS": f"http://{self.host}:{self.gateway_port},http://localhost:{self.gateway_port}",
            "UPLOADS_DIR": str(self.var_dir / "uploads"),
            "ACTION_ENDPOINT_URL": f"{self.url(self.action_port)}/webhook",
            # The replicas pull the active model from the model server; the trainer publishes there.
            "MODEL_SERVER_URL": self.url(self.model_server_port),
            "MODEL_SERVER_DIR": str(self.model_server_dir),
            "MODEL_SERVER_PORT": str(self.model_server_port),
            "MODEL_PULL_SECONDS": str(self.model_pull_seconds),
            "TRACKER_PG_HOST": tracker.host or "127.0.0.1",
            "TRACKER_PG_PORT": str(tracker.port or 5432),
            "TRACKER_PG_DB": tracker.database,
            "TRACKER_PG_USER": tracker.username or "postgres",
            "TRACKER_PG_PASSWORD": tracker.password or "",
            "REDIS_HOST": self.redis_host,
            "REDIS_PORT": str(self.redis_port),
            "REDIS_LOCK_DB": str(self.redis_db),
            "REDIS_LOCK_PREFIX": self.redis_prefix,
            # A replica that dies holding a conversation's lock blocks it for this long at most.
            "TICKET_LOCK_LIFETIME": str(self.lock_lifetime_seconds),
            "QKF_HOST": self.private_host,
            "QKF_DEMO_SHOP": "0",
            # nginx is the only proxy whose X-Forwarded-For the gateways believe.
            "GATEWAY_TRUSTED_PROXIES": self.private_host,
            # Rasa's event broker and the event consumer (deploy/endpoints.prod.yml).
            **self.event_broker.environment(),
            "EVENTS_PORT": str(self.events_port),
            **{name: self.secrets.get(name, "") for name in SECRET_NAMES},
        }

    # -- processes -------------------------------------------------------------------------
    def stages(self, model_path: str) -> List[List[Service]]:
        """Action servers, the model server and the event consumer, then Rasa replicas, then gateways,
        then nginx (each stage healthy first: the consumer ready, so the exchange and the queue exist
        before Rasa publishes). The model server makes ``model_path`` the active model the first time
        (an empty folder); after that it keeps the active model the trainer chose, and the replicas
        load that one (with a model server in the endpoints Rasa does not read ``--model``)."""
        python = sys.executable
        model_server = Service(
            "model server",
            [python, "-m", "bot", "model-server", "--seed", model_path],
            self.model_server_port,
            "/health",
            host=self.private_host,
        )
        events = Service(
            "event consumer",
            [python, "-m", "bot", "events"],
            self.events_port,
            "/ready",
            host=self.private_host,
        )
        actions = [
            Service(
                f"action server {i + 1}",
                [python, "-m", "bot", "actions"],
                port,
                "/health",
                {"ACTION_PORT": str(port), **self.own_host(f"action server {i + 1}")},
                host=self.replica_host(f"action server {i + 1}"),
            )
            for i, port in enumerate(self.action_replicas)
        ]
        rasa = [
            Service(
                f"Rasa server {i + 1}",
                rasa_command(model_path, self.replica_host(f"Rasa server {i + 1}"), port, ENDPOINTS),
                port,
                RASA_HEALTH_PATH,
                start_timeout=300,
                host=self.replica_host(f"Rasa server {i + 1}"),
            )
            for i, port in enumerate(self.rasa_replicas)
        ]
        gateways = [
            Service(
                f"gateway {i + 1}",
                [python, "-m", "bot", "gateway"],
                port,
                "/health",
                {"GATEWAY_PORT": str(port), **self.own_host(f"gateway {i + 1}")},
                host=self.replica_host(f"gateway {i + 1}"),
            )
            for i, port in enumerate(self.gateway_replicas)
        ]
        nginx = Service(
            "load balancer (nginx)",
            [
                nginx_binary(),
                "-p",
                str(self.nginx_dir),
                "-e",
                str(self.nginx_dir / "error.log"),
                "-c",
                str(self.nginx_config_path),
            ],
            self.gateway_port,
            "/health",
        )
        # Trains what the trainer consoles queue; publishes and activates the model on the model server.
        worker = Service("training worker", [python, "-m", "bot", "training-worker"], None, "", host=self.private_host)
        return [[*actions, model_server, events], rasa, [*gateways, worker], [nginx]]

    # -- nginx -----------------------------------------------------------------------------
    @property
    def nginx_config_path(self) -> Path:
        return self.nginx_dir / "nginx.conf"

    def nginx_config(self) -> str:
        def servers(kind: str, ports: List[int], extra: str = "") -> str:
            return "\n".join(
                f"        server {self.replica_host(f'{kind} {i + 1}')}:{port}{extra};" for i, port in enumerate(ports)
            )

        values = {
            "prefix": str(self.nginx_dir),
            "host": self.host,
            "private_host": self.private_host,
            "rasa_port": str(self.rasa_port),
            "action_port": str(self.action_port),
            "gateway_port": str(self.gateway_port),
            # max_fails=0: a replica is never marked down, a refused connection just moves on to the
            # next one, so a replica (or all of them) coming back serves again at once.
            "rasa_servers": servers("Rasa server", self.rasa_replicas, " max_fails=0"),
            "action_servers": servers("action server", self.action_replicas, " max_fails=0"),
            "gateways": servers("gateway", self.gateway_replicas, " max_fails=0"),
        }
        text = NGINX_TEMPLATE.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{ " + key + " }}", value)
        return text

    def write_nginx_config(self) -> Path:
        self.nginx_dir.mkdir(parents=True, exist_ok=True)
        self.nginx_config_path.write_text(self.nginx_config(), encoding="utf-8")
        return self.nginx_config_path


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise FileNotFoundError(
            "nginx is not installed: install Debian's nginx package (scripts/ensure_debian_packages.sh does it as root)"
        )
    return found
