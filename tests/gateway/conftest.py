import pytest
import yaml

from tests.conftest import ROOT, SECRET
from tests.servers import RunningBot


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Action server, Rasa server and gateway on free ports (the 稍等 notice after 1.5 s)."""
    workdir = tmp_path_factory.mktemp("stack")
    routing = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))
    routing["hold_notice_after_seconds"] = 1.5
    (workdir / "routing.yml").write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    running = RunningBot(workdir, SECRET, gateway=True)
    running.env["ROUTING_POLICY_FILE"] = str(workdir / "routing.yml")
    running.start()
    yield running
    running.stop()
