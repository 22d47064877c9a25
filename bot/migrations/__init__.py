"""Alembic migrations of the shop and gateway databases (the tables of bot.db_schema).

Two branches, one per part of the schema, each with its own row in the alembic_version table: the
shop's (branch label ``shop``: the orders database) and the gateway's (``gateway``: sessions,
messages, review, agents, training). A database holds one part or both. bot.db_migrate.upgrade
runs them; revisions are under versions/.

A new revision, after changing bot/db_schema.py (against a database upgraded to head):

    .venv/bin/python -m alembic -c bot/migrations/alembic.ini -x url=sqlite:///var/gateway.db \\
        -x parts=gateway revision --autogenerate --head gateway@head --rev-id gateway_0002 -m "what changes"

then read and correct what it wrote (autogenerate misses renames and data moves); tests/schema
checks that upgrading a new database gives exactly bot.db_schema."""
