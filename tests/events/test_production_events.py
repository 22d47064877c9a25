"""The event stream of the production profile, end to end: buyers talk through nginx, the gateways
and a Rasa replica (PostgreSQL tracker store, Redis lock store); Rasa's Pika event broker publishes
every event to the stack's own RabbitMQ virtual host; the event consumer the profile supervises
stores them in conversation_events. Every event of the tracker store is there exactly once, also
when the consumer is killed mid-stream and started again; no buyer token is stored."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Dict, List

import pytest

from tests.conftest import SECRET, token_for
from tests.production.stack import ProductionStack, WidgetClient, auto_send_routing, require_production_services

pytestmark = pytest.mark.slow

CONSUMER = "event consumer"
BEFORE = ["这件还有货吗", "什么时候发货"]
WHILE_DOWN = ["会掉色吗", "包邮吗"]
AFTER = ["发什么快递"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_production_services()
    workdir = tmp_path_factory.mktemp("events")
    # One Rasa replica is enough here (the fault tests run two); every confident reply goes out at once.
    running = ProductionStack(workdir, SECRET, rasa_replicas=1, extra_env={"ROUTING_POLICY_FILE": str(auto_send_routing(workdir))})
    try:
        yield running.start()
    finally:
        running.stop()


def keys(events: List[dict]) -> Counter:
    return Counter((event["event"], event["timestamp"]) for event in events)


def wait_for_stream(stack: ProductionStack, session_ids: List[str], timeout: float = 90) -> Dict[str, List[dict]]:
    """Each conversation's stored rows once they hold every event of its tracker."""
    deadline = time.monotonic() + timeout
    while True:
        tracker = {session_id: keys(stack.tracker_events(session_id)) for session_id in session_ids}
        rows = {session_id: stack.stream_events(session_id) for session_id in session_ids}
        streamed = {session_id: Counter((row["type"], row["timestamp"]) for row in rows[session_id]) for session_id in session_ids}
        if all(tracker[s] and streamed[s] == tracker[s] for s in session_ids) or time.monotonic() > deadline:
            for session_id in session_ids:
                missing, extra = tracker[session_id] - streamed[session_id], streamed[session_id] - tracker[session_id]
                assert not missing and not extra, f"{session_id}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
            return rows
        time.sleep(1)


def test_every_event_of_every_turn_is_stored_once_also_across_a_consumer_restart(stack):
    tokens = {"B001": token_for("B001"), "B002": token_for("B002")}

    async def talk(buyer: WidgetClient, texts: List[str]) -> None:
        for text in texts:
            await buyer.say(text)

    async def scenario() -> List[str]:
        async with WidgetClient(stack, token=tokens["B001"]) as first, WidgetClient(stack, token=tokens["B002"]) as second, WidgetClient(stack) as third:
            buyers = [first, second, third]
            await asyncio.gather(*(talk(buyer, BEFORE) for buyer in buyers))
            # The consumer dies mid-stream: whatever it held unacknowledged comes again, and what
            # Rasa publishes meanwhile waits in the durable queue.
            stack.kill(CONSUMER)
            await asyncio.gather(*(talk(buyer, WHILE_DOWN) for buyer in buyers))
            stack.restart(CONSUMER)
            await asyncio.gather(*(talk(buyer, AFTER) for buyer in buyers))
            return [buyer.session_id for buyer in buyers]

    session_ids = asyncio.run(scenario())
    rows = wait_for_stream(stack, session_ids)

    for session_id in session_ids:
        stored = rows[session_id]
        # Exactly once: no two rows of one event.
        assert len({(row["type"], row["timestamp"], row["event_hash"]) for row in stored}) == len(stored)
        users = [row for row in stored if row["type"] == "user"]
        assert [row["text"] for row in users] == BEFORE + WHILE_DOWN + AFTER
        assert all(row["intent"] for row in users), [row["intent"] for row in users]
        assert any(row["type"] == "bot" and row["text"] for row in stored)
        assert any(row["type"] == "action" and row["action_name"] == "action_listen" for row in stored)
        # The analytics copy holds no credential: the buyers' tokens were in their messages' metadata.
        for row in stored:
            assert all(token not in row["data"] for token in tokens.values()), row["data"][:300]
        tagged = [json.loads(row["data"]).get("metadata", {}).get("buyer_token") for row in users]
        assert set(tagged) <= {"<redacted>", None}
    assert any(json.loads(row["data"]).get("metadata", {}).get("buyer_token") == "<redacted>" for row in rows[session_ids[0]])
