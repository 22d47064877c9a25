"""Where the conversation events go: the RabbitMQ virtual host, user, exchange and queue of the event
stream (EVENT_BROKER_* in bot/settings.py), the same ones Rasa's Pika event broker gets from
deploy/endpoints.prod.yml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import quote

from bot import settings

# Names go into rabbitmqctl permission patterns and an amqp:// URL as they are.
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    vhost: str
    username: str
    password: str
    exchange: str
    queue: str

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "BrokerConfig":
        config = cls(
            host=settings.get("EVENT_BROKER_HOST", env),
            port=settings.get("EVENT_BROKER_PORT", env),
            vhost=settings.get("EVENT_BROKER_VHOST", env),
            username=settings.get("EVENT_BROKER_USERNAME", env),
            password=settings.get("EVENT_BROKER_PASSWORD", env) or "",
            exchange=settings.get("EVENT_BROKER_EXCHANGE", env),
            queue=settings.get("EVENT_BROKER_QUEUE", env),
        )
        for name, value in (
            ("EVENT_BROKER_VHOST", config.vhost),
            ("EVENT_BROKER_USERNAME", config.username),
            ("EVENT_BROKER_EXCHANGE", config.exchange),
            ("EVENT_BROKER_QUEUE", config.queue),
        ):
            if not PLAIN_NAME.fullmatch(value):
                raise settings.SettingError(f"{name}={value!r}: letters, digits, -, _ and . only")
        return config

    @property
    def url(self) -> str:
        """amqp://user:password@host:port/vhost, as Rasa's PikaEventBroker builds it."""
        return (
            f"amqp://{quote(self.username, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}"
            f"/{quote(self.vhost, safe='')}"
        )

    @property
    def where(self) -> str:
        """For messages: no password."""
        return f"amqp://{self.username}@{self.host}:{self.port}/{self.vhost}"

    def environment(self) -> dict:
        """The variables of this configuration (the production profile gives them to its processes)."""
        return {
            "EVENT_BROKER_HOST": self.host,
            "EVENT_BROKER_PORT": str(self.port),
            "EVENT_BROKER_VHOST": self.vhost,
            "EVENT_BROKER_USERNAME": self.username,
            "EVENT_BROKER_PASSWORD": self.password,
            "EVENT_BROKER_EXCHANGE": self.exchange,
            "EVENT_BROKER_QUEUE": self.queue,
        }


async def declare(channel: Any, config: BrokerConfig) -> Any:
    """The exchange and the queue exactly as Rasa's PikaEventBroker declares them (a fanout exchange
    with aio-pika's defaults, a durable queue bound to it), so whichever starts first makes them
    and the other finds them as it expects. Returns the queue."""
    import aio_pika

    exchange = await channel.declare_exchange(config.exchange, type=aio_pika.ExchangeType.FANOUT)
    queue = await channel.declare_queue(config.queue, durable=True)
    await queue.bind(exchange, "")
    return queue
