import pytest

from tests.conftest import SECRET
from tests.servers import RunningBot


@pytest.fixture(scope="package")
def bot(tmp_path_factory):
    running = RunningBot(tmp_path_factory.mktemp("bot"), SECRET).start()
    yield running
    running.stop()
