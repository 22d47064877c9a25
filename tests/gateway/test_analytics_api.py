"""The owner's analytics (/analytics) through the real gateway app, served in this process: the
exact per-day figures of a small known dataset on SQLite and on PostgreSQL, the date-range errors,
and who may open the page (owners; agents and trainers get 无权限, anonymous users the login)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import aiohttp
import sqlalchemy as sa
from sanic import Sanic

from bot.db_schema import GATEWAY, gateway_messages, review_handoffs, review_suggestions
from bot.gateway.app import create_app
from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from bot.review.queue import ReviewQueue
from bot.settings import Settings
from tests.conftest import ROOT, migrated, new_postgres_database
from tests.gateway.test_parts_alone import serving

Sanic.test_mode = True  # several apps of one name in one process
SHOP = ZoneInfo("Asia/Shanghai")
PASSWORD = "owner-pass-123"


def at(day: str, clock: str) -> datetime:
    """A local (shop) time as the UTC time the gateway stores."""
    local = datetime.combine(date.fromisoformat(day), datetime.strptime(clock, "%H:%M:%S").time(), SHOP)
    return local.astimezone(timezone.utc)


def fill_known_dataset(url: str) -> None:
    """Four conversations over 2026-12-01 and 12-02 (shop time), one on 11-30 outside the range.
    Every row is written as the gateway writes it (review_suggestions by bot.review.queue, the
    redraft keeping the rejected draft's time, handoffs by request_human / take_over)."""
    messages, suggestions, handoffs = [], [], []

    def buyer(session, day, clock):
        messages.append(dict(session_id=session, role="buyer", text="买家", extra="{}", created_at=at(day, clock)))

    def turn(session, day, clock, intent, confidence, status="auto_sent", handled_after=None, by=None, reason="auto-send"):
        created = at(day, clock)
        suggestions.append(
            dict(
                session_id=session, buyer_id=None, buyer_text="买家", intent=intent, confidence=confidence, parse="[]",
                replies="[]", reason=reason, status=status, handled_by=by, created_at=created,
                handled_at=None if handled_after is None else created + timedelta(seconds=handled_after),
            )
        )

    buyer("s-old", "2026-11-30", "12:00:00")
    turn("s-old", "2026-11-30", "12:00:01", "ask_stock", 0.5)
    # 12-01: A (sent at once, sent by an agent after 30 s, edited after 120 s); B (fallback rejected,
    # its redraft sent 260 s after the question; the buyer asked for a human).
    buyer("s-A", "2026-12-01", "09:00:00")
    turn("s-A", "2026-12-01", "09:00:01", "ask_stock", 0.99)
    buyer("s-A", "2026-12-01", "09:01:00")
    turn("s-A", "2026-12-01", "09:01:01", "haggle", 0.97, "sent", 30, "alice", "haggle beyond the first 1")
    buyer("s-A", "2026-12-01", "09:05:00")
    turn("s-A", "2026-12-01", "09:05:01", "request_return", 0.80, "edited", 120, "bob", "confidence 0.80 below 0.95")
    buyer("s-B", "2026-12-01", "23:30:00")
    turn("s-B", "2026-12-01", "23:30:01", "nlu_fallback", 0.40, "rejected", 60, "alice", "nlu_fallback is not auto-sent")
    turn("s-B", "2026-12-01", "23:30:01", "complain", 1.0, "sent", 260, "alice", "redrafted by alice")
    handoffs.append(dict(session_id="s-B", kind="requested", created_at=at("2026-12-01", "23:30:30")))
    # 12-02: C just after midnight (still 12-01 in UTC), two replies at once; D: a held reply sent
    # by the unattended rule after 90 s, one still waiting, taken over; A again.
    buyer("s-C", "2026-12-02", "00:30:00")
    turn("s-C", "2026-12-02", "00:30:01", "ask_ship_time", 0.96)
    buyer("s-C", "2026-12-02", "00:31:00")
    turn("s-C", "2026-12-02", "00:31:01", "thank_bye", 0.99)
    buyer("s-D", "2026-12-02", "10:00:00")
    turn("s-D", "2026-12-02", "10:00:01", "report_quality_issue", 0.90, "auto_sent", 90, "unattended", "policy")
    buyer("s-D", "2026-12-02", "10:05:00")
    turn("s-D", "2026-12-02", "10:05:01", "ask_stock", 0.93, "pending", None, None, "confidence 0.93 below 0.95")
    handoffs.append(dict(session_id="s-D", kind="taken_over", created_at=at("2026-12-02", "10:06:00")))
    buyer("s-A", "2026-12-02", "11:00:00")
    turn("s-A", "2026-12-02", "11:00:01", "greet", 0.98)
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(gateway_messages.insert(), messages)
        conn.execute(review_suggestions.insert(), suggestions)
        conn.execute(review_handoffs.insert(), handoffs)
    engine.dispose()


def no_decisions():
    return {"decisions": 0, "accepted": 0, "edited": 0, "rejected": 0, "accepted_rate": None, "edited_rate": None, "rejected_rate": None}


EXPECTED_DAYS = [
    {
        "day": "2026-12-01", "conversations": 2, "buyer_messages": 4, "turns": 4, "automation_rate": 0.25,
        "fallback_rate": 0.25, "handoffs": 1, "handoff_rate": 0.5,
        "agent": {"decisions": 4, "accepted": 2, "edited": 1, "rejected": 1, "accepted_rate": 0.5, "edited_rate": 0.25, "rejected_rate": 0.25},
        "first_response": {"answered": 4, "unanswered": 0, "p50_seconds": 30.0, "p90_seconds": 260.0, "within_sla_share": 0.75},
    },
    {
        "day": "2026-12-02", "conversations": 3, "buyer_messages": 5, "turns": 5, "automation_rate": 0.8,
        "fallback_rate": 0.0, "handoffs": 1, "handoff_rate": 0.3333, "agent": no_decisions(),
        "first_response": {"answered": 4, "unanswered": 1, "p50_seconds": 0.0, "p90_seconds": 90.0, "within_sla_share": 0.8},
    },
    {
        "day": "2026-12-03", "conversations": 0, "buyer_messages": 0, "turns": 0, "automation_rate": None,
        "fallback_rate": None, "handoffs": 0, "handoff_rate": None, "agent": no_decisions(),
        "first_response": {"answered": 0, "unanswered": 0, "p50_seconds": None, "p90_seconds": None, "within_sla_share": None},
    },
]
EXPECTED_TOTALS = {
    # 4 conversations, not 2 + 3: A wrote on both days
    "conversations": 4, "buyer_messages": 9, "turns": 9, "automation_rate": 0.5556, "fallback_rate": 0.1111,
    "handoffs": 2, "handoff_rate": 0.5,
    "agent": {"decisions": 4, "accepted": 2, "edited": 1, "rejected": 1, "accepted_rate": 0.5, "edited_rate": 0.25, "rejected_rate": 0.25},
    # answered: 0 0 0 0 30 90 120 260; the waiting one is past the SLA: 7 within of 9
    "first_response": {"answered": 8, "unanswered": 1, "p50_seconds": 0.0, "p90_seconds": 260.0, "within_sla_share": 0.7778},
}
EXPECTED_INTENTS = [  # (intent, Chinese name, turns, mean confidence, per day)
    ("ask_stock", "询问库存", 2, 0.96, [1, 1, 0]),
    ("ask_ship_time", "询问发货时间", 1, 0.96, [0, 1, 0]),
    ("greet", "打招呼", 1, 0.98, [0, 1, 0]),
    ("haggle", "讲价", 1, 0.97, [1, 0, 0]),
    ("nlu_fallback", "没听懂", 1, 0.4, [1, 0, 0]),
    ("report_quality_issue", "反馈质量问题", 1, 0.9, [0, 1, 0]),
    ("request_return", "申请退换货", 1, 0.8, [1, 0, 0]),
    ("thank_bye", "感谢/告别", 1, 0.99, [0, 1, 0]),
]


def gateway_app(gateway_url: str, tmp_path, name: str):
    settings = dataclasses.replace(
        Settings.from_env(), gateway_db_url=gateway_url, orders_db_url=f"sqlite:///{tmp_path / 'shop.db'}", var_dir=tmp_path
    )
    return create_app(settings, name=name)


def add_staff(url: str) -> None:
    store = GatewayStore(url)
    accounts = AgentAccounts(store.engine)
    accounts.add("olivia", PASSWORD, "owner")
    accounts.add("alice", PASSWORD, "agent")
    accounts.add("tina", PASSWORD, "trainer")
    store.close()


async def login(http: aiohttp.ClientSession, base: str, console: str, username: str) -> int:
    async with http.post(f"{base}/{console}/login", json={"username": username, "password": PASSWORD}) as reply:
        return reply.status


def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)


def report_of(url: str, tmp_path, name: str, *queries: str):
    """The owner's report for each query string, through the app (status, JSON)."""
    fill_known_dataset(url)
    add_staff(url)

    async def main():
        async with serving(gateway_app(url, tmp_path, name)) as base, aiohttp.ClientSession(cookie_jar=jar()) as http:
            assert await login(http, base, "analytics", "olivia") == 200
            found = []
            for query in queries:
                async with http.get(f"{base}/analytics/api/report?{query}") as reply:
                    found.append((reply.status, await reply.json()))
            return found

    return asyncio.run(main())


def assert_known_figures(report):
    assert report["from"] == "2026-12-01" and report["to"] == "2026-12-03"
    assert report["timezone"] == "Asia/Shanghai" and report["sla_seconds"] == 180
    assert report["days"] == EXPECTED_DAYS
    assert report["totals"] == EXPECTED_TOTALS
    assert [(i["intent"], i["name"], i["turns"], i["mean_confidence"], i["per_day"]) for i in report["intents"]] == EXPECTED_INTENTS


def test_the_owner_gets_each_days_exact_figures_on_sqlite(tmp_path):
    url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    [(status, report)] = report_of(url, tmp_path, "analytics_sqlite", "from=2026-12-01&to=2026-12-03")
    assert status == 200
    assert_known_figures(report)


def test_the_owner_gets_each_days_exact_figures_on_postgresql(tmp_path):
    with new_postgres_database() as url:
        migrated(url, GATEWAY)
        [(status, report)] = report_of(url, tmp_path, "analytics_postgres", "from=2026-12-01&to=2026-12-03")
    assert status == 200
    assert_known_figures(report)


def test_default_range_empty_range_and_polite_errors(tmp_path):
    url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    replies = report_of(
        url, tmp_path, "analytics_ranges",
        "",
        "from=2026-10-01&to=2026-10-05",
        "from=2026-12-05&to=2026-12-01",
        "from=2026-13-01&to=2026-12-01",
        "from=2025-01-01&to=2026-12-01",
    )
    (status, default), (_, empty), *errors = replies
    today = datetime.now(SHOP).date()
    assert status == 200 and default["to"] == today.isoformat() == default["today"]
    assert default["from"] == (today - timedelta(days=29)).isoformat() and len(default["days"]) == 30
    assert [d["day"] for d in empty["days"]] == ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05"]
    assert empty["totals"]["turns"] == 0 and empty["totals"]["conversations"] == 0 and empty["intents"] == []
    assert empty["totals"]["automation_rate"] is None
    assert errors == [
        (400, {"error": "reversed", "message": "开始日期不能晚于结束日期，请重新选择"}),
        (400, {"error": "bad_date", "message": "日期格式不对，请选择有效的日期（例如 2026-12-01）"}),
        (400, {"error": "too_long", "message": "一次最多查看366天的数据，请缩短日期范围"}),
    ]


def test_only_owners_open_the_analytics(tmp_path):
    url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    add_staff(url)

    async def main():
        seen = {}
        async with serving(gateway_app(url, tmp_path, "analytics_roles")) as base:
            async with aiohttp.ClientSession(cookie_jar=jar()) as http:  # nobody logged in
                async with http.get(f"{base}/analytics") as reply:
                    seen["anonymous page"] = (reply.status, "/analytics/static/analytics.js" in await reply.text())
                async with http.get(f"{base}/analytics/api/report") as reply:
                    seen["anonymous api"] = reply.status
                seen["agent password here"] = await login(http, base, "analytics", "alice")
                async with http.post(f"{base}/analytics/login", data="username=olivia", headers={"Content-Type": "text/plain"}) as reply:
                    seen["form post"] = reply.status
                async with http.post(
                    f"{base}/analytics/login", json={"username": "olivia", "password": PASSWORD}, headers={"Origin": "http://evil.example"}
                ) as reply:
                    seen["cross-site login"] = reply.status
            for console, name in (("agent", "alice"), ("trainer", "tina")):
                async with aiohttp.ClientSession(cookie_jar=jar()) as http:
                    assert await login(http, base, console, name) == 200
                    async with http.get(f"{base}/analytics") as reply:
                        seen[f"{name} page"] = (reply.status, await reply.text())
                    async with http.get(f"{base}/analytics/api/report") as reply:
                        seen[f"{name} api"] = reply.status
                    async with http.get(f"{base}/analytics?login=1") as reply:
                        seen[f"{name} switching"] = reply.status
            async with aiohttp.ClientSession(cookie_jar=jar()) as http:
                assert await login(http, base, "analytics", "olivia") == 200
                async with http.get(f"{base}/analytics/api/me") as reply:
                    seen["owner me"] = await reply.json()
                async with http.get(f"{base}/analytics") as reply:
                    seen["owner page"] = reply.status
                async with http.get(f"{base}/agent/api/queue") as reply:
                    seen["owner at /agent"] = reply.status
                async with http.get(f"{base}/trainer/api/intents") as reply:
                    seen["owner at /trainer"] = reply.status
                seen["owner password at /agent"] = await login(http, base, "agent", "olivia")
        return seen

    seen = asyncio.run(main())
    assert seen["anonymous page"] == (200, True)  # the page, which shows the login form
    assert seen["anonymous api"] == 401
    assert seen["agent password here"] == 401
    assert seen["form post"] == 415 and seen["cross-site login"] == 403
    for name, role in (("alice", "客服"), ("tina", "训练师")):
        status, page = seen[f"{name} page"]
        assert status == 403 and "<h1>无权限</h1>" in page and f"您现在登录的是{role}账号（{name}）" in page
        assert "用店主账号登录" in page and "analytics.js" not in page
        assert seen[f"{name} api"] == 403 and seen[f"{name} switching"] == 200
    assert seen["owner me"] == {"username": "olivia", "role": "owner"} and seen["owner page"] == 200
    assert seen["owner at /agent"] == 403 and seen["owner at /trainer"] == 403
    assert seen["owner password at /agent"] == 401


def test_make_agent_creates_an_owner(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    env = dict(os.environ, GATEWAY_DB_URL=url, QKF_NEW_PASSWORD=PASSWORD, QKF_VAR_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "agent-add", "olivia", "--role", "owner"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "owner account olivia is ready; log in at /analytics" in done.stdout
    store = GatewayStore(url)
    accounts = AgentAccounts(store.engine)
    assert accounts.who(accounts.login("olivia", PASSWORD)) == {"username": "olivia", "role": "owner"}
    store.close()


def test_every_handoff_is_kept_for_the_handoff_rate(tmp_path):
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY))
    queue = ReviewQueue(store.engine)
    queue.request_human("s-1")
    queue.request_human("s-1")  # still waiting: the same handoff
    queue.take_over("s-1", "alice")
    queue.hand_back("s-1")
    queue.request_human("s-1")  # asked again after the hand-back
    with store.engine.connect() as conn:
        kinds = conn.execute(sa.select(review_handoffs.c.session_id, review_handoffs.c.kind).order_by(review_handoffs.c.id)).all()
    assert [tuple(k) for k in kinds] == [("s-1", "requested"), ("s-1", "taken_over"), ("s-1", "requested")]
    store.close()


def stored_days(engine) -> dict:
    from bot.db_schema import analytics_days

    with engine.connect() as conn:
        return {row.day: row for row in conn.execute(sa.select(analytics_days))}


def test_closed_days_are_stored_once_and_computed_again_when_a_row_lands_in_them(tmp_path):
    """A past day is read from analytics_days from the second view on; a row written into it later
    (a redraft keeps its draft's time) and a decision on a draft of it still waiting are both in
    the next view, exactly as if nothing had been stored."""
    from bot.review.analytics import Analytics

    url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    fill_known_dataset(url)
    store = GatewayStore(url)
    analytics = Analytics(store.engine, 180, "Asia/Shanghai", clock=lambda: at("2026-12-07", "12:00:00"))
    first, last = date(2026, 12, 1), date(2026, 12, 3)
    report = analytics.report(first, last)
    assert report["days"] == EXPECTED_DAYS and report["totals"] == EXPECTED_TOTALS
    assert set(stored_days(store.engine)) == {"2026-12-01", "2026-12-02", "2026-12-03"}
    assert analytics.report(first, last) == report  # read back from the stored days

    queue = ReviewQueue(store.engine)
    with store.engine.begin() as conn:
        conn.execute(gateway_messages.insert().values(session_id="s-E", role="buyer", text="买家", extra="{}", created_at=at("2026-12-01", "15:00:00")))
        conn.execute(
            review_suggestions.insert().values(
                session_id="s-E", buyer_id=None, buyer_text="买家", intent="ask_size", confidence=0.99, parse="[]",
                replies="[]", reason="auto-send", status="auto_sent", handled_by=None, created_at=at("2026-12-01", "15:00:01"),
            )
        )
        waiting = conn.execute(sa.select(review_suggestions.c.id).where(review_suggestions.c.status == "pending")).scalar_one()
    queue.claim(waiting, "alice", "sent")
    again = analytics.report(first, last)
    december_1, december_2 = again["days"][0], again["days"][1]
    assert (december_1["conversations"], december_1["buyer_messages"], december_1["turns"]) == (3, 5, 5)
    assert december_1["automation_rate"] == 0.4
    assert december_2["first_response"]["unanswered"] == 0 and december_2["agent"]["accepted"] == 1
    assert again["totals"]["turns"] == 10 and again["totals"]["conversations"] == 5
    assert ("ask_size", 1, [1, 0, 0]) in [(i["intent"], i["turns"], i["per_day"]) for i in again["intents"]]
    assert set(stored_days(store.engine)) == {"2026-12-01", "2026-12-02", "2026-12-03"}
    assert analytics.report(first, last) == again

    # Today and yesterday's last hour are never stored: a turn may still be written into them.
    analytics.report(date(2026, 12, 6), date(2026, 12, 7))
    assert "2026-12-07" not in stored_days(store.engine)
    store.close()
