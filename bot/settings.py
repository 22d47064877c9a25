"""Settings read from environment variables (see .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(name: str, default: str) -> Path:
    value = Path(os.environ.get(name, default))
    return value if value.is_absolute() else PROJECT_ROOT / value


@dataclass(frozen=True)
class Settings:
    orders_db_url: str
    policy_file: Path
    lexicon_file: Path
    size_chart_file: Path
    demo_shop_file: Path
    dictionary_dir: Path
    spacy_model_dir: Path
    buyer_token_secret: str
    shop_api_key: str
    gateway_db_url: str
    gateway_strings_file: Path
    routing_file: Path
    trainer_project_dir: Path
    uploads_dir: Path
    extra_origins: tuple
    rasa_port: int
    action_port: int
    gateway_port: int
    host: str
    rasa_url: str
    rasa_replica_urls: tuple
    redis_url: str
    redis_channel: str
    rate_burst: int
    rate_per_second: float
    rasa_max_in_flight: int

    @classmethod
    def from_env(cls) -> "Settings":
        var_dir = _path("QKF_VAR_DIR", "var")
        host = os.environ.get("QKF_HOST", "127.0.0.1")
        rasa_url = os.environ.get("RASA_URL", f"http://{host}:{os.environ.get('RASA_PORT', '5005')}").rstrip("/")
        return cls(
            orders_db_url=os.environ.get(
                "ORDERS_DB_URL", f"sqlite:///{var_dir / 'shop.db'}"
            ),
            policy_file=_path("SHOP_POLICY_FILE", "data/shop/policy.yml"),
            lexicon_file=_path("SHOP_LEXICON_FILE", "data/shop/lexicon.yml"),
            size_chart_file=_path("SHOP_SIZE_CHART_FILE", "data/shop/size_chart.yml"),
            demo_shop_file=_path("DEMO_SHOP_FILE", "data/shop/demo_shop.yml"),
            dictionary_dir=_path("JIEBA_DICTIONARY_DIR", "data/dictionary"),
            spacy_model_dir=_path("SPACY_MODEL_DIR", "build/spacy_zh"),
            buyer_token_secret=os.environ.get(
                "BUYER_TOKEN_SECRET", "dev-only-secret-change-me"
            ),
            shop_api_key=os.environ.get("SHOP_API_KEY", "dev-only-shop-key"),
            gateway_db_url=os.environ.get("GATEWAY_DB_URL", f"sqlite:///{var_dir / 'gateway.db'}"),
            gateway_strings_file=_path("GATEWAY_STRINGS_FILE", "data/shop/gateway_strings.yml"),
            routing_file=_path("ROUTING_POLICY_FILE", "data/shop/routing.yml"),
            trainer_project_dir=_path("TRAINER_PROJECT_DIR", "."),
            uploads_dir=_path("UPLOADS_DIR", str(var_dir / "uploads")),
            extra_origins=tuple(o for o in os.environ.get("GATEWAY_ALLOWED_ORIGINS", "").split(",") if o),
            rasa_port=int(os.environ.get("RASA_PORT", "5005")),
            action_port=int(os.environ.get("ACTION_PORT", "5055")),
            gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")),
            host=host,
            rasa_url=rasa_url,
            rasa_replica_urls=tuple(u.strip().rstrip("/") for u in os.environ.get("RASA_REPLICA_URLS", rasa_url).split(",") if u.strip()),
            redis_url=os.environ.get("GATEWAY_REDIS_URL", ""),
            redis_channel=os.environ.get("GATEWAY_REDIS_CHANNEL", "qinkefu-socketio"),
            rate_burst=int(os.environ.get("GATEWAY_RATE_BURST", "5")),
            rate_per_second=float(os.environ.get("GATEWAY_RATE_PER_SECOND", "1")),
            rasa_max_in_flight=int(os.environ.get("GATEWAY_RASA_MAX_IN_FLIGHT", "4")),
        )

    @property
    def allowed_origins(self) -> list:
        """Pages that may open the widget's socket: the gateway itself plus GATEWAY_ALLOWED_ORIGINS."""
        own = [f"http://{self.host}:{self.gateway_port}", f"http://localhost:{self.gateway_port}"]
        return own + list(self.extra_origins)
