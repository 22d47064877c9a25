"""The owner's analytics page (/analytics): per-day figures over a date range, drawn as charts. Owners
only: anonymous users get the login form (401 from the API), agents and trainers the no-permission page (403).
The figures are SQL aggregates (bot/review/analytics.py), read off the event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from string import Template
from typing import Any, Awaitable, Callable, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request

from bot.gateway.db_runner import DbRunner
from bot.gateway.staff_auth import COOKIES, StaffAuth, cookie_name, register_login, serve_console_assets, staff_only
from bot.review.analytics import Analytics, RangeError, parse_range
from bot.settings import PROJECT_ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"
OWNER_ROLES = ("owner",)
PREFIX = "/analytics"
# uPlot (MIT), from npm like socket.io-client: served by the gateway, no CDN.
UPLOT = PROJECT_ROOT / "node_modules" / "uplot" / "dist"


@dataclass
class AnalyticsServices:
    """What the page needs. ``strings`` are gateway_strings.yml's "analytics" texts."""

    strings: Dict[str, Any]
    analytics: Analytics
    auth: StaffAuth
    run_db: Callable[..., Awaitable[Any]] = field(default_factory=DbRunner)


def _forbidden_page(strings: Dict[str, Any], who: Dict[str, str]) -> str:
    role = strings.get("roles", {}).get(who["role"], who["role"])
    page = Template((TEMPLATES / "analytics_forbidden.html").read_text(encoding="utf-8"))
    return page.substitute(
        title=escape(strings["forbidden_title"]),
        message=escape(strings["forbidden_text"].format(role=role, username=who["username"])),
        switch=escape(strings["switch_account"]),
    )


def analytics_blueprint(services: AnalyticsServices) -> Blueprint:
    bp = Blueprint("analytics_console")
    owners_only = staff_only(services.auth, OWNER_ROLES, PREFIX)
    auth, strings = services.auth, services.strings

    async def signed_in_elsewhere(request: Request) -> Optional[Dict[str, str]]:
        """The staff account of a console cookie (this one's first) that is not an owner's."""
        for cookie in [cookie_name(PREFIX), *COOKIES.values()]:
            who = await auth.who(request.cookies.get(cookie))
            if who is not None:
                return None if who["role"] in OWNER_ROLES else who
        return None

    @bp.get(PREFIX)
    async def page(request: Request):
        # An agent or trainer gets the no-permission page at once (with a way to log in as the owner instead).
        who = None if request.args.get("login") else await signed_in_elsewhere(request)
        if who is not None:
            return response.html(_forbidden_page(strings, who), status=403)
        return await response.file(TEMPLATES / "analytics.html")

    @bp.get(f"{PREFIX}/strings")
    async def page_strings(_: Request):
        return response.json(strings)

    serve_console_assets(bp, PREFIX)
    for filename, content_type in (
        ("uPlot.iife.min.js", "application/javascript; charset=utf-8"),
        ("uPlot.min.css", "text/css; charset=utf-8"),
    ):
        bp.static(
            f"{PREFIX}/vendor/{filename}",
            str(UPLOT / filename),
            name=f"uplot_{filename.rsplit('.', 1)[1]}",
            content_type=content_type,
        )

    register_login(bp, auth, PREFIX, OWNER_ROLES)

    @bp.get(f"{PREFIX}/api/me")
    @owners_only
    async def me(_: Request, who):
        return response.json(who)

    @bp.get(f"{PREFIX}/api/report")
    @owners_only
    async def report(request: Request, who):
        analytics = services.analytics
        try:
            first, last = parse_range(request.args.get("from"), request.args.get("to"), analytics.today())
        except RangeError as error:
            return response.json({"error": error.code, "message": strings["range_errors"][error.code]}, status=400)
        return response.json(await services.run_db(analytics.report, first, last))

    return bp
