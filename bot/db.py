"""SQLAlchemy engines for the project's own databases (orders, gateway): SQLite files for the embedded
profile, PostgreSQL in production."""

from __future__ import annotations

from typing import Any, Dict

import sqlalchemy as sa


def create_engine(url: str) -> sa.engine.Engine:
    """Pooled connections are checked before use (a restarted PostgreSQL costs no failed request).
    SQLite files use write-ahead logging: several processes read while one writes, and a commit
    costs one sync instead of several (every buyer turn commits a few rows)."""
    options: Dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if not url.startswith("sqlite"):
        return sa.create_engine(url, **options)
    options["connect_args"] = {"check_same_thread": False, "timeout": 15}
    engine = sa.create_engine(url, **options)
    if url not in ("sqlite://", "sqlite:///:memory:"):

        @sa.event.listens_for(engine, "connect")
        def use_wal(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine
