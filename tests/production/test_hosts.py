"""The production profile's fault test across hosts: each Rasa replica, action server and gateway
runs in a network namespace of its own (its own host, reached over veth through a bridge); the root
namespace is the data services' host (PostgreSQL, Redis and RabbitMQ on 127.0.0.1, served on the
bridge address by a forwarder) and also runs the load balancer, the model server and the event
consumer. One Rasa replica's host is cut off mid-load (its link goes down: the process keeps running
but nothing reaches it) and comes back."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import requests

from bot.ops.production.event_broker import create_user_and_vhost
from tests.conftest import SECRET
from tests.production.hosts import Hosts, require_network_namespaces
from tests.production.stack import ProductionStack, WidgetClient, auto_send_routing, require_production_services
from tests.production.test_faults import BUSY, QUESTIONS, STRINGS, _under_load, answered, check_replica_loss

pytestmark = pytest.mark.slow

REPLICAS = [f"{kind} {i}" for kind in ("Rasa server", "action server", "gateway") for i in (1, 2)]
# Longer than the gateway's wait for Rasa (30 s): a turn stuck on the cut host is given up.
CUT_SECONDS = 35


@pytest.fixture(scope="module")
def hosts():
    require_production_services()
    require_network_namespaces()
    made = Hosts()
    try:
        yield made.create(REPLICAS)
    finally:
        made.remove()


@pytest.fixture(scope="module")
def stack(hosts, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hosts")
    data = hosts.data_host
    running = ProductionStack(
        workdir,
        SECRET,
        extra_env={"ROUTING_POLICY_FILE": str(auto_send_routing(workdir))},
        profile_env={
            # The balancers, model server and event consumer listen on the data host's bridge address.
            "PROD_PRIVATE_HOST": data,
            "PROD_POSTGRES_URL": f"postgresql://postgres@{data}:5432",
            "REDIS_HOST": data,
            "EVENT_BROKER_HOST": data,
        },
        command_prefixes={name: hosts.command_prefix(name) for name in REPLICAS},
    )
    running.profile.replica_hosts = dict(hosts.addresses)
    # The broker is "on another host" for the profile, which then only logs in: its user and virtual
    # host are made here, as a cluster's broker operator would (rabbitmqctl on the data host).
    create_user_and_vhost(running.profile.event_broker)
    try:
        yield running.start()
    finally:
        running.stop()


def reachable(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).ok
    except requests.RequestException:
        return False


def test_cutting_a_rasa_replicas_host_off_mid_load_loses_and_repeats_nothing(stack, hosts):
    replica = stack.services["Rasa server 1"]
    url = f"{stack.profile.replica_url(replica.name, replica.port)}/"
    # Its own host: reached at its address over the bridge, not listening on the data host.
    assert replica.host == hosts.addresses[replica.name] != hosts.data_host
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", replica.port), timeout=2).close()
    assert reachable(url)
    pid = replica.process.pid
    seen_while_cut = []

    def cut_then_reconnect():
        hosts.cut(replica.name)
        time.sleep(CUT_SECONDS)
        seen_while_cut.append(reachable(url))
        hosts.reconnect(replica.name)

    clients, answers = _under_load(stack, cut_then_reconnect, buyers=6, turns=8)
    assert seen_while_cut == [False], "the host was not cut off"
    # A turn stuck on the cut host gets the polite notice that its answer was lost (the gateway
    # gave up waiting); the buyer's message is stored once and the next turns are answered.
    check_replica_loss(stack, clients, answers, turns=8, polite=(BUSY, STRINGS["reply_lost"]))

    # The host is back: the same process (never restarted) answers again and the stack serves.
    deadline = time.monotonic() + 60
    while not reachable(url):
        assert time.monotonic() < deadline, "Rasa server 1 is not reachable after its host came back"
        time.sleep(1)
    assert replica.process.pid == pid and replica.process.poll() is None

    async def after():
        async with WidgetClient(stack) as buyer:
            return [await buyer.say(q) for q in QUESTIONS[:4]]

    assert all(answered(text) for text in asyncio.run(after()))
