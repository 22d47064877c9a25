"""Finding 13: when Rasa fails while storing a turn, its error log (with the database error and
its parameters, the turn's metadata among them) shows no part of the buyer's token."""

import sqlite3
import uuid

import pytest
import requests

from tests.conftest import token_for

pytestmark = pytest.mark.slow


def test_a_failed_turn_logs_no_buyer_token(stack):
    token = token_for("B003")
    signature = token.split(".")[2]
    locker = sqlite3.connect(str(stack.workdir / "tracker.db"), timeout=1, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # the tracker store cannot write: Rasa logs the error
        reply = requests.post(
            f"http://127.0.0.1:{stack.rasa_port}/webhooks/shop/webhook",
            json={"sender": str(uuid.uuid4()), "message": "我的快递到哪了", "metadata": {"buyer_token": token}},
            timeout=120,
        )
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert reply.status_code == 503
    log = stack.logs["rasa"].read_text(errors="replace")
    assert "could not handle a message" in log  # the failure was logged
    assert signature[:8] not in log and "B003." not in log
