"""The production profile's configuration: every variable deploy/endpoints.prod.yml needs is set
for the replicas, and the rendered nginx configuration lists every replica and passes `nginx -t`."""

import re
import shutil
import subprocess

import pytest

from bot.ops.production.profile import ProductionProfile
from tests.conftest import ROOT

ENV = {
    "GATEWAY_PORT": "9000", "RASA_PORT": "9005", "ACTION_PORT": "9055",
    "PROD_RASA_REPLICAS": "3", "PROD_RASA_FIRST_PORT": "9101", "PROD_ACTION_REPLICAS": "2",
    "PROD_GATEWAY_REPLICAS": "2", "PROD_POSTGRES_URL": "postgresql://shop:secret@db.internal:5433",
    "PROD_DATABASE_PREFIX": "myshop", "REDIS_HOST": "cache.internal", "REDIS_PREFIX": "myshop",
}


def test_replica_environment_covers_every_endpoint_variable(tmp_path):
    profile = ProductionProfile.from_env(dict(ENV, PROD_VAR_DIR=str(tmp_path)))
    env = profile.environment()
    needed = set(re.findall(r"\$\{(\w+)\}", (ROOT / "deploy/endpoints.prod.yml").read_text(encoding="utf-8")))
    assert needed <= set(env), needed - set(env)
    assert env["TRACKER_PG_HOST"] == "db.internal" and env["TRACKER_PG_PORT"] == "5433"
    assert env["TRACKER_PG_DB"] == "myshop_tracker" and env["TRACKER_PG_PASSWORD"] == "secret"
    assert env["ORDERS_DB_URL"] == "postgresql://shop:secret@db.internal:5433/myshop_shop"
    assert env["GATEWAY_REDIS_URL"] == "redis://cache.internal:6379/0"
    assert env["RASA_REPLICA_URLS"] == "http://127.0.0.1:9101,http://127.0.0.1:9102,http://127.0.0.1:9103"
    assert env["RASA_URL"] == "http://127.0.0.1:9005"
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:9055/webhook"
    assert env["MODEL_SERVER_URL"] == "http://127.0.0.1:5301" and env["MODEL_PULL_SECONDS"] == "10"
    assert env["MODEL_SERVER_DIR"] == str(tmp_path / "model-server")
    assert (env["EVENT_BROKER_HOST"], env["EVENT_BROKER_VHOST"], env["EVENT_BROKER_USERNAME"]) == ("127.0.0.1", "qinkefu", "qinkefu")


def test_nginx_configuration_lists_every_replica_and_is_valid(tmp_path):
    profile = ProductionProfile.from_env(dict(ENV, PROD_VAR_DIR=str(tmp_path)))
    text = profile.nginx_config()
    assert "{{" not in text
    for port in ("9101", "9102", "9103"):
        assert f"server 127.0.0.1:{port} max_fails=0;" in text
    assert "listen 127.0.0.1:9000;" in text and "hash $arg_conversation consistent;" in text
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(nginx):
        pytest.skip("nginx is not installed (scripts/ensure_debian_packages.sh)")
    path = profile.write_nginx_config()
    check = subprocess.run([nginx, "-t", "-p", str(profile.nginx_dir), "-e", str(profile.nginx_dir / "error.log"), "-c", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_service_stages_start_backends_before_the_load_balancer(tmp_path):
    if not (shutil.which("nginx") or shutil.which("/usr/sbin/nginx")):
        pytest.skip("nginx is not installed")
    profile = ProductionProfile.from_env(dict(ENV, PROD_VAR_DIR=str(tmp_path)))
    stages = profile.stages("models/qinkefu.tar.gz")
    names = [[service.name for service in stage] for stage in stages]
    assert names == [
        ["action server 1", "action server 2", "model server", "event consumer"],
        ["Rasa server 1", "Rasa server 2", "Rasa server 3"],
        ["gateway 1", "gateway 2", "training worker"],
        ["load balancer (nginx)"],
    ]
    rasa = stages[1][0]
    assert "deploy/endpoints.prod.yml" in rasa.command and rasa.port == 9101
    assert stages[0][1].env == {"ACTION_PORT": "5202"}
    model_server = stages[0][2]
    assert model_server.command[2:] == ["bot", "model-server", "--seed", "models/qinkefu.tar.gz"]
    assert model_server.port == 5301 and model_server.health_path == "/health"
    # The consumer declares the exchange and the queue before any Rasa replica publishes.
    consumer = stages[0][3]
    assert consumer.command[-2:] == ["bot", "events"] and consumer.health_path == "/ready" and consumer.port == 5077


def test_a_replica_on_a_host_of_its_own_is_reached_there(tmp_path):
    """replica_hosts (the cross-host fault test): the replica listens on its host's address and the
    load balancer and the trainer reach it there; the others stay on the private address."""
    profile = ProductionProfile.from_env(dict(ENV, PROD_VAR_DIR=str(tmp_path)))
    profile.replica_hosts = {"Rasa server 2": "10.9.0.12", "gateway 1": "10.9.0.21"}
    assert profile.environment()["RASA_REPLICA_URLS"] == (
        "http://127.0.0.1:9101,http://10.9.0.12:9102,http://127.0.0.1:9103"
    )
    text = profile.nginx_config()
    assert "server 10.9.0.12:9102 max_fails=0;" in text and "server 127.0.0.1:9101 max_fails=0;" in text
    assert "server 10.9.0.21:" in text
    services = {service.name: service for stage in profile.stages("models") for service in stage}
    rasa = services["Rasa server 2"]
    assert rasa.host == "10.9.0.12" and rasa.command[rasa.command.index("--interface") + 1] == "10.9.0.12"
    assert services["gateway 1"].env["QKF_HOST"] == "10.9.0.21" and services["gateway 1"].host == "10.9.0.21"
    assert "QKF_HOST" not in services["gateway 2"].env and services["gateway 2"].host == "127.0.0.1"
