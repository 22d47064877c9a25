"""Upgrades the shop and gateway databases to the schema of bot.db_schema with the Alembic
migrations under bot/migrations. Run once at start-up, before the services that use them (`make
run`, `make run-prod`, `python -m bot seed` and `python -m bot migrate`), never by the services
themselves: several gateways starting together would race.

A database made before the migrations (by the create_all of earlier code: no alembic_version
table) is taken over as it is: the first revision keeps the tables it finds, with their rows,
and creates the missing ones; later revisions then apply as to any other database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.db import create_engine
from bot.db_schema import GATEWAY, PARTS, SHOP, metadata, table_names

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default: one row per part the database holds


def alembic_config(connection=None, parts: Sequence[str] = tuple(PARTS)) -> Config:
    """The migrations' configuration, on ``connection`` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["parts"] = tuple(parts)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions(parts: Iterable[str] = PARTS) -> dict:
    """{part: its newest revision}."""
    script = ScriptDirectory.from_config(alembic_config())
    return {part: script.get_revision(f"{part}@head").revision for part in parts}


def current_revisions(connection) -> set:
    """The revisions recorded in the database (one per part it holds; none before the migrations)."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return set()
    return {row[0] for row in connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))}


def include_tables_of(parts: Iterable[str]):
    """An Alembic include_object hook that keeps only the tables of ``parts`` (a database may hold
    other tables, Rasa's tracker store for one, and a gateway database has no shop tables)."""
    names = table_names(*parts)

    def include_object(_object, name, type_, _reflected, _compare_to) -> bool:
        return type_ != "table" or name in names

    return include_object


def differences(connection, parts: Iterable[str] = PARTS) -> list:
    """What Alembic's autogenerate would change for the database to match bot.db_schema (the tables
    of ``parts``): [] when they agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_tables_of(parts)})
    return compare_metadata(context, metadata)


def _make_sqlite_folder(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, parts: Sequence[str] = tuple(PARTS)) -> None:
    """Upgrades the tables of ``parts`` (shop, gateway; both by default) in the database of
    ``database_url`` to their newest revision, in one transaction."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown schema parts {sorted(unknown)}; known: {sorted(PARTS)}")
    _make_sqlite_folder(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            before = current_revisions(connection)
            config = alembic_config(connection, parts)
            for part in parts:
                command.upgrade(config, f"{part}@head")
            after = current_revisions(connection)
        if after != before:
            logger.info(
                "schema of %s upgraded: %s -> %s",
                engine.url.render_as_string(hide_password=True),
                ", ".join(sorted(before)) or "none",
                ", ".join(sorted(after)),
            )
    finally:
        engine.dispose()


def upgrade_databases(orders_db_url: str, gateway_db_url: str) -> None:
    """The shop's tables into the orders database (ORDERS_DB_URL), the gateway's into the gateway
    database (GATEWAY_DB_URL); one database may be both. ``memory://`` orders have no schema."""
    if not orders_db_url.startswith("memory://"):
        upgrade(orders_db_url, [SHOP])
    upgrade(gateway_db_url, [GATEWAY])
