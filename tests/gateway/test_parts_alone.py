"""Each part of the gateway (buyer, agent console, trainer console) is a blueprint built from the
services it is given: here each is served alone, in this process, with fakes or throwaway
databases, and a slow database delays its own request only."""

import asyncio
import contextlib
import dataclasses
import socket
import time

import aiohttp
import socketio
import yaml
from sanic import Sanic

from bot.db_schema import GATEWAY
from bot.gateway.agent_api import AgentServices, agent_blueprint, register_agent_events
from bot.gateway.buyer_api import BuyerServices, buyer_blueprint, register_buyer_events
from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.live import LiveUpdates
from bot.gateway.staff_auth import StaffAuth
from bot.gateway.store import GatewayStore
from bot.gateway.trainer_api import TrainerServices, trainer_blueprint
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.settings import Settings
from tests.conftest import ROOT, migrated

Sanic.test_mode = True  # several apps of one name in one process
STRINGS = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Sanic):
    """The app on a free port of this process's loop; yields its base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


def app_with_socketio(name: str):
    app = Sanic(name)
    sio = socketio.AsyncServer(async_mode="sanic")
    sio.attach(app)
    return app, sio, LiveUpdates(sio)


def databases(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
    return store, ReviewQueue(store.engine), AgentAccounts(store.engine)


async def logged_in(http: aiohttp.ClientSession, base: str, console: str, username: str) -> None:
    async with http.post(f"{base}/{console}/login", json={"username": username, "password": "secret-password"}) as reply:
        assert reply.status == 200, await reply.text()


class SlowStore:
    """A gateway store whose reads block their thread for 0.5 s (a slow database)."""

    def may_read(self, session_id, buyer_id):
        time.sleep(0.5)
        return True

    def history(self, session_id, limit=200):
        return [{"id": 1, "session_id": session_id, "role": "buyer", "text": "在吗"}]


class HealthyRasa:
    async def healthy(self):
        return True


def test_the_buyer_part_alone_serves_history_without_blocking_the_loop(tmp_path):
    settings = dataclasses.replace(Settings.from_env(), uploads_dir=tmp_path / "uploads", shop_api_key="key")

    async def main():
        app, sio, live = app_with_socketio("buyer_alone")
        run_db = DbRunner()
        run_db.open()
        store = SlowStore()
        conversations = Conversations(store, None, None, None, STRINGS["gateway"], live.notify_agents, run_db)
        services = BuyerServices(settings, STRINGS, store, conversations, None, HealthyRasa(), live, run_db)
        app.blueprint(buyer_blueprint(services))
        register_buyer_events(sio, services)
        async with serving(app) as base, aiohttp.ClientSession() as http:

            async def history():
                async with http.get(f"{base}/api/history", params={"session_id": "s-0000001"}) as reply:
                    assert reply.status == 200
                    return (await reply.json())["messages"]

            async with http.get(f"{base}/ready") as reply:
                assert reply.status == 200
            async with http.get(f"{base}/agent/api/queue") as reply:
                assert reply.status == 404  # only the buyer part is there
            started = time.monotonic()
            results = await asyncio.gather(history(), history())
            elapsed = time.monotonic() - started
        run_db.close()
        return results, elapsed

    results, elapsed = asyncio.run(main())
    assert [m["text"] for m in results[0]] == ["在吗"] and results[0] == results[1]
    assert elapsed < 0.9  # the two slow reads overlapped (0.5 s each), the loop was never blocked


def test_the_agent_console_alone_lists_the_queue(tmp_path):
    store, queue, accounts = databases(tmp_path)
    accounts.add("agent1", "secret-password", "agent")
    store.add_message("s-0000001", "buyer", "我要退货")
    queue.record_turn("s-0000001", None, "我要退货", [{"intent": "request_return", "confidence": 0.9}], [{"text": "亲"}], True, "policy")
    queue.request_human("s-0000001")

    class Project:
        def intent_names(self):
            return ["request_return", "ask_stock"]

    async def main():
        app, sio, live = app_with_socketio("agent_alone")
        run_db = DbRunner()
        routing = RoutingPolicy.load(ROOT / "data/shop/routing.yml")
        conversations = Conversations(store, None, queue, routing, STRINGS["gateway"], live.notify_agents, run_db)
        services = AgentServices(
            STRINGS["agent"], "secret", store, queue, routing, Project(), conversations, live, StaffAuth(accounts, run_db=run_db), run_db
        )
        app.blueprint(agent_blueprint(services))
        register_agent_events(sio, services)
        async with serving(app) as base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/agent/api/queue") as reply:
                assert reply.status == 401
            await logged_in(http, base, "agent", "agent1")
            async with http.get(f"{base}/agent/api/queue") as reply:
                listed = await reply.json()
            async with http.get(f"{base}/agent/api/intents") as reply:
                intents = (await reply.json())["intents"]
            async with http.get(f"{base}/api/history", params={"session_id": "s-0000001"}) as reply:
                assert reply.status == 404  # only the agent console is there
        return listed, intents

    listed, intents = asyncio.run(main())
    assert [s["buyer_text"] for s in listed["suggestions"]] == ["我要退货"]
    assert [(w["session_id"], w["last_text"]) for w in listed["waiting"]] == [("s-0000001", "我要退货")]
    assert intents == ["ask_stock", "request_return"]
    store.close()


def test_the_trainer_console_alone_lists_candidates_and_the_job(tmp_path):
    store, queue, accounts = databases(tmp_path)
    accounts.add("trainer1", "secret-password", "trainer")
    accounts.add("agent1", "secret-password", "agent")
    queue.add_candidate("这个能退吗", "ask_stock", "request_return", "rejected", "agent1")

    class Jobs:
        def latest(self):
            return {"id": 1, "status": "kept"}

        def recover_interrupted(self):
            return 0

    async def preview_values():
        return {"product": "纯棉T恤"}

    async def main():
        app = Sanic("trainer_alone")
        run_db = DbRunner()
        auth = StaffAuth(accounts, run_db=run_db)
        services = TrainerServices(
            STRINGS["trainer"], None, queue, Jobs(), auth, preview_values, run_db, intent_names=STRINGS["intent_names"]
        )
        app.blueprint(trainer_blueprint(services))
        async with serving(app) as base:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await logged_in(http, base, "trainer", "trainer1")
                async with http.get(f"{base}/trainer/api/candidates") as reply:
                    candidates = (await reply.json())["candidates"]
                async with http.get(f"{base}/trainer/api/train") as reply:
                    job = (await reply.json())["job"]
                async with http.post(f"{base}/trainer/api/preview", json={"text": "{product}有货"}) as reply:
                    preview = (await reply.json())["text"]
                async with http.get(f"{base}/agent") as reply:
                    assert reply.status == 404  # only the trainer console is there
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                async with http.post(f"{base}/trainer/login", json={"username": "agent1", "password": "secret-password"}) as reply:
                    assert reply.status == 401  # an agent cannot use the trainer console
        return candidates, job, preview

    candidates, job, preview = asyncio.run(main())
    assert [(c["text"], c["correct_intent"]) for c in candidates] == [("这个能退吗", "request_return")]
    assert candidates[0]["predicted_intent"] == "ask_stock" and candidates[0]["predicted_label"] == "询问库存"
    assert job == {"id": 1, "status": "kept"}
    assert preview == "纯棉T恤有货"
    store.close()
