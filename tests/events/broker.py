"""RabbitMQ for the event-stream tests: the machine's broker on 127.0.0.1:5672, a virtual host and
user of each test's own (made with rabbitmqctl, as `make run-prod` makes the profile's), and Rasa's
own PikaEventBroker to publish as a Rasa replica does."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from typing import Iterable, List

import pytest

from bot.events.broker import BrokerConfig
from bot.ops.production.databases import ServiceMissing
from bot.ops.production.event_broker import check_login, create_user_and_vhost, delete_user_and_vhost, rabbitmqctl

HOW_TO_RUN = (
    "the event-stream tests need RabbitMQ on 127.0.0.1:5672 and rabbitmqctl (Debian's rabbitmq-server; "
    "start it with `rabbitmq-server -detached`)"
)


def require_rabbitmq() -> None:
    """Skips (fails under CI=true) without a RabbitMQ this test may manage."""
    problem = None
    if rabbitmqctl() is None:
        problem = "rabbitmqctl is not installed"
    else:
        config = new_broker()
        try:
            create_user_and_vhost(config)
            check_login(config)
        except ServiceMissing as error:
            problem = str(error)
        finally:
            delete_user_and_vhost(config)
    if problem:
        message = f"{HOW_TO_RUN}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def new_broker(tag: str = "") -> BrokerConfig:
    """A virtual host, user, exchange and queue of this test's own, with a random password."""
    tag = tag or f"qkft{uuid.uuid4().hex[:8]}"
    return BrokerConfig(
        host="127.0.0.1",
        port=5672,
        vhost=tag,
        username=tag,
        password=secrets.token_urlsafe(32),
        exchange=f"{tag}-events",
        queue=f"{tag}-conversation-events",
    )


async def publish_with_rasa(config: BrokerConfig, events: Iterable[dict]) -> None:
    """Publishes like a Rasa replica: rasa.core.brokers.pika.PikaEventBroker, configured as
    deploy/endpoints.prod.yml configures it."""
    import rasa.shared.core.events  # noqa: F401 - the broker uses it without importing it (a Rasa server has)
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    endpoint = EndpointConfig(
        url=f"amqp://{config.host}/{config.vhost}",
        type="pika",
        port=str(config.port),
        username=config.username,
        password=config.password,
        exchange_name=config.exchange,
        queues=[config.queue],
    )
    broker = await EventBroker.create(endpoint)
    assert broker is not None and broker.is_ready()
    try:
        for event in events:
            broker.publish(event)
        while broker._background_tasks:  # publish() hands each message to a task
            await asyncio.sleep(0.01)
    finally:
        await broker.close()


def rasa_events(sender_id: str, turns: int, start: float = 1_765_000_000.0) -> List[dict]:
    """What Rasa publishes for ``turns`` turns of one conversation (the shapes of Event.as_dict())."""
    events: List[dict] = []
    moment = start
    for turn in range(turns):
        for body in (
            {"event": "user", "text": f"这件还有货吗 {turn}", "parse_data": {"intent": {"name": "ask_stock", "confidence": 0.99}},
             "input_channel": "shop", "message_id": uuid.uuid4().hex, "metadata": {"product_id": "P001"}},
            {"event": "user_featurization", "use_text_for_featurization": False},
            {"event": "action", "name": "action_stock", "policy": "RulePolicy", "confidence": 1.0},
            {"event": "bot", "text": "亲，有现货的哦", "data": {}, "metadata": {"utter_action": "utter_in_stock"}},
            {"event": "action", "name": "action_listen", "policy": "RulePolicy", "confidence": 1.0},
        ):
            moment += 0.001
            events.append({"sender_id": sender_id, "timestamp": moment, **body})
    return events
