"""`python -m bot run-prod` (make run-prod): the production profile on this machine against the local
PostgreSQL and Redis, for trying it out before a cluster (deploy/README.md)."""

from __future__ import annotations

import os
import sys
from typing import Dict

from bot.db_migrate import upgrade
from bot.db_schema import GATEWAY, SHOP
from bot.ops.production.databases import ServiceMissing, ensure_database, ensure_redis
from bot.ops.production.event_broker import ensure_event_broker
from bot.ops.production.profile import ProductionProfile, nginx_binary
from bot.ops.supervisor import run_services
from bot.settings import Settings, child_environment, secret_problems
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.sql import SqlOrderRepository


def prepare(profile: ProductionProfile, settings: Settings, reseed: bool = False, with_nginx: bool = True) -> Dict[str, str]:
    """Checks the services, creates the databases, upgrades the shop and gateway schema (once, here:
    several gateways starting together would race), seeds the demo shop into an empty shop
    database, makes the event stream's RabbitMQ user and virtual host (on this machine's broker)
    and writes the nginx configuration; returns the replicas' environment."""
    if with_nginx:
        nginx_binary()
    ensure_redis(profile.redis_host, profile.redis_port)
    ensure_event_broker(profile.event_broker)
    for purpose in ("tracker", "shop", "gateway"):
        ensure_database(profile.database_url(purpose))
    upgrade(profile.database_url("shop"), [SHOP])
    upgrade(profile.database_url("gateway"), [GATEWAY])
    shop = SqlOrderRepository(profile.database_url("shop"))
    try:
        if reseed or not shop.list_products():
            shop.import_shop(load_demo_shop(settings.demo_shop_file))
    finally:
        shop.close()
    if with_nginx:
        profile.write_nginx_config()
    (profile.var_dir / "uploads").mkdir(parents=True, exist_ok=True)
    return child_environment(profile.environment())


def refusals(settings: Settings, env=None) -> list:
    """Why the production profile must not start: default, empty or short secrets, the demo shop."""
    problems = [
        f"{problem}: set a random value of at least 32 characters in the environment or .env "
        f"(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        for problem in secret_problems(os.environ if env is None else env)
    ]
    if settings.demo_shop:
        problems.append(
            "QKF_DEMO_SHOP is on: the demo shop signs a token for any buyer; production buyers are identified by the shop's own tokens"
        )
    return problems


def run_prod(settings: Settings, model_path: str, reseed: bool = False, prepare_only: bool = False) -> int:
    problems = refusals(settings)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("error: the production profile does not start", file=sys.stderr)
        return 2
    profile = ProductionProfile.from_env()
    try:
        env = prepare(profile, settings, reseed, with_nginx=not prepare_only)
    except (ServiceMissing, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if prepare_only:
        print(f"databases and schema ready on {profile.postgres_url}")
        return 0
    public = profile.url(profile.gateway_port)
    banner = (
        "\nQinkefu (production profile) is running:\n"
        f"  Widget for the shop's pages: {public}/widget/widget.js (data-buyer-token: signed by the shop)\n"
        f"  Agent console:              {public}/agent   Trainer console: {public}/trainer\n"
        f"  Gateway health / ready:     {public}/health  /ready\n"
        f"  Rasa (load balanced):       {profile.url(profile.rasa_port)}  replicas on {profile.rasa_replicas}\n"
        f"  Actions (load balanced):    {profile.url(profile.action_port)}  replicas on {profile.action_replicas}\n"
        f"  Model server:               {profile.url(profile.model_server_port)}  (replicas pull every {profile.model_pull_seconds} s;"
        f" artifacts in {profile.model_server_dir})\n"
        f"  Gateways:                   {profile.gateway_replicas} (socket.io rooms shared through {profile.redis_url})\n"
        f"  Event stream:               {profile.event_broker.where} -> conversation_events "
        f"(consumer ready: {profile.url(profile.events_port)}/ready)\n"
        f"  Databases:                  {profile.database_url('tracker')}, _shop, _gateway"
    )
    return run_services(profile.host, profile.stages(model_path), env, profile.var_dir / "logs", banner)
