"""Finding 3: the production profile refuses default, empty or short secrets and names which one;
the embedded profile generates random per-machine secrets into var/ that the CLI uses too."""

import os
import secrets
import stat
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from bot.shop.identity import verify_buyer_token
from bot.settings import SECRET_NAMES, read_env_file
from tests.conftest import ROOT

POSTGRES = os.environ.get("QKF_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


def good_secrets():
    return {name: secrets.token_urlsafe(32) for name in SECRET_NAMES}


def production_env(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES and k != "QKF_DEMO_SHOP"}
    env.update(
        QKF_VAR_DIR=str(tmp_path / "var"),  # no generated secrets to fall back on
        PROD_VAR_DIR=str(tmp_path / "prod"),
        PROD_POSTGRES_URL=POSTGRES,
        PROD_DATABASE_PREFIX=f"qkfsec{uuid.uuid4().hex[:8]}",
        REDIS_PREFIX=f"qkfsec{uuid.uuid4().hex[:8]}",
    )
    env.update(overrides)
    return env


def run_prod(env):
    try:
        return subprocess.run(
            [sys.executable, "-m", "bot", "run-prod", "--prepare-only"], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=120,
        )
    finally:  # today's code would have created the databases
        engine = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT", future=True)
        try:
            with engine.connect() as conn:
                for purpose in ("tracker", "shop", "gateway"):
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{env["PROD_DATABASE_PREFIX"]}_{purpose}" WITH (FORCE)'))
        except sa.exc.OperationalError:
            pass
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    "name, value, why",
    [
        ("BUYER_TOKEN_SECRET", "dev-only-secret-change-me", "default"),
        ("SHOP_API_KEY", "", "empty"),
        ("RASA_AUTH_TOKEN", "short-token", "shorter than 32"),
        ("ACTION_SERVER_SECRET", None, "empty"),
    ],
)
def test_run_prod_refuses_a_weak_secret_and_names_it(tmp_path, name, value, why):
    values = good_secrets()
    if value is None:
        del values[name]
    else:
        values[name] = value
    done = run_prod(production_env(tmp_path, **values))
    assert done.returncode == 2, done.stdout + done.stderr
    assert name in done.stderr and why in done.stderr, done.stderr
    assert all(other not in done.stderr for other in SECRET_NAMES if other != name), done.stderr


def test_the_cli_token_uses_the_generated_per_machine_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env["QKF_VAR_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "bot", "token", "B001"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    generated = read_env_file(tmp_path / "secrets.env")
    assert set(generated) == set(SECRET_NAMES) and all(len(v) >= 32 for v in generated.values())
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    assert verify_buyer_token(generated["BUYER_TOKEN_SECRET"], token) == "B001"
    assert verify_buyer_token("dev-only-secret-change-me", token) is None
    # The same machine keeps its secrets: a second token verifies with the same secret.
    again = subprocess.run([sys.executable, "-m", "bot", "token", "B002"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert verify_buyer_token(generated["BUYER_TOKEN_SECRET"], again.stdout.strip().splitlines()[-1]) == "B002"
