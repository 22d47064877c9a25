"""The migrations (bot/migrations) and the schema module (bot/db_schema.py) agree, and a database
made before the migrations (by the create_all of the earlier code: no alembic_version table) is
taken over with its rows, on SQLite and on PostgreSQL. before_migrations/ holds that earlier
code's DDL, frozen."""

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from bot.ops import supervisor
from bot.db_migrate import (
    alembic_config, current_revisions, differences, head_revisions, upgrade, upgrade_databases,
)
from bot.db_schema import GATEWAY, PARTS, SHOP, phone_tail_failures, table_names, trained_models, training_jobs
from bot.gateway.store import GatewayStore
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from bot.shop.orders.sql import SqlOrderRepository
from bot.shop.phone_lock import PhoneTailLocks
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.settings import Settings
from bot.training.delivery import ModelDelivery
from bot.training.jobs import TrainingJobs
from tests.conftest import ROOT, new_postgres_database

BEFORE = Path(__file__).resolve().parent / "before_migrations"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
ORDER = "260318273645019283"  # B001's delivered order
PASSWORD = "correct-horse-9"
# What `make agent` made before the first `make run`: the gateway's and the accounts' tables only.
MAKE_AGENT_TABLES = {"gateway_sessions", "gateway_messages", "gateway_pending_events", "agent_accounts", "agent_logins"}


@pytest.fixture
def fresh_postgres_url():
    with new_postgres_database() as url:
        yield url


def sqlite_url(tmp_path, name):
    return f"sqlite:///{tmp_path / name}"


def engine_for(url):
    return sa.create_engine(url, future=True)


def diff(url, parts=tuple(PARTS)):
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return differences(conn, parts)
    finally:
        engine.dispose()


def versions(url):
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return current_revisions(conn)
    finally:
        engine.dispose()


def tables(url):
    engine = engine_for(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def heads(*parts):
    return set(head_revisions(parts or PARTS).values())


def statements(part, dialect):
    """The frozen DDL of ``part``: [(table, statement)]."""
    lines = (BEFORE / f"{part}.{dialect}.sql").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.startswith("--"))
    found = []
    for statement in filter(None, (s.strip() for s in text.split(";"))):
        match = re.match(r"CREATE TABLE (\w+)|CREATE INDEX \w+ ON (\w+)", statement)
        found.append((match.group(1) or match.group(2), statement))
    return found


def create_before_migrations(url, part, only=None):
    """A database as the code before the migrations left it (``only``: just some of its tables)."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for table, statement in statements(part, engine.dialect.name):
                if only is None or table in only:
                    conn.execute(sa.text(statement))
    finally:
        engine.dispose()


# -- what the services write, and read back after the upgrade ----------------------------------
def fill_shop(url):
    repository = SqlOrderRepository(url)
    repository.import_shop(load_demo_shop(ROOT / "data/shop/demo_shop.yml", now=NOW))
    request = repository.create_return_request(ORDER, "B001", "quality", "refund", "seller")
    refund = repository.create_price_refund("260309375521804617", "B003", 20.0)
    repository.close()
    locks = PhoneTailLocks(url)
    assert not locks.failed("260316981255037716")
    locks.close()
    return {"request": request, "refund": refund}


def check_shop(url, before):
    snapshot = load_demo_shop(ROOT / "data/shop/demo_shop.yml", now=NOW)
    memory = InMemoryOrderRepository(snapshot)
    repository = SqlOrderRepository(url)
    try:
        assert repository.list_products() == memory.list_products()
        assert all(repository.get_order(o.id) == memory.get_order(o.id) for o in snapshot.orders)
        assert repository.return_requests_for_order(ORDER) == [before["request"]]
        assert repository.price_refunds_for_order("260309375521804617") == [before["refund"]]
        later = repository.create_return_request(ORDER, "B001", "non_quality", "exchange", "buyer")
        assert later.id > before["request"].id
    finally:
        repository.close()
    locks = PhoneTailLocks(url, max_failures=2)
    try:
        assert locks.failed("260316981255037716")  # the wrong tail counted before is still counted
    finally:
        locks.close()


def fill_gateway(url, tmp_path, everything=True):
    store = GatewayStore(url)
    try:
        store.touch_session("s-before", "B001")
        message = store.add_message("s-before", "buyer", "有货吗", client_id="c1")
        AgentAccounts(store.engine).add("alice", PASSWORD)
        if not everything:
            return {"message": message}
        queue = ReviewQueue(store.engine)
        parse = [{"intent": "request_return", "confidence": 0.99}]
        held = queue.record_turn("s-before", "B001", "我要退货", parse, [{"text": "亲"}], True, "always")
        queue.add_candidate("我要退货", "ask_stock", "request_return", "rejected", "alice")
        with store.engine.begin() as conn:  # the columns a model had before the migrations
            conn.execute(
                trained_models.insert().values(
                    name="model-before", path=str(tmp_path / "models" / "m.tar.gz"), created_at=NOW, accuracy=0.9, macro_f1=0.8, active=True
                )
            )
            conn.execute(training_jobs.insert().values(status="kept", progress=100, message="", started_at=NOW))
        return {"message": message, "held": held}
    finally:
        store.close()


def check_gateway(url, before, tmp_path, everything=True):
    store = GatewayStore(url)
    try:
        assert store.history("s-before") == [before["message"]]
        assert store.latest_session_of("B001") == "s-before"
        assert store.add_message("s-before", "buyer", "有货吗", client_id="c1") is None  # still unique
        accounts = AgentAccounts(store.engine)
        assert accounts.who(accounts.login("alice", PASSWORD)) == {"username": "alice", "role": "agent"}
        queue = ReviewQueue(store.engine)
        jobs = TrainingJobs(store.engine, ROOT, ModelDelivery([]))
        if everything:
            assert [s["id"] for s in queue.pending()] == [before["held"]["id"]]
            assert [c["text"] for c in queue.candidates()] == ["我要退货"]
            assert jobs.active()["name"] == "model-before" and jobs.latest()["status"] == "kept"
        else:  # the tables the upgrade created work
            queue.record_turn("s-before", "B001", "有货吗", [{"intent": "ask_stock", "confidence": 0.99}], [], False, "")
            assert queue.routing_state("s-before") == ({"ask_stock": 1}, None)
            assert jobs.history() == []
    finally:
        store.close()


# -- a new database ----------------------------------------------------------------------------
@pytest.mark.parametrize("parts", [(SHOP, GATEWAY), (SHOP,), (GATEWAY,)])
def test_a_new_database_gets_exactly_the_schema_module(tmp_path, parts):
    url = sqlite_url(tmp_path / "var", "new.db")  # the folder is made too
    upgrade(url, parts)
    assert diff(url, parts) == []
    assert tables(url) == table_names(*parts) | {"alembic_version"}
    assert versions(url) == heads(*parts)
    upgrade(url, parts)  # again: nothing to do
    assert versions(url) == heads(*parts)


def test_the_comparison_sees_a_missing_index_or_column(tmp_path):
    url = sqlite_url(tmp_path, "changed.db")
    upgrade(url)
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_orders_buyer_id"))
        conn.execute(sa.text("ALTER TABLE trained_models DROP COLUMN report_dir"))
    engine.dispose()
    changes = [change for change in diff(url) if isinstance(change, tuple)]
    assert "ix_orders_buyer_id" in {change[1].name for change in changes if change[0] == "add_index"}, changes
    assert ("trained_models", "report_dir") in {(c[2], c[3].name) for c in changes if c[0] == "add_column"}, changes


def test_the_first_revisions_create_what_create_all_created_before_them(tmp_path):
    """The first revision of each part is today's schema as the earlier code made it, DDL for DDL."""
    url = sqlite_url(tmp_path, "first.db")
    engine = engine_for(url)
    with engine.begin() as conn:
        config = alembic_config(conn)
        command.upgrade(config, "shop_0001")
        command.upgrade(config, "gateway_0001")
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'alembic_version'"))
        made = {row.name: row.sql for row in rows}
    engine.dispose()
    normal = lambda sql: re.sub(r"\s+", " ", sql).strip()  # noqa: E731
    frozen = {}
    for part in PARTS:
        for _table, statement in statements(part, "sqlite"):
            frozen[re.match(r"CREATE (?:TABLE|INDEX) (\w+)", statement).group(1)] = normal(statement)
    assert {name: normal(sql) for name, sql in made.items()} == frozen


# -- a database from before the migrations -----------------------------------------------------
def test_databases_from_before_the_migrations_are_taken_over_with_their_rows(tmp_path):
    shop, gateway = sqlite_url(tmp_path, "shop.db"), sqlite_url(tmp_path, "gateway.db")
    create_before_migrations(shop, SHOP)
    create_before_migrations(gateway, GATEWAY)
    shop_rows, gateway_rows = fill_shop(shop), fill_gateway(gateway, tmp_path)
    assert versions(shop) == versions(gateway) == set()
    upgrade_databases(shop, gateway)  # what `make run` and `python -m bot migrate` do
    assert versions(shop) == heads(SHOP) and versions(gateway) == heads(GATEWAY)
    assert diff(shop, [SHOP]) == [] and diff(gateway, [GATEWAY]) == []
    check_shop(shop, shop_rows)
    check_gateway(gateway, gateway_rows, tmp_path)
    upgrade_databases(shop, gateway)
    assert versions(shop) == heads(SHOP) and versions(gateway) == heads(GATEWAY)


def test_a_gateway_database_made_by_make_agent_before_the_first_run_gets_the_missing_tables(tmp_path):
    url = sqlite_url(tmp_path, "gateway.db")
    create_before_migrations(url, GATEWAY, only=MAKE_AGENT_TABLES)
    rows = fill_gateway(url, tmp_path, everything=False)
    assert tables(url) == MAKE_AGENT_TABLES
    upgrade(url, [GATEWAY])
    assert tables(url) == table_names(GATEWAY) | {"alembic_version"} and diff(url, [GATEWAY]) == []
    check_gateway(url, rows, tmp_path, everything=False)


def test_one_database_can_hold_both_parts_beside_other_tables(tmp_path):
    url = sqlite_url(tmp_path, "one.db")
    engine = engine_for(url)
    with engine.begin() as conn:  # e.g. Rasa's tracker store, were it pointed at the same file
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255))"))
        conn.execute(sa.text("INSERT INTO events (sender_id) VALUES ('someone')"))
    engine.dispose()
    create_before_migrations(url, SHOP)
    upgrade_databases(url, url)
    assert versions(url) == heads(SHOP, GATEWAY) and diff(url) == []
    assert tables(url) == table_names() | {"alembic_version", "events"}
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT sender_id FROM events")).scalars().all() == ["someone"]
    engine.dispose()


# -- where the upgrade runs ----------------------------------------------------------------------
def test_python_m_bot_migrate_upgrades_the_orders_and_gateway_databases(tmp_path):
    shop, gateway = sqlite_url(tmp_path, "shop.db"), sqlite_url(tmp_path, "gateway.db")
    create_before_migrations(gateway, GATEWAY, only=MAKE_AGENT_TABLES)
    env = dict(os.environ, ORDERS_DB_URL=shop, GATEWAY_DB_URL=gateway, QKF_VAR_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert versions(shop) == heads(SHOP) and versions(gateway) == heads(GATEWAY)
    assert diff(gateway, [GATEWAY]) == []


def test_make_run_upgrades_both_databases_before_it_starts_a_service(tmp_path, monkeypatch):
    shop, gateway = sqlite_url(tmp_path, "shop.db"), sqlite_url(tmp_path, "gateway.db")
    monkeypatch.setenv("ORDERS_DB_URL", shop)
    monkeypatch.setenv("GATEWAY_DB_URL", gateway)
    monkeypatch.setenv("QKF_VAR_DIR", str(tmp_path))
    seen = {}

    def run_services(host, stages, env, log_dir, banner):
        seen["versions"] = (versions(shop), versions(gateway))
        return 0

    monkeypatch.setattr(supervisor, "run_services", run_services)
    assert supervisor.run(Settings.from_env(), log_dir=tmp_path / "logs") == 0
    assert seen["versions"] == (heads(SHOP), heads(GATEWAY))


# -- PostgreSQL (the production profile) -------------------------------------------------------
def test_postgres_new_database_gets_exactly_the_schema_module(fresh_postgres_url):
    upgrade(fresh_postgres_url)
    assert diff(fresh_postgres_url) == []
    assert versions(fresh_postgres_url) == heads()
    assert tables(fresh_postgres_url) == table_names() | {"alembic_version"}


def test_postgres_databases_from_before_the_migrations_are_taken_over_with_their_rows(fresh_postgres_url, tmp_path):
    url = fresh_postgres_url  # both parts in one database, as in tests/test_repository_postgres.py
    create_before_migrations(url, SHOP)
    create_before_migrations(url, GATEWAY)
    shop_rows, gateway_rows = fill_shop(url), fill_gateway(url, tmp_path)
    upgrade_databases(url, url)
    assert versions(url) == heads() and diff(url) == []
    check_shop(url, shop_rows)
    check_gateway(url, gateway_rows, tmp_path)
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(phone_tail_failures.c.failures)).scalars().all() == [2]
    engine.dispose()
