import pytest

from tests.conftest import SECRET
from tests.servers import RunningBot


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Action server, Rasa server and gateway on free ports."""
    running = RunningBot(tmp_path_factory.mktemp("stack"), SECRET, gateway=True).start()
    yield running
    running.stop()
