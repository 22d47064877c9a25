"""Command line of Qinkefu: ``python -m bot <command>`` (bot/__main__.py calls ``main``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bot import log_scrub
from bot import settings as registry
from bot.settings import SettingError, Settings, ensure_local_secrets, load_dotenv


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db_migrate import upgrade
    from bot.db_schema import SHOP
    from bot.shop.orders.demo_shop import load_demo_shop
    from bot.shop.orders.sql import SqlOrderRepository

    upgrade(settings.orders_db_url, [SHOP])
    snapshot = load_demo_shop(settings.demo_shop_file)
    repository = SqlOrderRepository(settings.orders_db_url)
    repository.import_shop(snapshot)
    repository.close()
    print(
        f"seeded {len(snapshot.products)} products, {len(snapshot.buyers)} buyers and "
        f"{len(snapshot.orders)} orders into {settings.orders_db_url}"
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrades the schema of the orders and gateway databases (`make run` and `make run-prod` do it
    at start-up; a cluster runs this, or run-prod --prepare-only, once per release)."""
    from bot.db_migrate import upgrade_databases

    upgrade_databases(settings.orders_db_url, settings.gateway_db_url)
    print("the orders and gateway databases have the current schema")
    return 0


def cmd_build_encoder(settings: Settings, args: argparse.Namespace) -> int:
    """Builds the sentence encoder where config.yml's SentenceEmbeddingFeaturizer reads it."""
    import yaml

    from bot.rasa_server.nlp.e5_onnx import build
    from bot.rasa_server.nlp.sentence_embedding_featurizer import SentenceEmbeddingFeaturizer

    with open(args.config, encoding="utf-8") as handle:
        pipeline = yaml.safe_load(handle)["pipeline"]
    featurizer = next(c for c in pipeline if c["name"].endswith(SentenceEmbeddingFeaturizer.__name__))
    directory = featurizer.get("encoder_dir", SentenceEmbeddingFeaturizer.get_default_config()["encoder_dir"])
    print(f"built the sentence encoder {build(directory)}")
    return 0


def cmd_build_nlp(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rasa_server.nlp.build_spacy import build_pipeline
    from bot.rasa_server.nlp.shop_terms import shop_terms
    from bot.shop.lexicon import Lexicon
    from bot.shop.orders import build_repository
    from bot.shop.policy import ShopPolicy

    repository = build_repository(settings.orders_db_url)
    terms = shop_terms(repository.list_products(), Lexicon.load(settings.lexicon_file), ShopPolicy.load(settings.policy_file))
    count = build_pipeline(terms, settings.dictionary_dir, settings.spacy_model_dir)
    print(f"built the spaCy zh pipeline ({count} entity patterns) in {settings.spacy_model_dir}")
    return 0


def cmd_actions(settings: Settings, args: argparse.Namespace) -> int:
    from bot.action_server.app import serve

    serve(settings)
    return 0


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> int:
    from bot.gateway.app import serve

    serve(settings)
    return 0


def cmd_events(settings: Settings, args: argparse.Namespace) -> int:
    """The event consumer: RabbitMQ (EVENT_BROKER_*) -> conversation_events in GATEWAY_DB_URL."""
    from bot.events.broker import BrokerConfig
    from bot.events.consumer import main as consume

    try:
        config = BrokerConfig.from_env()
    except SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not config.password:
        print("error: EVENT_BROKER_PASSWORD is empty: the event consumer logs in to RabbitMQ with it", file=sys.stderr)
        return 2
    return consume(settings.gateway_db_url, settings.host, registry.get("EVENTS_PORT"), config)


def cmd_model_server(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.model_server.app import serve

    serve(settings, seed=Path(args.seed) if args.seed else None)
    return 0


def cmd_training_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Trains the jobs the trainer console queues (GATEWAY_DB_URL) and delivers the models."""
    import asyncio
    import signal

    from bot.gateway.store import GatewayStore
    from bot.training.delivery import ModelDelivery
    from bot.training.documents import SqlDocuments
    from bot.training.jobs import TrainingJobs
    from bot.training.project_data import ProjectData
    from bot.training.worker import TrainingWorker

    project_dir = settings.trainer_project_dir
    store = GatewayStore(settings.gateway_db_url)
    delivery = ModelDelivery.from_settings(settings)
    worker = TrainingWorker(
        TrainingJobs(store.engine, project_dir, delivery),
        ProjectData(project_dir, SqlDocuments(store.engine, project_dir)),
        settings.training_work_dir,
        delivery,
        poll_seconds=settings.training_poll_seconds,
    )

    async def work() -> int:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        return await worker.run(once=args.once, stop=stop)

    try:
        return asyncio.run(work())
    finally:
        store.close()


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.supervisor import run

    return run(settings, model_path=args.model)


def cmd_run_prod(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.production.run_prod import run_prod

    return run_prod(settings, model_path=args.model, reseed=args.reseed, prepare_only=args.prepare_only)


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from bot.shop.identity import issue_buyer_token

    print(issue_buyer_token(settings.buyer_token_secret, args.buyer_id, args.ttl))
    return 0


def cmd_agent_add(settings: Settings, args: argparse.Namespace) -> int:
    """Creates (or resets the password of) an agent account in the gateway database."""
    import getpass

    from bot.db_migrate import upgrade
    from bot.db_schema import GATEWAY
    from bot.gateway.store import GatewayStore
    from bot.review.agents import AgentAccounts

    password = registry.get("QKF_NEW_PASSWORD") or (
        sys.stdin.readline().strip() if args.password_stdin else getpass.getpass(f"password for {args.username}: ")
    )
    upgrade(settings.gateway_db_url, [GATEWAY])
    store = GatewayStore(settings.gateway_db_url)
    try:
        AgentAccounts(store.engine).add(args.username, password, args.role)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    console = {"trainer": "/trainer", "owner": "/analytics"}.get(args.role, "/agent")
    print(f"{args.role} account {args.username} is ready; log in at {console}")
    return 0


def cmd_trainer(settings: Settings, args: argparse.Namespace) -> int:
    """The trainer console's data operations on this checkout's files (same validation); the console
    stores its edits in the gateway database instead."""
    import json

    from bot.training.checks import validate
    from bot.training.project_data import DataError, ProjectData

    project = ProjectData(settings.trainer_project_dir)
    try:
        if args.trainer_command == "intents":
            for name, info in sorted(project.intents().items()):
                print(f"{name}\t{len(info['examples'])} examples\t{'rule' if info['has_rule'] else 'NO RULE'}")
        elif args.trainer_command == "add-intent":
            project.add_intent(args.name, args.examples)
        elif args.trainer_command == "add-example":
            project.add_example(args.intent, args.text)
        elif args.trainer_command == "set-response":
            slots = list((project.domain().get("slots") or {}).keys())
            project.set_response(args.name, args.texts, slots)
        elif args.trainer_command == "add-rule":
            project.add_rule(args.intent, args.response)
        elif args.trainer_command == "validate":
            result = validate(project)
            print(json.dumps(result, ensure_ascii=False, indent=2))
            return 0 if result["ok"] else 1
    except DataError as error:
        for message in error.errors:
            print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """The settings registry (bot/settings.py) from the terminal and from the Makefile."""
    if args.settings_command == "env-example":
        sys.stdout.write(registry.env_example())
        return 0
    if args.settings_command == "get":
        try:
            declared = registry.variable(args.name)
            if declared.type == "secret":
                print(f"error: {args.name} is a secret; it is not printed", file=sys.stderr)
                return 2
            value = registry.text(args.name)
        except SettingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print("" if value is None else value)
        return 0
    problems = registry.check()
    if args.settings_command == "check":
        unknown = sorted(set(registry.read_env_file(registry.PROJECT_ROOT / ".env")) - set(registry.VARIABLES))
        for name in unknown:
            print(f"warning: {name} in .env is not a setting of this project (see .env.example)", file=sys.stderr)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if not problems:
            print(f"{len(registry.VARIABLES)} settings, all valid")
        return 2 if problems else 0
    # exec: run a command with the environment every process of the project gets.
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        print("error: settings exec needs a command", file=sys.stderr)
        return 2
    os.execvpe(command[0], command, registry.child_environment(local_secrets=args.local_secrets))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Qinkefu command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed", help="load the demo shop into ORDERS_DB_URL (replaces its content)")
    commands.add_parser("migrate", help="upgrade the schema of the orders and gateway databases")
    commands.add_parser("build-nlp", help="build the spaCy zh pipeline from the catalogue")
    encoder = commands.add_parser("build-encoder", help="build the int8 sentence encoder named in config.yml")
    encoder.add_argument("--config", default="config.yml")
    commands.add_parser("actions", help="run the action server")
    commands.add_parser("gateway", help="run the gateway")
    commands.add_parser("events", help="run the event consumer: Rasa's events from RabbitMQ into conversation_events")
    model_server = commands.add_parser("model-server", help="run the model server the Rasa replicas pull models from")
    model_server.add_argument(
        "--seed", metavar="MODEL", help="when no model is active yet, publish this model file and make it active"
    )
    training_worker = commands.add_parser(
        "training-worker", help="train the jobs the trainer console queues, publish and activate the models"
    )
    training_worker.add_argument("--once", action="store_true", help="the next queued job (if any), then exit")
    run = commands.add_parser("run", help="run the action server, Rasa server and gateway")
    run.add_argument("--model", default="models", help="model file or folder (newest model)")
    run_prod = commands.add_parser(
        "run-prod", help="the production profile on this machine: replicas behind nginx, PostgreSQL, Redis"
    )
    run_prod.add_argument("--model", default="models/qinkefu.tar.gz", help="model file")
    run_prod.add_argument("--reseed", action="store_true", help="replace the shop database with the demo shop")
    run_prod.add_argument(
        "--prepare-only", action="store_true", help="create the databases and the schema, seed an empty shop, then exit"
    )
    token = commands.add_parser("token", help="print a signed buyer token (for trying identity)")
    token.add_argument("buyer_id")
    token.add_argument("--ttl", type=int, default=7 * 24 * 3600)
    agent_add = commands.add_parser(
        "agent-add", help="create a staff account: agent, trainer or owner (password asked, or QKF_NEW_PASSWORD)"
    )
    agent_add.add_argument("username")
    agent_add.add_argument("--role", default="agent", choices=["agent", "trainer", "owner"])
    agent_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    trainer = commands.add_parser("trainer", help="edit intents, examples, templates and rules; validate")
    trainer_commands = trainer.add_subparsers(dest="trainer_command", required=True)
    trainer_commands.add_parser("intents", help="list intents with their example counts")
    add_intent = trainer_commands.add_parser("add-intent", help="a new intent with its examples")
    add_intent.add_argument("name")
    add_intent.add_argument("examples", nargs="+")
    add_example = trainer_commands.add_parser("add-example")
    add_example.add_argument("intent")
    add_example.add_argument("text")
    set_response = trainer_commands.add_parser("set-response", help="a reply template with one or more wordings")
    set_response.add_argument("name")
    set_response.add_argument("texts", nargs="+")
    add_rule = trainer_commands.add_parser("add-rule", help="when INTENT, reply RESPONSE")
    add_rule.add_argument("intent")
    add_rule.add_argument("response")
    trainer_commands.add_parser("validate", help="rasa data validate and the project's own checks")
    settings_parser = commands.add_parser("settings", help="the environment variables: env-example, check, get, exec")
    settings_commands = settings_parser.add_subparsers(dest="settings_command", required=True)
    settings_commands.add_parser("env-example", help="print .env.example, generated from bot/settings.py")
    settings_commands.add_parser("check", help="check every variable's value (environment and .env)")
    get = settings_commands.add_parser("get", help="print a variable's value (its default when unset)")
    get.add_argument("name")
    exec_ = settings_commands.add_parser(
        "exec", help="run a command with the project's environment (.env and the defaults Rasa and libraries need)"
    )
    exec_.add_argument("--local-secrets", action="store_true", help="with this machine's generated secrets (make run's)")
    exec_.add_argument("command_line", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    args = parser.parse_args(argv)
    load_dotenv()
    if args.command == "settings":
        return cmd_settings(args)
    problems = registry.check()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    # Defaults of what Rasa and libraries read themselves, before any of them is imported.
    os.environ.update(registry.exported_defaults())
    log_scrub.install()
    settings = Settings.from_env()
    if args.command in ("run", "token"):
        # The embedded profile: this machine's generated secrets (var/secrets.env) unless set.
        os.environ.update(ensure_local_secrets())
        settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # "setup plugin ..." at every import
    handler = {
        "seed": cmd_seed,
        "migrate": cmd_migrate,
        "build-nlp": cmd_build_nlp,
        "build-encoder": cmd_build_encoder,
        "actions": cmd_actions,
        "gateway": cmd_gateway,
        "events": cmd_events,
        "model-server": cmd_model_server,
        "training-worker": cmd_training_worker,
        "run": cmd_run,
        "run-prod": cmd_run_prod,
        "token": cmd_token,
        "agent-add": cmd_agent_add,
        "trainer": cmd_trainer,
    }[args.command]
    return handler(settings, args)


if __name__ == "__main__":
    sys.exit(main())
