"""Logins of shop staff (agents and trainers): one HttpOnly session cookie, role checks per console."""

from __future__ import annotations

import functools
from typing import Tuple

from sanic import Sanic, response
from sanic.request import Request

COOKIE = "qkf_agent"


def register_login(app: Sanic, prefix: str, roles: Tuple[str, ...]) -> None:
    """POST {prefix}/login and {prefix}/logout for accounts with one of ``roles``."""

    @app.post(f"{prefix}/login", name=f"{prefix.strip('/')}_login")
    async def login(request: Request):
        body = request.json if isinstance(request.json, dict) else {}
        token = app.ctx.accounts.login(str(body.get("username") or ""), str(body.get("password") or ""))
        who = app.ctx.accounts.who(token)
        if who is None or who["role"] not in roles:
            return response.json({"error": "wrong username or password"}, status=401)
        reply = response.json(who)
        reply.cookies[COOKIE] = token
        reply.cookies[COOKIE]["httponly"] = True
        reply.cookies[COOKIE]["samesite"] = "Strict"
        reply.cookies[COOKIE]["path"] = "/"
        reply.cookies[COOKIE]["max-age"] = int(app.ctx.accounts.session_lifetime.total_seconds())
        return reply

    @app.post(f"{prefix}/logout", name=f"{prefix.strip('/')}_logout")
    async def logout(request: Request):
        app.ctx.accounts.logout(request.cookies.get(COOKIE))
        reply = response.json({"ok": True})
        del reply.cookies[COOKIE]
        return reply


def staff_only(app: Sanic, roles: Tuple[str, ...], console: str):
    """Decorator: 401 without a staff login, 403 for staff of another role; passes the account."""

    def decorate(handler):
        @functools.wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            who = app.ctx.accounts.who(request.cookies.get(COOKIE))
            if who is None:
                return response.json({"error": f"log in at {console}"}, status=401)
            if who["role"] not in roles:
                return response.json({"error": f"this account cannot use {console}"}, status=403)
            return await handler(request, who, *args, **kwargs)

        return guarded

    return decorate
