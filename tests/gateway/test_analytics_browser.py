"""The owner's analytics page in Debian's Chromium, against a real gateway process: log in as an
owner, see the last 30 days drawn, choose another range and read its figures, the empty and the
invalid range, the layout at 1440 and 800 px; an agent gets 无权限."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.db_schema import GATEWAY, gateway_messages, review_suggestions
from tests.conftest import SECRET, migrated
from tests.gateway.browser import SCREENSHOTS
from tests.gateway.test_analytics_api import PASSWORD, SHOP, add_staff, at, fill_known_dataset
from tests.gateway.test_widget_browser import browser  # noqa: F401 (fixture)
from tests.servers import RunningBot

pytestmark = pytest.mark.slow


def fill_recent_days(url: str, days: int = 14) -> None:
    """Some turns on each of the last ``days`` days (day n: n + 1 buyer messages, one held), none
    on the known dataset's days."""
    today = datetime.now(SHOP).date()
    messages, suggestions = [], []
    for n in range(days):
        day = (today - timedelta(days=n + 1)).isoformat()
        if "2026-11-30" <= day <= "2026-12-03":
            continue
        for k in range(n + 1):
            session = f"s-recent-{n}-{k % 3}"
            created = at(day, f"10:{k:02d}:00")
            messages.append(dict(session_id=session, role="buyer", text="有货吗", extra="{}", created_at=created))
            held = k == 0
            suggestions.append(
                dict(
                    session_id=session, buyer_id=None, buyer_text="有货吗", intent="ask_stock" if k % 2 else "ask_size",
                    confidence=0.97, parse="[]", replies="[]", reason="auto-send", status="sent" if held else "auto_sent",
                    handled_by="alice" if held else None, created_at=created,
                    handled_at=created + timedelta(seconds=20 + 10 * n) if held else None,
                )
            )
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(gateway_messages.insert(), messages)
        conn.execute(review_suggestions.insert(), suggestions)
    engine.dispose()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """A gateway process alone (no Rasa needed for the analytics) on the known dataset."""
    workdir = tmp_path_factory.mktemp("analytics")
    running = RunningBot(workdir, SECRET, gateway=True)
    url = migrated(running.env["GATEWAY_DB_URL"], GATEWAY)
    fill_known_dataset(url)
    fill_recent_days(url)
    add_staff(url)
    running.start(gateway_only=True)
    yield running
    running.stop()


def owner_page(browser, gateway, width):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{gateway.gateway_url}/analytics")
    page.get_by_test_id("analytics-login-user").fill("olivia")
    page.get_by_test_id("analytics-login-password").fill(PASSWORD)
    page.get_by_test_id("analytics-login-submit").click()
    page.get_by_test_id("analytics-chart-volume").locator("canvas").wait_for()
    return context, page


def choose_range(page, first, last):
    page.get_by_test_id("analytics-from").fill(first)
    page.get_by_test_id("analytics-to").fill(last)
    page.get_by_test_id("analytics-apply").click()


def card(page, key):
    return page.get_by_test_id(f"analytics-value-{key}").inner_text().strip()


def test_owner_sees_the_last_30_days_then_another_range(gateway, browser):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context, page = owner_page(browser, gateway, 1440)
    today = datetime.now(SHOP).date()
    note = page.get_by_test_id("analytics-range-note").inner_text()
    assert f"{(today - timedelta(days=29)).isoformat()} 至 {today.isoformat()}，共30天" in note
    # every chart is drawn (uPlot's canvas) with its Chinese caption and legend
    for key, caption in (("volume", "每日咨询量"), ("rates", "每日自动解决率、转人工率和没听懂率"), ("response", "每日首次响应时间（秒）")):
        chart = page.get_by_test_id(f"analytics-chart-{key}")
        assert chart.locator("figcaption").inner_text() == caption
        assert chart.locator("canvas").count() == 1
    assert "自动解决率" in page.get_by_test_id("analytics-chart-rates").locator(".u-legend").inner_text()
    # every chart fits its card (one drawn while it was the odd last card once spanned the row and was cut)
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('.analytics-chart')].map(f => [
              f.dataset.testid, Math.round(f.querySelector('canvas').getBoundingClientRect().right - f.getBoundingClientRect().right)])
           .filter(([, excess]) => excess > 0)"""
    )
    assert overflow == []
    assert page.get_by_test_id("analytics-days").locator("tbody tr").count() == 30
    page.screenshot(path=str(SCREENSHOTS / "analytics-1440-last-30-days.png"), full_page=True)

    choose_range(page, "2026-12-01", "2026-12-03")
    page.get_by_test_id("analytics-range-note").filter(has_text="2026-12-01 至 2026-12-03，共3天").wait_for()
    assert card(page, "conversations") == "4"
    assert card(page, "buyer_messages") == "9"
    assert card(page, "automation") == "55.6%"
    assert card(page, "handoff") == "50.0%"
    assert card(page, "fallback") == "11.1%"
    assert card(page, "first_response") == "中位数 0秒"
    assert page.get_by_test_id("analytics-card-first_response").inner_text().endswith("90%在 4.3分钟")
    assert card(page, "sla") == "77.8%"
    rows = page.get_by_test_id("analytics-days").locator("tbody tr")
    assert rows.count() == 3
    first_day = page.get_by_test_id("analytics-days").locator('tr[data-day="2026-12-01"]')
    assert [c.strip() for c in first_day.locator("th, td").all_inner_texts()] == [
        "12月1日", "2", "4", "25.0%", "50.0%", "25.0%", "50.0%", "25.0%", "25.0%", "30秒", "4.3分钟", "75.0%",
    ]
    top = page.get_by_test_id("analytics-intents").locator("tbody tr").first
    assert top.locator("th span").inner_text() == "询问库存" and top.locator("th span").get_attribute("title") == "ask_stock"
    assert [c.strip() for c in top.locator("td").all_inner_texts()] == ["2", "22.2%", "0.960"]
    page.screenshot(path=str(SCREENSHOTS / "analytics-1440-chosen-range.png"), full_page=True)

    page.get_by_test_id("analytics-last-7").click()
    page.get_by_test_id("analytics-range-note").filter(has_text="共7天").wait_for()
    assert page.get_by_test_id("analytics-from").input_value() == (today - timedelta(days=6)).isoformat()
    context.close()


def test_empty_and_invalid_ranges_are_explained_in_chinese(gateway, browser):  # noqa: F811
    context, page = owner_page(browser, gateway, 1440)
    choose_range(page, "2026-10-01", "2026-10-05")
    empty = page.get_by_test_id("analytics-empty")
    empty.wait_for()
    assert "这段时间还没有数据" in empty.inner_text()
    assert page.get_by_test_id("analytics-chart-volume").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "analytics-1440-empty.png"))
    choose_range(page, "2026-12-05", "2026-12-01")
    error = page.get_by_test_id("analytics-error")
    error.wait_for()
    assert error.inner_text() == "开始日期不能晚于结束日期，请重新选择"
    page.screenshot(path=str(SCREENSHOTS / "analytics-1440-invalid-range.png"))
    context.close()


def test_the_page_fits_800_px(gateway, browser):  # noqa: F811
    context, page = owner_page(browser, gateway, 800)
    choose_range(page, "2026-12-01", "2026-12-03")
    page.get_by_test_id("analytics-range-note").filter(has_text="共3天").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    boxes = [page.get_by_test_id(f"analytics-chart-{key}").bounding_box() for key in ("volume", "rates")]
    assert boxes[1]["y"] > boxes[0]["y"] and boxes[0]["width"] <= 800  # one chart per row
    page.screenshot(path=str(SCREENSHOTS / "analytics-800-chosen-range.png"), full_page=True)
    context.close()


def test_an_agent_gets_no_permission(gateway, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{gateway.gateway_url}/agent")
    page.get_by_test_id("agent-login-user").fill("alice")
    page.get_by_test_id("agent-login-password").fill(PASSWORD)
    page.get_by_test_id("agent-login-submit").click()
    page.get_by_test_id("agent-queue").wait_for()
    reply = page.goto(f"{gateway.gateway_url}/analytics")
    assert reply.status == 403
    forbidden = page.get_by_test_id("analytics-forbidden")
    assert forbidden.locator("h1").inner_text() == "无权限"
    assert "客服账号（alice）" in forbidden.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "analytics-1440-agent-forbidden.png"))
    page.get_by_test_id("analytics-switch-account").click()
    page.get_by_test_id("analytics-login-user").wait_for()  # the owner's login form instead
    context.close()
