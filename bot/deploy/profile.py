"""The production profile on one machine: Rasa, action server and gateway replicas behind nginx,
conversations in PostgreSQL, locks and socket.io rooms in Redis. Everything comes from environment
variables (.env.example); the same code runs the embedded profile."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy.engine import make_url

from bot.settings import PROJECT_ROOT, SECRET_NAMES
from bot.supervisor import RASA_HEALTH_PATH, Service, rasa_command

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "qinkefu.conf.template"
ENDPOINTS = "deploy/endpoints.prod.yml"


def _int(env: Dict[str, str], name: str, default: int) -> int:
    return int(env.get(name) or default)


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
    # BUYER_TOKEN_SECRET, SHOP_API_KEY, RASA_AUTH_TOKEN, ACTION_SERVER_SECRET (run-prod refuses weak ones)
    secrets: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Optional[Dict[str, str]] = None) -> "ProductionProfile":
        env = dict(os.environ if env is None else env)

        def ports(name: str, first: int, count: int) -> List[int]:
            start = _int(env, f"{name}_FIRST_PORT", first)
            return [start + i for i in range(count)]

        var_dir = Path(env.get("PROD_VAR_DIR") or PROJECT_ROOT / "var" / "prod")
        return cls(
            host=env.get("QKF_HOST", "127.0.0.1"),
            private_host=env.get("PROD_PRIVATE_HOST", "127.0.0.1"),
            gateway_port=_int(env, "GATEWAY_PORT", 8000),
            rasa_port=_int(env, "RASA_PORT", 5005),
            action_port=_int(env, "ACTION_PORT", 5055),
            rasa_replicas=ports("PROD_RASA", 5101, _int(env, "PROD_RASA_REPLICAS", 2)),
            action_replicas=ports("PROD_ACTION", 5201, _int(env, "PROD_ACTION_REPLICAS", 2)),
            gateway_replicas=ports("PROD_GATEWAY", 8101, _int(env, "PROD_GATEWAY_REPLICAS", 2)),
            postgres_url=env.get("PROD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"),
            database_prefix=env.get("PROD_DATABASE_PREFIX", "qinkefu"),
            redis_host=env.get("REDIS_HOST", "127.0.0.1"),
            redis_port=_int(env, "REDIS_PORT", 6379),
            redis_db=_int(env, "REDIS_DB", 0),
            redis_prefix=env.get("REDIS_PREFIX", "qinkefu"),
            var_dir=var_dir if var_dir.is_absolute() else PROJECT_ROOT / var_dir,
            lock_lifetime_seconds=_int(env, "TICKET_LOCK_LIFETIME", 10),
            secrets={name: env.get(name, "") for name in SECRET_NAMES},
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

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def nginx_dir(self) -> Path:
        return self.var_dir / "nginx"

    # -- environment of the replicas -------------------------------------------------------
    def environment(self) -> Dict[str, str]:
        tracker = make_url(self.database_url("tracker"))
        return {
            "ORDERS_DB_URL": self.database_url("shop"),
            "GATEWAY_DB_URL": self.database_url("gateway"),
            "GATEWAY_REDIS_URL": self.redis_url,
            "GATEWAY_REDIS_CHANNEL": f"{self.redis_prefix}-socketio",
            "RASA_URL": self.url(self.rasa_port),
            "RASA_REPLICA_URLS": ",".join(self.url(port) for port in self.rasa_replicas),
            "GATEWAY_ALLOWED_ORIGINS": f"http://{self.host}:{self.gateway_port},http://localhost:{self.gateway_port}",
            "UPLOADS_DIR": str(self.var_dir / "uploads"),
            "ACTION_ENDPOINT_URL": f"{self.url(self.action_port)}/webhook",
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
            "PYTHONUNBUFFERED": "1",
            **{name: self.secrets.get(name, "") for name in SECRET_NAMES},
        }

    # -- processes -------------------------------------------------------------------------
    def stages(self, model_path: str) -> List[List[Service]]:
        """Action servers, then Rasa replicas, then gateways, then nginx (each stage healthy first)."""
        python = sys.executable
        actions = [
            Service(
                f"action server {i + 1}", [python, "-m", "bot", "actions"], port, "/health", {"ACTION_PORT": str(port)},
                host=self.private_host,
            )
            for i, port in enumerate(self.action_replicas)
        ]
        rasa = [
            Service(
                f"Rasa server {i + 1}", rasa_command(model_path, self.private_host, port, ENDPOINTS), port,
                RASA_HEALTH_PATH, start_timeout=300, host=self.private_host,
            )
            for i, port in enumerate(self.rasa_replicas)
        ]
        gateways = [
            Service(
                f"gateway {i + 1}", [python, "-m", "bot", "gateway"], port, "/health", {"GATEWAY_PORT": str(port)},
                host=self.private_host,
            )
            for i, port in enumerate(self.gateway_replicas)
        ]
        nginx = Service(
            "load balancer (nginx)",
            [nginx_binary(), "-p", str(self.nginx_dir), "-e", str(self.nginx_dir / "error.log"), "-c", str(self.nginx_config_path)],
            self.gateway_port,
            "/health",
        )
        return [actions, rasa, gateways, [nginx]]

    # -- nginx -----------------------------------------------------------------------------
    @property
    def nginx_config_path(self) -> Path:
        return self.nginx_dir / "nginx.conf"

    def nginx_config(self) -> str:
        def servers(ports: List[int], extra: str = "") -> str:
            return "\n".join(f"        server {self.private_host}:{port}{extra};" for port in ports)

        values = {
            "prefix": str(self.nginx_dir),
            "host": self.host,
            "private_host": self.private_host,
            "rasa_port": str(self.rasa_port),
            "action_port": str(self.action_port),
            "gateway_port": str(self.gateway_port),
            # max_fails=0: a replica is never marked down, a refused connection just moves on to the
            # next one, so a replica (or all of them) coming back serves again at once.
            "rasa_servers": servers(self.rasa_replicas, " max_fails=0"),
            "action_servers": servers(self.action_replicas, " max_fails=0"),
            "gateways": servers(self.gateway_replicas, " max_fails=0"),
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
