"""Gateway app factory: builds the services once and wires the parts, each a blueprint with its
socket.io events: the buyer's widget and JSON API (bot.gateway.buyer_api), the agent console
(agent_api), the trainer console (trainer_api), and the demo shop pages (pages)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Optional, cast

import yaml
from sanic import Sanic

from bot.gateway import security
from bot.gateway.agent_api import AgentServices, agent_blueprint, register_agent_events
from bot.gateway.analytics_api import AnalyticsServices, analytics_blueprint
from bot.gateway.buyer_api import MAX_PHOTO_BYTES, BuyerServices, buyer_blueprint, register_buyer_events
from bot.gateway.conversation import Conversations
from bot.gateway.db_runner import DbRunner
from bot.gateway.live import LiveUpdates, socket_server
from bot.gateway.pages import register_pages
from bot.gateway.rasa_client import RasaClient
from bot.gateway.staff_auth import StaffAuth
from bot.gateway.store import GatewayStore
from bot.gateway.trainer_api import TrainerServices, demo_preview_values, trainer_blueprint
from bot.review.agents import AgentAccounts
from bot.review.analytics import Analytics
from bot.review.queue import ReviewQueue
from bot.review.routing import RoutingPolicy
from bot.settings import Settings
from bot.shop.orders import build_repository
from bot.shop.policy import ShopPolicy
from bot.training.delivery import ModelDelivery
from bot.training.documents import SqlDocuments
from bot.training.jobs import TrainingJobs
from bot.training.project_data import ProjectData

logger = logging.getLogger(__name__)


def load_strings(path: Path) -> Dict[str, Dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def create_app(settings: Optional[Settings] = None, name: str = "qinkefu_gateway") -> Sanic:
    settings = settings or Settings.from_env()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_PHOTO_BYTES + 64 * 1024
    strings = load_strings(settings.gateway_strings_file)
    sio = socket_server(settings)
    sio.attach(app)
    security.install(app, settings.allowed_origins, settings.trusted_proxies)

    # -- services (nothing here connects yet: engines connect on first use, Rasa's client opens below)
    run_db = DbRunner()  # every database call of a handler runs in its bounded thread pool
    live = LiveUpdates(sio)
    store = GatewayStore(settings.gateway_db_url)
    queue = ReviewQueue(store.engine)
    accounts = AgentAccounts(store.engine)
    routing = RoutingPolicy.load(settings.routing_file)
    orders = build_repository(settings.orders_db_url)
    rasa = RasaClient(settings.rasa_url, max_in_flight=settings.rasa_max_in_flight, token=settings.rasa_auth_token)
    # The trainer's edits go to the gateway database, over the project files this process ships
    # with; a training worker (python -m bot training-worker) trains them.
    project_dir = settings.trainer_project_dir
    project = ProjectData.with_current_intents_fixed(project_dir, SqlDocuments(store.engine, project_dir))
    jobs = TrainingJobs(store.engine, project_dir, ModelDelivery.from_settings(settings), run_db=run_db)

    # An agent connected to the console here, or signed in to it (else held replies are unattended at once).
    async def agents_online() -> bool:
        return live.agents_connected() or await run_db(accounts.agents_signed_in)

    conversations = Conversations(
        store, rasa, queue, routing, strings["gateway"], live.notify_agents, run_db, agents_online=agents_online, orders=orders
    )
    auth = StaffAuth(accounts, settings.trusted_proxies, run_db)

    # Sanic 21.12's listener decorator is typed for the bare form (@app.listener without a name).
    @app.listener("before_server_start")  # type: ignore[call-arg, arg-type]
    async def open_resources(_app: Sanic, _loop) -> None:
        run_db.open()
        await rasa.open()

    @app.listener("after_server_stop")  # type: ignore[call-arg, arg-type]
    async def close_resources(_app: Sanic, _loop) -> None:
        await rasa.close()
        store.close()
        run_db.close()

    # -- parts -----------------------------------------------------------------------------
    buyer = BuyerServices(settings, strings, store, conversations, orders, rasa, live, run_db)
    app.blueprint(buyer_blueprint(buyer))
    register_buyer_events(sio, buyer)
    # The demo shop (pages that sign a token for ?buyer=…) only when QKF_DEMO_SHOP is on (make run).
    register_pages(app, settings, strings["pages"], orders, run_db, demo=settings.demo_shop)
    agents = AgentServices(
        strings["agent"],
        settings.buyer_token_secret,
        store,
        queue,
        routing,
        project,
        conversations,
        live,
        auth,
        run_db,
        orders=orders,
        intent_names=strings.get("intent_names") or {},
        order_states=cast(Dict[str, str], strings["pages"]["order_states"]),
        shop_timezone=ShopPolicy.load(settings.policy_file).timezone,
    )
    app.blueprint(agent_blueprint(agents))
    register_agent_events(sio, agents)
    app.blueprint(
        trainer_blueprint(
            TrainerServices(
                strings["trainer"],
                project,
                queue,
                jobs,
                auth,
                lambda: run_db(demo_preview_values, orders),
                run_db,
                intent_names=strings.get("intent_names") or {},
            )
        )
    )
    # The owner's analytics: first-response goal from routing.yml, days in the shop's time zone.
    analytics = Analytics(
        store.engine,
        routing.sla_red_seconds,
        ShopPolicy.load(settings.policy_file).timezone,
        strings.get("intent_names") or {},
    )
    app.blueprint(analytics_blueprint(AnalyticsServices(strings["analytics"], analytics, auth, run_db)))
    return app


def serve(settings: Settings) -> None:
    create_app(settings).run(host=settings.host, port=settings.gateway_port, access_log=False, workers=1)
