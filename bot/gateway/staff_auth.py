"""Logins of shop staff (agents and trainers): one HttpOnly session cookie per console, role checks
per console, and logins that cannot be guessed fast (backoff per account and per client address,
the same work for unknown and known names, password hashing off the event loop). Also the consoles'
static files: the shared staff.js / staff.css and each console's own script and stylesheet."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.db_runner import DbRunner
from bot.gateway.security import client_ip, is_https
from bot.review.agents import AgentAccounts

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
ASSET_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
COOKIE = "qkf_agent"  # the agent console's cookie (also read by its socket.io namespace)
COOKIES = {"/agent": COOKIE, "/trainer": "qkf_trainer", "/analytics": "qkf_analytics"}
FREE_FAILURES = 5  # wrong logins before a wait is imposed
MAX_WAIT_SECONDS = 15 * 60


def cookie_name(console: str) -> str:
    return COOKIES.get(console, COOKIE)


class LoginThrottle:
    """After FREE_FAILURES wrong logins for one account, or from one address, each further try must
    wait twice as long as the last (1 s, 2 s, 4 s … at most 15 min); a success clears the account."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._failures: Dict[str, Tuple[int, float]] = {}

    def wait_seconds(self, *keys: str) -> float:
        now = self.clock()
        waits = []
        for key in keys:
            count, last = self._failures.get(key, (0, 0.0))
            if count >= FREE_FAILURES:
                waits.append(last + min(MAX_WAIT_SECONDS, 2 ** (count - FREE_FAILURES)) - now)
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        now = self.clock()
        if len(self._failures) > 50_000:
            self._failures = {k: v for k, v in self._failures.items() if now - v[1] < MAX_WAIT_SECONDS}
        for key in keys:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass
class StaffAuth:
    """What both consoles need to log staff in and to know who is logged in: the accounts, one
    login throttle for both (a guesser gains nothing by switching console), the trusted proxies."""

    accounts: AgentAccounts
    trusted_proxies: Tuple[str, ...] = ()
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    async def who(self, token: Optional[str]) -> Optional[Dict[str, str]]:
        return await self.run_db(self.accounts.who, token)


def serve_console_assets(bp: Blueprint, prefix: str) -> None:
    """GET {prefix}/static/staff.{js,css} (shared by both consoles) and {prefix}/static/{name}.{js,css}
    (the console's own), for the console at {prefix} ("/agent" or "/trainer")."""
    name = prefix.strip("/")
    for stem in ("staff", name):
        for suffix, content_type in ASSET_TYPES.items():
            filename = f"{stem}{suffix}"
            bp.static(
                f"{prefix}/static/{filename}",
                str(STATIC / filename),
                name=f"{stem}{suffix.replace('.', '_')}",
                content_type=content_type,
            )


def register_login(bp: Blueprint, auth: StaffAuth, prefix: str, roles: Tuple[str, ...]) -> None:
    """POST {prefix}/login and {prefix}/logout for accounts with one of ``roles``."""
    cookie = cookie_name(prefix)

    @bp.post(f"{prefix}/login", name=f"{prefix.strip('/')}_login")
    async def login(request: Request):
        body = request.json if isinstance(request.json, dict) else {}
        username, password = str(body.get("username") or "")[:64], str(body.get("password") or "")[:256]
        throttle = auth.throttle
        keys = (f"user:{username}", f"ip:{client_ip(request, auth.trusted_proxies)}")
        wait = throttle.wait_seconds(*keys)
        if wait > 0:
            return response.json(
                {"error": "too many wrong logins: try again later", "retry_after": int(wait) + 1},
                status=429,
                headers={"Retry-After": str(int(wait) + 1)},
            )
        # scrypt takes tens of milliseconds: in a thread, so the gateway keeps serving meanwhile.
        loop = asyncio.get_running_loop()
        token = await loop.run_in_executor(None, auth.accounts.login, username, password)
        who = await auth.who(token)
        if who is None or who["role"] not in roles:
            throttle.failed(*keys)
            logger.warning("wrong staff login for %r at %s", username, prefix)
            return response.json({"error": "wrong username or password"}, status=401)
        throttle.succeeded(keys[0])
        reply = response.json(who)
        reply.cookies[cookie] = token
        reply.cookies[cookie]["httponly"] = True
        reply.cookies[cookie]["samesite"] = "Strict"
        reply.cookies[cookie]["path"] = "/"
        reply.cookies[cookie]["max-age"] = int(auth.accounts.session_lifetime.total_seconds())
        if is_https(request, auth.trusted_proxies):
            reply.cookies[cookie]["secure"] = True
        return reply

    @bp.post(f"{prefix}/logout", name=f"{prefix.strip('/')}_logout")
    async def logout(request: Request):
        await auth.run_db(auth.accounts.logout, request.cookies.get(cookie))
        reply = response.json({"ok": True})
        del reply.cookies[cookie]
        return reply


def staff_only(auth: StaffAuth, roles: Tuple[str, ...], console: str):
    """Decorator: 401 without a staff login, 403 for staff of another role; passes the account."""
    cookie = cookie_name(console)

    def decorate(handler):
        @functools.wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            who = await auth.who(request.cookies.get(cookie))
            if who is None:
                # Logged in at the other console only: that account cannot use this one.
                others = [await auth.who(request.cookies.get(name)) for name in COOKIES.values() if name != cookie]
                if any(other is not None for other in others):
                    return response.json({"error": f"this account cannot use {console}"}, status=403)
                return response.json({"error": f"log in at {console}"}, status=401)
            if who["role"] not in roles:
                return response.json({"error": f"this account cannot use {console}"}, status=403)
            return await handler(request, who, *args, **kwargs)

        return guarded

    return decorate
