import pytest

from tests.conftest import SECRET
from tests.servers import AFTER_SALE_INTENTS, RunningBot, write_routing


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Action server, Rasa server and gateway on free ports (the 稍等 notice after 1.5 s)."""
    workdir = tmp_path_factory.mktemp("stack")
    routing = write_routing(workdir, hold_notice_after_seconds=1.5, always_review=AFTER_SALE_INTENTS)
    running = RunningBot(workdir, SECRET, gateway=True)
    running.env["ROUTING_POLICY_FILE"] = str(routing)
    running.start()
    yield running
    running.stop()
