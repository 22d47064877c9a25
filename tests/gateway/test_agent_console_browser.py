"""The agent console in a real browser, with the buyer's widget in a second browser context:
the buyer sees exactly what the agent sent."""

import pytest

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from tests.gateway.browser import SCREENSHOTS
from tests.gateway.test_widget_browser import browser, open_widget, send  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
PASSWORD = "console-pass-123"


@pytest.fixture(scope="module")
def agent_page(stack, browser):  # noqa: F811
    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    AgentAccounts(store.engine).add("carol", PASSWORD)
    store.close()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{stack.gateway_url}/agent")
    page.get_by_test_id("agent-login-user").fill("carol")
    page.get_by_test_id("agent-login-password").fill(PASSWORD)
    page.get_by_test_id("agent-login-submit").click()
    page.get_by_test_id("agent-queue").wait_for()
    yield page
    context.close()


@pytest.fixture
def buyer_page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield context.new_page()
    context.close()


def texts_of(page, role):
    return [
        t.strip()
        for t in page.locator(f'[data-testid="qkf-msg"][data-role="{role}"] [data-testid="qkf-text"]').all_inner_texts()
        if t.strip()
    ]


def select_suggestion_for(agent_page, buyer_text):
    item = agent_page.locator('[data-testid="agent-queue-item"]', has_text=buyer_text[:6]).first
    item.wait_for(timeout=20000)
    item.click()
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text=buyer_text).wait_for()


def test_agent_accepts_with_enter_and_the_buyer_sees_exactly_that(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P001?buyer=B001")
    send(buyer_page, "我想把这件退掉")
    select_suggestion_for(agent_page, "我想把这件退掉")
    drafts = [t.strip() for t in agent_page.get_by_test_id("agent-reply").all_inner_texts()]
    assert agent_page.get_by_test_id("agent-intent").inner_text().strip().endswith("request_return") or "request_return" in agent_page.get_by_test_id("agent-intent").inner_text()
    assert agent_page.get_by_test_id("agent-values").count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-desktop.png"))
    agent_page.get_by_test_id("agent-send").focus()
    agent_page.keyboard.press("Enter")
    buyer_page.wait_for_function(
        "() => [...document.querySelectorAll('[data-role=\"bot\"] [data-testid=\"qkf-text\"]')].length >= 2", timeout=20000
    )
    delivered = [t for t in texts_of(buyer_page, "bot") if "请稍等" not in t]
    assert delivered and all(any(text in draft for draft in drafts) for text in delivered)


def test_agent_edits_and_the_buyer_sees_the_edited_text(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P001?buyer=B003")
    send(buyer_page, "我买贵了能退差价不")
    select_suggestion_for(agent_page, "我买贵了能退差价不")
    agent_page.get_by_test_id("agent-edit").click()
    box = agent_page.get_by_test_id("agent-edit-text")
    box.fill("亲，差价已经为您登记好了，24小时内退回哦~")
    agent_page.get_by_test_id("agent-edit-submit").click()
    buyer_page.locator('[data-testid="qkf-msg"][data-role="agent"]').first.wait_for(timeout=20000)
    assert texts_of(buyer_page, "agent") == ["亲，差价已经为您登记好了，24小时内退回哦~"]


def test_agent_rejects_and_a_redraft_appears(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/")
    send(buyer_page, "我要投诉你们这个店")
    select_suggestion_for(agent_page, "我要投诉你们这个店")
    agent_page.get_by_test_id("agent-reject").click()
    agent_page.get_by_test_id("agent-reject-intent").select_option("ask_ship_time")
    agent_page.get_by_test_id("agent-reject-submit").click()
    agent_page.locator('[data-testid="agent-detail"]', has_text="ask_ship_time").wait_for(timeout=20000)


def test_agent_takes_over_and_talks_to_the_buyer(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/")
    send(buyer_page, "我要退货")
    select_suggestion_for(agent_page, "我要退货")
    agent_page.get_by_test_id("agent-takeover").click()
    agent_page.get_by_test_id("agent-free-text").wait_for()
    agent_page.get_by_test_id("agent-free-text").fill("亲，我是人工客服，您的订单号是多少呢？")
    agent_page.get_by_test_id("agent-free-send").click()
    buyer_page.locator('[data-testid="qkf-msg"][data-role="agent"]').first.wait_for(timeout=20000)
    assert texts_of(buyer_page, "agent") == ["亲，我是人工客服，您的订单号是多少呢？"]


def test_buyer_html_is_shown_as_text_in_the_console(stack, agent_page, buyer_page):
    dialogs = []
    agent_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(buyer_page, f"{stack.gateway_url}/")
    attack = "<img src=x onerror=alert(1)>退货"
    send(buyer_page, attack)
    item = agent_page.locator('[data-testid="agent-queue-item"]', has_text="<img").first
    item.wait_for(timeout=20000)
    item.click()
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text="onerror").wait_for()
    assert attack in agent_page.get_by_test_id("agent-buyer-text").inner_text()
    assert agent_page.locator("img[src='x']").count() == 0 and dialogs == []
