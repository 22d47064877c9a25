"""Agent accounts: scrypt password hashes, expiring login sessions, roles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from typing import Dict, Optional

import sqlalchemy as sa

from bot.db_schema import agent_accounts as accounts
from bot.db_schema import agent_logins as logins

ROLES = ("agent", "trainer", "owner")  # owner: the shop's analytics (/analytics)
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


# Checked against when the name is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentAccounts:
    def __init__(self, engine: sa.engine.Engine, session_hours: float = 8) -> None:
        self.engine = engine
        self.session_lifetime = timedelta(hours=session_hours)

    def add(self, username: str, password: str, role: str = "agent") -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if not username or len(password) < 8:
            raise ValueError("a username and a password of at least 8 characters are needed")
        values = dict(password_hash=hash_password(password), role=role)
        with self.engine.begin() as conn:
            updated = conn.execute(accounts.update().where(accounts.c.username == username).values(**values)).rowcount
            if updated:
                # A new password ends every login made with the old one.
                conn.execute(logins.delete().where(logins.c.username == username))
            else:
                conn.execute(accounts.insert().values(username=username, created_at=datetime.now(timezone.utc), **values))

    def login(self, username: str, password: str) -> Optional[str]:
        """A new session token, or None for a wrong name or password."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.username == username)).mappings().first()
        if row is None:
            check_password(password, _DUMMY_HASH)
            return None
        if not check_password(password, row["password_hash"]):
            return None
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                logins.insert().values(
                    token_hash=_token_hash(token),
                    username=username,
                    expires_at=datetime.now(timezone.utc) + self.session_lifetime,
                )
            )
        return token

    def who(self, token: Optional[str]) -> Optional[Dict[str, str]]:
        """{"username", "role"} for a live session token, else None."""
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(logins.c.username, logins.c.expires_at, accounts.c.role)
                .join(accounts, accounts.c.username == logins.c.username)
                .where(logins.c.token_hash == _token_hash(token))
            ).first()
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
        if expires < datetime.now(timezone.utc):
            return None
        return {"username": row.username, "role": row.role}

    def agents_signed_in(self) -> bool:
        """Whether any agent has a live console session (counts as online for held replies)."""
        now = datetime.now(timezone.utc)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(logins.c.expires_at)
                .join(accounts, accounts.c.username == logins.c.username)
                .where(accounts.c.role == "agent")
            ).all()
        return any((r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=timezone.utc)) >= now for r in rows)

    def logout(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(logins.delete().where(logins.c.token_hash == _token_hash(token)))
