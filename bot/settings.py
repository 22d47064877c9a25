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
    rasa_port: int
    action_port: int
    gateway_port: int
    host: str

    @classmethod
    def from_env(cls) -> "Settings":
        var_dir = _path("QKF_VAR_DIR", "var")
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
            rasa_port=int(os.environ.get("RASA_PORT", "5005")),
            action_port=int(os.environ.get("ACTION_PORT", "5055")),
            gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")),
            host=os.environ.get("QKF_HOST", "127.0.0.1"),
        )
