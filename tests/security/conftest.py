import pytest

from tests.conftest import SECRET
from tests.servers import AFTER_SALE_INTENTS, RunningBot, write_routing

SHOP_ORIGIN = "http://shop.example"  # another origin the shop allows the widget on
EVIL_ORIGIN = "http://evil.example"
IP_BURST = 10
UNTRUSTED_IP_BURST = 3


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Action server, Rasa and gateway (demo shop on) behind a 'proxy' at 127.0.0.1: each test
    speaks from its own X-Forwarded-For address, so the per-address limits of one test do not
    reach another."""
    workdir = tmp_path_factory.mktemp("security")
    running = RunningBot(workdir, SECRET, gateway=True)
    running.env.update(
        GATEWAY_TRUSTED_PROXIES="127.0.0.1",
        GATEWAY_ALLOWED_ORIGINS=SHOP_ORIGIN,
        GATEWAY_IP_RATE_BURST=str(IP_BURST),
        GATEWAY_IP_RATE_PER_SECOND="0.05",
        # the agent console's attack tests need after-sale replies held for review
        ROUTING_POLICY_FILE=str(write_routing(workdir, always_review=AFTER_SALE_INTENTS)),
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="package")
def shop_without_demo(tmp_path_factory):
    """Only the gateway, as in production: no demo shop, and no proxy it trusts (X-Forwarded-For
    from its peer is not believed)."""
    running = RunningBot(tmp_path_factory.mktemp("nodemo"), SECRET, gateway=True, demo_shop=False)
    running.env.update(GATEWAY_IP_RATE_BURST=str(UNTRUSTED_IP_BURST), GATEWAY_IP_RATE_PER_SECOND="0.01")
    running.start(gateway_only=True)
    yield running
    running.stop()
