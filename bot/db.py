"""SQLAlchemy engines for the project's own databases (orders, gateway): SQLite files for the embedded
profile, PostgreSQL in production."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Dict, Optional

import sqlalchemy as sa

# A pooled connection idle for longer than this is checked (SELECT 1) before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0


def ping_connections_after_idle(engine: sa.engine.Engine) -> None:
    """A restarted PostgreSQL costs no failed request, as with SQLAlchemy's pool_pre_ping, without
    a round trip at every checkout: a busy gateway checks out a connection several times per turn,
    and the pings were a fifth of its database time (py-spy, 30 buyers). A connection given back
    less than a second ago is used as it is; an older one is pinged, and a dead one is replaced
    (raising DisconnectionError in a checkout listener makes the pool reconnect)."""

    @sa.event.listens_for(engine, "checkin")
    def given_back(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("checked_in_at", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:  # any failure: the pool drops this connection and opens another
            raise sa.exc.DisconnectionError() from error
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - a dead connection's cursor may not close
                pass


def create_engine(url: str) -> sa.engine.Engine:
    """Pooled PostgreSQL connections are checked after they have been idle (see above). SQLite files
    use write-ahead logging: several processes read while one writes, and a commit costs one sync
    instead of several (every buyer turn commits a few rows)."""
    options: Dict[str, Any] = {"future": True}
    if not url.startswith("sqlite"):
        engine = sa.create_engine(url, **options)
        ping_connections_after_idle(engine)
        return engine
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


def utc_at(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite keeps no zone: its times were written as UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def utc(moment: Optional[datetime]) -> Optional[datetime]:
    return None if moment is None else utc_at(moment)
