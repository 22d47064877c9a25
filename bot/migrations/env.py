"""The Alembic environment: runs the revisions on the connection bot.db_migrate.upgrade hands over
(config.attributes["connection"]), or on -x url=... from the alembic command line."""

from __future__ import annotations

from alembic import context

from bot.db import create_engine
from bot.db_migrate import include_tables_of
from bot.db_schema import PARTS, metadata

config = context.config


def _parts() -> tuple:
    """The parts of the schema this database holds (autogenerate compares only their tables)."""
    given = config.attributes.get("parts") or context.get_x_argument(as_dictionary=True).get("parts")
    if not given:
        return tuple(PARTS)
    return tuple(given.split(",")) if isinstance(given, str) else tuple(given)


def run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, include_object=include_tables_of(_parts()),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the first revisions look at the database")

shared = config.attributes.get("connection")
if shared is not None:
    run(shared)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("name the database: alembic -c bot/migrations/alembic.ini -x url=... <command>")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
            connection.commit()
    finally:
        engine.dispose()
