"""Finding 10: staff routes refuse other origins and non-JSON bodies; every page and upload carries
the security headers."""

import uuid

import pytest
import requests

from tests.security.conftest import EVIL_ORIGIN
from tests.security.helpers import new_ip
from tests.security.test_08_rate_limits import png
from tests.security.test_09_staff_login import add_account, login

pytestmark = pytest.mark.slow


def test_state_changing_staff_routes_refuse_other_origins_and_plain_text(stack):
    name = f"c{uuid.uuid4().hex[:8]}"
    add_account(stack, name)
    session, reply = login(stack, name)
    assert reply.status_code == 200
    url = f"{stack.gateway_url}/agent/api/sessions/{uuid.uuid4()}/takeover"
    cross_site = session.post(url, data='{"x": 1}', headers={"Origin": EVIL_ORIGIN, "Content-Type": "text/plain"}, timeout=10)
    assert cross_site.status_code == 403
    cross_site_json = session.post(url, json={}, headers={"Origin": EVIL_ORIGIN}, timeout=10)
    assert cross_site_json.status_code == 403
    plain = session.post(url, data='{"x": 1}', headers={"Origin": stack.gateway_url, "Content-Type": "text/plain"}, timeout=10)
    assert plain.status_code == 415
    form = session.post(f"{stack.gateway_url}/agent/logout", data={"a": "b"}, timeout=10)
    assert form.status_code == 415
    assert session.get(f"{stack.gateway_url}/agent/api/me", timeout=10).status_code == 200  # still logged in
    same_site = session.post(url, json={}, headers={"Origin": stack.gateway_url}, timeout=10)
    assert same_site.status_code not in (403, 415)


def test_every_page_and_upload_carries_the_security_headers(stack):
    uploaded = requests.post(
        f"{stack.gateway_url}/api/upload", data={"session_id": str(uuid.uuid4())}, files={"photo": ("a.png", png())},
        headers={"X-Forwarded-For": new_ip()}, timeout=10,
    ).json()["url"]
    console_assets = [f"/{console}/static/{name}" for console in ("agent", "trainer") for name in ("staff.js", "staff.css", f"{console}.js", f"{console}.css")]
    for path in ("/", "/shop/product/P001", "/agent", "/trainer", "/widget/widget.js", "/widget/strings", *console_assets, uploaded, "/nope"):
        reply = requests.get(stack.gateway_url + path, timeout=10)
        if path in console_assets:
            assert reply.status_code == 200, path
        assert reply.headers.get("X-Content-Type-Options") == "nosniff", path
        assert reply.headers.get("X-Frame-Options") == "DENY", path
        assert "frame-ancestors 'none'" in reply.headers.get("Content-Security-Policy", ""), path
    page = requests.get(stack.gateway_url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "unsafe-inline" not in page.split("script-src")[1].split(";")[0]
    assert "sandbox" in requests.get(stack.gateway_url + uploaded, timeout=10).headers["Content-Security-Policy"]
