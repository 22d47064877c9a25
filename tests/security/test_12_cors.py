"""Finding 12: the widget on another allowed origin can load its strings, history and uploads;
other origins get no CORS headers."""

import uuid

import pytest
import requests

from tests.security.conftest import EVIL_ORIGIN, SHOP_ORIGIN

pytestmark = pytest.mark.slow


def test_the_allowed_origin_gets_cors_headers_and_others_do_not(stack):
    url = f"{stack.gateway_url}/widget/strings"
    allowed = requests.get(url, headers={"Origin": SHOP_ORIGIN}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == SHOP_ORIGIN
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    assert "Access-Control-Allow-Origin" not in requests.get(url, headers={"Origin": EVIL_ORIGIN}, timeout=10).headers
    history = f"{stack.gateway_url}/api/history?session_id={uuid.uuid4()}"
    preflight = requests.options(
        history, headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-buyer-token"},
        timeout=10,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers.get("Access-Control-Allow-Origin") == SHOP_ORIGIN
    assert "x-buyer-token" in preflight.headers.get("Access-Control-Allow-Headers", "").lower()
    evil = requests.options(history, headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "GET"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in evil.headers
    got = requests.get(history, headers={"Origin": SHOP_ORIGIN}, timeout=10)
    assert got.status_code == 200 and got.headers.get("Access-Control-Allow-Origin") == SHOP_ORIGIN
