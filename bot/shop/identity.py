"""Signed buyer tokens: the shop site signs the logged-in buyer's id; the bot verifies it.

Token format: ``<buyer_id>.<expires_unix>.<hex hmac-sha256(secret, buyer_id.expires)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def issue_buyer_token(secret: str, buyer_id: str, ttl_seconds: int = 7 * 24 * 3600) -> str:
    if not secret:
        raise ValueError("BUYER_TOKEN_SECRET is empty: run `make run` once (it generates var/secrets.env) or set it")
    if "." in buyer_id or not buyer_id:
        raise ValueError("buyer id must be non-empty and contain no dot")
    payload = f"{buyer_id}.{int(time.time()) + ttl_seconds}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_buyer_token(secret: str, token: Optional[str], now: Optional[float] = None) -> Optional[str]:
    """The buyer id when the token is authentic and unexpired, else None."""
    if not secret or not token or not isinstance(token, str) or token.count(".") != 2:
        return None
    buyer_id, expires, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(secret, f"{buyer_id}.{expires}")):
        return None
    try:
        if int(expires) < (now if now is not None else time.time()):
            return None
    except ValueError:
        return None
    return buyer_id


def buyer_of_token(token: Optional[str]) -> Optional[str]:
    """The buyer id a token names, unverified (for logs and display only)."""
    return token.split(".", 1)[0] if isinstance(token, str) and token.count(".") == 2 else None
