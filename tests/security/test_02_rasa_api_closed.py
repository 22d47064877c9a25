"""Finding 2: Rasa's HTTP API needs the token and sends no CORS headers; the action server needs
the shared secret; in production only the gateway is exposed."""

import uuid

import pytest
import requests

from bot.ops.production.profile import ProductionProfile
from tests.conftest import token_for
from tests.security.conftest import EVIL_ORIGIN
from tests.servers import ACTION_SECRET, RASA_TOKEN

pytestmark = pytest.mark.slow


def rasa(stack, path):
    return f"http://127.0.0.1:{stack.rasa_port}{path}"


def test_the_conversation_api_needs_the_token(stack):
    victim = str(uuid.uuid4())
    stack.shop_say(victim, "你好", {"buyer_token": token_for("B002")})
    for token in ({}, {"token": "wrong"}):
        tracker = requests.get(rasa(stack, f"/conversations/{victim}/tracker"), params=token, timeout=10)
        assert tracker.status_code == 401, tracker.text
        assert "B002." not in tracker.text
    # Setting the buyer_id / verified_orders slots from outside is refused and changes nothing.
    forged = requests.post(
        rasa(stack, f"/conversations/{victim}/tracker/events"),
        json=[{"event": "slot", "name": "buyer_id", "value": "B002"}, {"event": "slot", "name": "verified_orders", "value": ["260319804412763390"]}],
        timeout=10,
    )
    assert forged.status_code == 401
    attacker = str(uuid.uuid4())
    requests.post(rasa(stack, f"/conversations/{attacker}/tracker/events"), json={"event": "slot", "name": "buyer_id", "value": "B002"}, timeout=10)
    slots = stack.tracker(attacker)["slots"]
    assert slots.get("buyer_id") != "B002"
    assert requests.post(rasa(stack, f"/conversations/{attacker}/trigger_intent"), json={"name": "greet"}, timeout=10).status_code == 401
    assert requests.put(rasa(stack, "/model"), json={"model_file": "/tmp/evil.tar.gz"}, timeout=10).status_code == 401
    assert requests.get(rasa(stack, "/status"), timeout=10).status_code == 401
    assert requests.get(rasa(stack, "/status"), params={"token": RASA_TOKEN}, timeout=10).status_code == 200


def test_rasa_sends_no_cors_headers_to_any_page(stack):
    preflight = requests.options(
        rasa(stack, "/conversations/x/tracker"),
        headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "GET"}, timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    status = requests.get(rasa(stack, "/status"), params={"token": RASA_TOKEN}, headers={"Origin": EVIL_ORIGIN}, timeout=10)
    assert "Access-Control-Allow-Origin" not in status.headers
    assert "Access-Control-Allow-Credentials" not in status.headers


def test_the_action_server_needs_the_shared_secret(stack):
    call = {"next_action": "action_check_order_status", "sender_id": "x", "tracker": {"sender_id": "x", "slots": {"buyer_id": "B002"}, "latest_message": {}, "events": []}, "domain": {}}
    url = f"http://127.0.0.1:{stack.action_port}/webhook"
    assert requests.post(url, json=call, timeout=10).status_code == 401
    assert requests.post(url, json=call, headers={"X-Action-Secret": "wrong"}, timeout=10).status_code == 401
    assert requests.get(f"http://127.0.0.1:{stack.action_port}/actions", timeout=10).status_code == 401
    # Rasa sends it (endpoints.yml), so the bot still answers from the actions.
    assert requests.post(url, json=call, headers={"X-Action-Secret": ACTION_SECRET}, timeout=10).status_code != 401
    reply = stack.shop_say(str(uuid.uuid4()), "这件还有货吗", {"product_id": "P001"})
    assert reply["messages"]


def test_the_gateway_talks_to_rasa_with_the_token(stack):
    ready = requests.get(f"{stack.gateway_url}/ready", timeout=10).json()
    assert ready == {"ready": True, "checks": {"rasa": True}}


def test_in_production_only_the_gateway_listens_on_the_public_address(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.ops.production.profile.nginx_binary", lambda: "nginx")  # the config only, not nginx itself
    profile = ProductionProfile.from_env({"QKF_HOST": "0.0.0.0", "PROD_VAR_DIR": str(tmp_path)})
    config = profile.nginx_config()
    listens = [line.split()[1].rstrip(";") for line in config.splitlines() if line.strip().startswith("listen ")]
    assert listens == [f"127.0.0.1:{profile.rasa_port}", f"127.0.0.1:{profile.action_port}", f"0.0.0.0:{profile.gateway_port}"]
    upstreams = [line.split()[1] for line in config.splitlines() if line.strip().startswith("server ") and "{" not in line]
    assert upstreams and all(u.startswith("127.0.0.1:") for u in upstreams)
    for stage in profile.stages("models/qinkefu.tar.gz")[:3]:
        for service in stage:
            assert "0.0.0.0" not in service.command and service.host == "127.0.0.1", service.name
            assert "--cors" not in service.command
    env = profile.environment()
    assert env["QKF_HOST"] == "127.0.0.1" and env["QKF_DEMO_SHOP"] == "0"
