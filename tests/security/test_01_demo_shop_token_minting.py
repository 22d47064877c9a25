"""Finding 1: without the explicit demo setting nobody gets a buyer token for ?buyer=, and the
production profile refuses the setting."""

import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT
from tests.security.test_03_secrets import good_secrets, production_env

pytestmark = pytest.mark.slow
B002_ORDER = "260319804412763390"


def test_without_the_demo_setting_no_page_signs_a_token(shop_without_demo):
    url = shop_without_demo.gateway_url
    for path in ("/?buyer=B002", "/shop/product/P001?buyer=B002", f"/shop/order/{B002_ORDER}?buyer=B002"):
        reply = requests.get(url + path, timeout=10)
        assert reply.status_code == 404, path
        assert "data-buyer-token" not in reply.text and "深圳市" not in reply.text, path
    # What a real shop embeds still works.
    assert requests.get(url + "/widget/widget.js", timeout=10).status_code == 200
    assert requests.get(url + "/shop/image/P001.svg", timeout=10).status_code == 200


def test_the_demo_shop_signs_demo_buyers_when_it_is_on(stack):
    page = requests.get(f"{stack.gateway_url}/?buyer=B002", timeout=10)
    assert page.status_code == 200 and 'data-buyer-token="B002.' in page.text


def test_the_production_profile_refuses_the_demo_shop(tmp_path):
    env = production_env(tmp_path, **good_secrets(), QKF_DEMO_SHOP="1")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run-prod", "--prepare-only"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "QKF_DEMO_SHOP" in done.stderr
