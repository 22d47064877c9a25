"""Finding 4: five wrong phone tails for one order lock its check for an hour, in every
conversation, durably; the buyer is told politely and offered a human."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.replies import said

pytestmark = pytest.mark.slow
ORDER = "260316981255037716"  # B002's order out for delivery with 顺丰 (phone ...4321)
RIGHT_TAIL = "4321"


def attempt(stack, tail):
    """A stranger in a brand-new conversation asks about the order and gives a phone tail."""
    sender = str(uuid.uuid4())
    stack.shop_say(sender, "帮我查一下订单")
    stack.shop_say(sender, ORDER)
    return stack.shop_say(sender, tail)["messages"]


def says(messages, response):
    return any(said(m.get("text") or "", response) for m in messages)


def texts(messages):
    return " ".join(m.get("text") or "" for m in messages)


def test_five_wrong_tails_lock_the_order_for_an_hour_whatever_the_session(stack):
    for index, tail in enumerate(["1111", "2222", "3333", "4444"]):
        reply = attempt(stack, tail)
        assert says(reply, "utter_order_not_verified"), (index, reply)
    locked = attempt(stack, "5555")
    assert says(locked, "utter_phone_tail_locked"), locked
    assert any(b.get("payload") == "/request_human" for m in locked for b in m.get("buttons") or [])
    # Even the right digits, in yet another conversation, get no details while it is locked.
    right = attempt(stack, RIGHT_TAIL)
    assert says(right, "utter_phone_tail_locked"), right
    assert "深圳" not in texts(right) and "SF" not in texts(right)
    # Durable: in the orders database, for an hour; the lock is logged.
    engine = sa.create_engine(f"sqlite:///{stack.db_path}")
    with engine.connect() as conn:
        row = conn.execute(sa.text("select failures, locked_until from phone_tail_failures where order_id = :o"), {"o": ORDER}).first()
    engine.dispose()
    until = datetime.fromisoformat(str(row.locked_until))
    until = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
    assert row.failures == 5
    assert timedelta(minutes=55) < until - datetime.now(timezone.utc) <= timedelta(hours=1)
    assert f"order {ORDER} locked" in stack.logs["actions"].read_text(errors="replace")
