"""Fault tests of the production profile (2 Rasa replicas, 2 action servers and 2 gateways behind
nginx, PostgreSQL tracker store, Redis lock store and socket.io manager), against the machine's real
PostgreSQL and Redis. The tests run in this order; the supervisor's test brings a killed Rasa replica
back, the last one kills a Rasa replica for good."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
import yaml

from tests.conftest import ROOT, SECRET, token_for
from tests.production.stack import (
    ProductionStack,
    WidgetClient,
    auto_send_routing,
    may_restart_services,
    require_production_services,
    restart_command,
    run_command,
)
from tests.replies import any_response
from tests.servers import SHOP_KEY

pytestmark = pytest.mark.slow

STRINGS = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"]
BUSY = STRINGS["service_busy"]
QUESTIONS = ["这件还有货吗", "什么时候发货", "会掉色吗", "包邮吗", "发什么快递", "这个是纯棉的吗", "有赠品吗", "几天能到"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_production_services()
    workdir = tmp_path_factory.mktemp("production")
    # Every confident reply goes out at once: these tests are about the infrastructure, not review.
    running = ProductionStack(workdir, SECRET, extra_env={"ROUTING_POLICY_FILE": str(auto_send_routing(workdir))})
    try:
        yield running.start()
    finally:
        running.stop()


def answered(text: str) -> bool:
    """A real answer from the reply library (not the busy reply, not a notice)."""
    return text != BUSY and bool(any_response(text))


def check_trackers(stack: ProductionStack, session_ids, expected_turns=None) -> None:
    """Each conversation's stored tracker: every buyer message once (by its id), each followed by
    the bot's answer before the next one, and at least every answered message there."""
    for session_id in session_ids:
        events = stack.tracker_events(session_id)
        users = [i for i, e in enumerate(events) if e["event"] == "user"]
        ids = [events[i].get("message_id") for i in users]
        assert len(ids) == len(set(ids)), f"{session_id}: a message was handled twice: {ids}"
        if expected_turns is not None:
            assert len(users) >= expected_turns[session_id], (session_id, len(users), expected_turns[session_id])
        for start, end in zip(users, users[1:] + [len(events)], strict=True):
            assert any(e["event"] == "bot" for e in events[start:end]), f"{session_id}: unanswered message in tracker"


def test_two_gateways_a_reconnecting_widget_keeps_its_conversation(stack):
    async def scenario():
        async with WidgetClient(stack, token=token_for("B001")) as buyer:
            first = await buyer.say("这件还有货吗")
            serving = stack.gateway_serving(buyer.session_id)
            stack.kill(serving)  # the gateway this widget talks to goes away
            for _ in range(100):
                if buyer.connects >= 2 and buyer.client.connected:
                    break
                await asyncio.sleep(0.1)
            assert buyer.connects >= 2, "the widget did not reconnect through the load balancer"
            now_serving = stack.gateway_serving(buyer.session_id)
            history = stack.gateway_history(buyer.session_id, token_for("B001"))
            second = await buyer.say("什么时候发货")
            stack.restart(serving)
            # An order event posted to the gateway that came back reaches the buyer on the other one
            # (socket.io rooms shared through Redis).
            before = len(buyer.bot_texts())
            reply = requests.post(
                stack.profile.url(stack.profile.gateway_replicas[int(serving.split()[-1]) - 1]) + "/api/order-events",
                json={"order_id": "260317339012845567", "event": "shipped"},
                headers={"X-Shop-Key": SHOP_KEY},
                timeout=60,
            )
            for _ in range(100):
                if len(buyer.bot_texts()) > before:
                    break
                await asyncio.sleep(0.1)
            return buyer, first, serving, now_serving, history, second, reply, before

    buyer, first, serving, now_serving, history, second, reply, before = asyncio.run(scenario())
    assert answered(first) and answered(second), (first, second)
    assert now_serving != serving
    assert [m["text"] for m in history if m["role"] == "buyer"] == ["这件还有货吗"]
    assert first in [m["text"] for m in history if m["role"] == "bot"]
    assert reply.status_code == 200 and reply.json()["delivered"], reply.text
    assert len(buyer.bot_texts()) > before, "the order event did not cross to the other gateway"
    assert "utter_event_shipped" in any_response(buyer.bot_texts()[-1]), buyer.bot_texts()[-1]


def test_action_server_down_is_polite_and_service_resumes_by_itself(stack):
    for name in ("action server 1", "action server 2"):
        stack.kill(name)

    async def while_down():
        async with WidgetClient(stack) as buyer:
            return buyer.session_id, await buyer.say("这件还有货吗")

    session_id, text = asyncio.run(while_down())
    assert text == BUSY
    queue = requests.get(f"{stack.gateway_url}/health", timeout=10)
    assert queue.ok
    from bot.gateway.store import GatewayStore
    from bot.review.queue import ReviewQueue

    store = GatewayStore(stack.profile.database_url("gateway"))
    try:
        assert session_id in [w["session_id"] for w in ReviewQueue(store.engine).waiting_for_human()]
    finally:
        store.close()

    for name in ("action server 1", "action server 2"):
        stack.restart(name)

    async def after():
        async with WidgetClient(stack) as buyer:
            return [await buyer.say(q) for q in QUESTIONS[:3]]

    assert all(answered(text) for text in asyncio.run(after()))


def _under_load(stack, fault, buyers: int = 6, turns: int = 8):
    """``buyers`` widgets talk while ``fault()`` runs; returns their answers and session ids."""

    async def talk(buyer: WidgetClient, answers: list, done_turns: dict):
        async with buyer:
            for turn in range(turns):
                answers.append(await buyer.say(QUESTIONS[turn % len(QUESTIONS)], timeout=120))
                done_turns[buyer.session_id] = turn + 1
                await asyncio.sleep(0.3)

    async def scenario():
        clients = [WidgetClient(stack) for _ in range(buyers)]
        answers = {c.session_id: [] for c in clients}
        done = {c.session_id: 0 for c in clients}
        tasks = [asyncio.ensure_future(talk(c, answers[c.session_id], done)) for c in clients]
        while min(done.values()) < 2:
            await asyncio.sleep(0.1)
        await asyncio.get_running_loop().run_in_executor(None, fault)
        await asyncio.gather(*tasks)
        return clients, answers

    return asyncio.run(scenario())


@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_database_restart_mid_load_fails_politely_then_recovers(stack, service):
    may_restart_services()
    stop, start = restart_command(service)

    def restart():
        run_command(stop)
        time.sleep(3)
        run_command(start)

    try:
        clients, answers = _under_load(stack, restart)
    finally:
        run_command(start) if not _up(service) else None
    polite = {BUSY, STRINGS["reply_lost"]}
    for session_id, texts in answers.items():
        assert len(texts) == 8
        assert all(answered(t) or t in polite for t in texts), texts
        assert answered(texts[-1]), f"{service}: not recovered for {session_id}: {texts}"
    # Nothing the buyers sent was lost: the gateway stored each message once.
    for client in clients:
        stored = [m["text"] for m in stack.gateway_history(client.session_id) if m["role"] == "buyer"]
        assert stored == [QUESTIONS[i % len(QUESTIONS)] for i in range(8)]
    check_trackers(stack, answers)


def _up(service: str) -> bool:
    import socket

    port = 6379 if service == "redis" else 5432
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_the_supervisor_brings_a_killed_rasa_replica_back_while_the_rest_answer(stack):
    """With the supervisor of `make run-prod` watching, a Rasa replica killed under load is started
    again; the buyers go on through the other replica and no other process is touched."""
    others = {name: service.process.pid for name, service in stack.services.items() if name != "Rasa server 2"}
    with stack.supervised() as log:
        clients, answers = _under_load(stack, lambda: stack.kill("Rasa server 2"), buyers=6, turns=6)
        deadline = time.monotonic() + 300
        while "the Rasa server 2 is ready again" not in log.getvalue():
            assert time.monotonic() < deadline, f"Rasa server 2 did not come back: {log.getvalue()}"
            time.sleep(1)
    assert "the Rasa server 2 stopped (killed by SIGKILL); restarting it in 1 s" in log.getvalue(), log.getvalue()
    assert {name: service.process.pid for name, service in stack.services.items() if name != "Rasa server 2"} == others
    assert all(service.process.poll() is None for service in stack.services.values())
    replica = stack.profile.url(stack.profile.rasa_replicas[1])
    assert requests.get(f"{replica}/", timeout=10).ok
    check_replica_loss(stack, clients, answers, turns=6)


def test_killing_a_rasa_replica_mid_conversations_loses_and_repeats_nothing(stack):
    """20 buyers; one Rasa replica is killed while they talk: all go on through the other."""
    clients, answers = _under_load(stack, lambda: stack.kill("Rasa server 1"), buyers=20, turns=6)
    check_replica_loss(stack, clients, answers, turns=6)


def check_replica_loss(stack: ProductionStack, clients, answers, turns: int, polite=(BUSY,)) -> None:
    """After a Rasa replica was lost under load: a turn in flight when it went is sent again
    through the other one; if that retry also fails (the lost replica's lock not yet expired) the
    buyer gets a polite reply (``polite``) once. Every later turn is answered, every buyer message
    is stored once in order and handled once in the tracker."""
    for session_id, texts in answers.items():
        assert all(answered(t) or t in polite for t in texts), (session_id, texts)
        assert sum(t in polite for t in texts) <= 1 and answered(texts[-1]), (session_id, texts)
    for client in clients:
        history = stack.gateway_history(client.session_id)
        assert [m["text"] for m in history if m["role"] == "buyer"] == [QUESTIONS[i] for i in range(turns)]
    check_trackers(stack, answers, {s: sum(answered(t) for t in texts) for s, texts in answers.items()})
