"""Finding 9: staff logins back off after wrong passwords (per account and per address), unknown
names cost the same work, a password reset ends old sessions, cookies are per console and
Secure over HTTPS."""

import os
import subprocess
import sys
import uuid

import pytest
import requests

from bot.gateway.store import GatewayStore
from bot.review import agents
from bot.review.agents import AgentAccounts
from tests.conftest import ROOT
from tests.security.helpers import new_ip

pytestmark = pytest.mark.slow
PASSWORD = "staff-pass-123"


def add_account(stack, name, role="agent", password=PASSWORD):
    env = dict(stack.env, QKF_NEW_PASSWORD=password)
    done = subprocess.run([sys.executable, "-m", "bot", "agent-add", name, "--role", role], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def login(stack, name, password=PASSWORD, console="/agent", ip=None, **headers):
    session = requests.Session()
    reply = session.post(
        f"{stack.gateway_url}{console}/login", json={"username": name, "password": password},
        headers={"X-Forwarded-For": ip or new_ip(), **headers}, timeout=30,
    )
    return session, reply


def test_wrong_passwords_back_off_per_account_even_from_new_addresses(stack):
    name = f"a{uuid.uuid4().hex[:8]}"
    add_account(stack, name)
    for _ in range(5):
        assert login(stack, name, "wrong-password")[1].status_code == 401
    _, blocked = login(stack, name)  # the right password, from yet another address
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1


def test_wrong_passwords_back_off_per_address_across_accounts(stack):
    address = new_ip()
    for _ in range(5):
        assert login(stack, f"nobody{uuid.uuid4().hex[:6]}", "x" * 10, ip=address)[1].status_code == 401
    assert login(stack, f"nobody{uuid.uuid4().hex[:6]}", "x" * 10, ip=address)[1].status_code == 429


def test_an_unknown_name_costs_a_password_hash_like_a_known_one(stack, monkeypatch):
    checked = []
    real = agents.check_password
    monkeypatch.setattr(agents, "check_password", lambda password, stored: checked.append(stored) or real(password, stored))
    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    try:
        assert AgentAccounts(store.engine).login("no-such-user", "whatever-1") is None
    finally:
        store.close()
    assert len(checked) == 1 and checked[0].startswith("scrypt$")


def test_a_password_reset_ends_the_old_sessions(stack):
    name = f"r{uuid.uuid4().hex[:8]}"
    add_account(stack, name)
    session, reply = login(stack, name)
    assert reply.status_code == 200
    assert session.get(f"{stack.gateway_url}/agent/api/me", timeout=10).status_code == 200
    add_account(stack, name, password="a-new-password-456")
    assert session.get(f"{stack.gateway_url}/agent/api/me", timeout=10).status_code == 401


def test_each_console_has_its_own_cookie_and_https_makes_it_secure(stack):
    trainer = f"t{uuid.uuid4().hex[:8]}"
    add_account(stack, trainer, role="trainer")
    session, reply = login(stack, trainer, console="/trainer")
    assert reply.status_code == 200
    assert "qkf_trainer" in session.cookies and "qkf_agent" not in session.cookies
    assert "secure" not in reply.headers["set-cookie"].lower()
    _, over_https = login(stack, trainer, console="/trainer", **{"X-Forwarded-Proto": "https"})
    assert "secure" in over_https.headers["set-cookie"].lower()
    agent = f"a{uuid.uuid4().hex[:8]}"
    add_account(stack, agent)
    agent_session, _ = login(stack, agent)
    assert "qkf_agent" in agent_session.cookies
    # An agent's cookie does not open the trainer console (and the other way round).
    assert agent_session.get(f"{stack.gateway_url}/trainer/api/intents", timeout=10).status_code == 403
    assert session.get(f"{stack.gateway_url}/agent/api/me", timeout=10).status_code == 403
    # Logging out of one console leaves the other's login alone.
    both = requests.Session()
    both.cookies.update({"qkf_agent": agent_session.cookies["qkf_agent"], "qkf_trainer": session.cookies["qkf_trainer"]})
    assert both.post(f"{stack.gateway_url}/trainer/logout", json={}, timeout=10).ok
    assert both.get(f"{stack.gateway_url}/agent/api/me", timeout=10).status_code == 200
