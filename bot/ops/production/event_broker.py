"""RabbitMQ for the production profile's event stream: its own virtual host and user, created with
rabbitmqctl when the broker runs on this machine, and a login check either way.

RabbitMQ's guest user logs in only from localhost and is the same on every machine; the profile uses
a user of its own (EVENT_BROKER_USERNAME) whose password is a production secret
(EVENT_BROKER_PASSWORD, refused when empty, a default or short), with permissions on its own virtual
host only. The password reaches rabbitmqctl on standard input, never on a command line."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

from bot.events.broker import BrokerConfig
from bot.ops.production.databases import ServiceMissing

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def rabbitmqctl() -> Optional[str]:
    return shutil.which("rabbitmqctl") or next(
        (path for path in ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl") if Path(path).exists()), None
    )


def _ctl(arguments: List[str], stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    command = rabbitmqctl()
    assert command is not None
    return subprocess.run([command, "--quiet", *arguments], input=stdin, capture_output=True, text=True, timeout=60)


def may_manage(config: BrokerConfig) -> bool:
    """rabbitmqctl manages the broker on this machine only (a cluster's broker is its operator's)."""
    return config.host in LOCAL_HOSTS and rabbitmqctl() is not None


def create_user_and_vhost(config: BrokerConfig) -> None:
    """The virtual host, the user with this password (set again when the user exists) and its
    permissions on that virtual host only. Raises ServiceMissing when rabbitmqctl fails."""
    steps = [
        (["add_vhost", config.vhost], None),
        (["add_user", config.username], config.password),
        (["set_permissions", "-p", config.vhost, config.username, ".*", ".*", ".*"], None),
    ]
    for arguments, stdin in steps:
        done = _ctl(arguments, stdin)
        if done.returncode != 0 and arguments[0] == "add_user" and "already exists" in done.stdout + done.stderr:
            done = _ctl(["change_password", config.username], config.password)
        if done.returncode != 0:
            raise ServiceMissing(
                f"rabbitmqctl {arguments[0]} failed ({(done.stderr or done.stdout).strip()[:300]}). Start RabbitMQ "
                "(rabbitmq-server -detached) or create the user and virtual host as deploy/README.md shows."
            )


def delete_user_and_vhost(config: BrokerConfig) -> None:
    """Removes what create_user_and_vhost made (the tests' own brokers); missing parts are fine."""
    if rabbitmqctl() is None:
        return
    _ctl(["delete_vhost", config.vhost])
    _ctl(["delete_user", config.username])


async def _login(config: BrokerConfig) -> None:
    import aio_pika

    connection = await asyncio.wait_for(aio_pika.connect(config.url), 15)
    await connection.close()


def check_login(config: BrokerConfig) -> None:
    """Logs in to the virtual host; ServiceMissing says what is wrong and what to do."""
    try:
        asyncio.run(_login(config))
    except Exception as error:  # noqa: BLE001 - refused, wrong password, no such vhost, timeout
        raise ServiceMissing(
            f"RabbitMQ does not accept {config.where} ({type(error).__name__}: {str(error)[:200]}). Start it "
            "(rabbitmq-server -detached) or set EVENT_BROKER_HOST / EVENT_BROKER_PORT; the user "
            "EVENT_BROKER_USERNAME needs the password EVENT_BROKER_PASSWORD and permissions on EVENT_BROKER_VHOST "
            "(deploy/README.md)."
        ) from error


def ensure_event_broker(config: BrokerConfig) -> None:
    """The profile's virtual host and user on a broker of this machine, then a login. When
    rabbitmqctl may not manage the broker (another user's Erlang cookie), a login that works is
    enough."""
    problem: Optional[ServiceMissing] = None
    if may_manage(config):
        try:
            create_user_and_vhost(config)
        except ServiceMissing as error:
            problem = error
    try:
        check_login(config)
    except ServiceMissing:
        if problem is not None:
            raise problem from None
        raise
