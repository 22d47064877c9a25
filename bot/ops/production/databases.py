"""PostgreSQL databases and the Redis server of the production profile: checked and created."""

from __future__ import annotations

import socket

import sqlalchemy as sa
from sqlalchemy.engine import make_url


class ServiceMissing(RuntimeError):
    pass


def ensure_database(url: str) -> bool:
    """Creates the database of ``url`` when it does not exist; True when it was created."""
    target = make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with server.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}).first()
            if exists:
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
            return True
    except sa.exc.OperationalError as error:
        raise ServiceMissing(
            f"PostgreSQL is not reachable at {target.host}:{target.port or 5432} ({error.orig}). "
            "Start it (Debian: pg_ctlcluster <version> main start) or set PROD_POSTGRES_URL."
        ) from error
    finally:
        server.dispose()


def drop_database(url: str) -> None:
    target = make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        server.dispose()


def ensure_redis(host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                raise OSError("unexpected answer to PING")
    except OSError as error:
        raise ServiceMissing(
            f"Redis is not reachable at {host}:{port} ({error}). Start redis-server or set REDIS_HOST / REDIS_PORT."
        ) from error
