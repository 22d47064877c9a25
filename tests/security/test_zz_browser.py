"""In Debian's Chromium: the shared-browser finding (6), HTML from buyers shown as text, and the
widget, agent console and trainer console still working for real users."""

import pytest

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from tests.gateway.test_widget_browser import browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
PASSWORD = "browser-pass-123"
TIMEOUT_MS = 20000
B002_SECRETS = ("深圳", "SF1402938475623", "科技园")


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield context
    context.close()


def open_widget(page, url):
    page.goto(url)
    page.get_by_test_id("qkf-launcher").click()
    page.get_by_test_id("qkf-input").wait_for()


def send(page, text):
    box = page.get_by_test_id("qkf-input")
    box.fill(text)
    box.press("Enter")


def texts(page, role):
    return [t.strip() for t in page.locator(f'[data-testid="qkf-msg"][data-role="{role}"] [data-testid="qkf-text"]').all_inner_texts() if t.strip()]


def wait_bot(page, count):
    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid="qkf-msg"][data-role="bot"] [data-testid="qkf-text"]')]
               .filter(e => e.textContent.trim()).length >= n""",
        arg=count, timeout=TIMEOUT_MS,
    )


def test_a_shared_browser_keeps_each_buyers_conversation_to_that_buyer(stack, context):
    page = context.new_page()
    open_widget(page, f"{stack.gateway_url}/shop/product/P001?buyer=B001")
    send(page, "这件还有货吗")
    wait_bot(page, 1)
    first_session = page.evaluate("localStorage.getItem('qkf_session_id')")

    # B002 logs in on the same browser: B001's conversation is not shown, a new one starts.
    open_widget(page, f"{stack.gateway_url}/?buyer=B002")
    page.wait_for_timeout(1500)  # history would have loaded by now
    assert "这件还有货吗" not in texts(page, "buyer")
    assert page.evaluate("localStorage.getItem('qkf_session_id')") != first_session
    send(page, "我的快递到哪了")
    wait_bot(page, 1)

    # Logged out on the same browser: nothing of B002's is shown or answered.
    open_widget(page, f"{stack.gateway_url}/")
    page.wait_for_timeout(1500)
    assert texts(page, "buyer") == [] and texts(page, "bot") == []
    send(page, "我的快递到哪了")
    wait_bot(page, 1)
    shown = page.get_by_test_id("qkf-log").inner_text()
    assert not any(secret in shown for secret in B002_SECRETS), shown


def test_buyer_html_stays_text_and_the_consoles_work(stack, browser, context):
    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    AgentAccounts(store.engine).add("zoe", PASSWORD)
    AgentAccounts(store.engine).add("tom", PASSWORD, role="trainer")
    store.close()
    dialogs = []
    buyer = context.new_page()
    buyer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_widget(buyer, f"{stack.gateway_url}/")
    attack = "<img src=x onerror=alert(1)>我要退货"
    send(buyer, attack)
    buyer.locator('[data-testid="qkf-msg"][data-role="buyer"]', has_text="<img src=x").first.wait_for(timeout=TIMEOUT_MS)

    staff = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        agent = staff.new_page()
        agent.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        agent.goto(f"{stack.gateway_url}/agent")
        agent.get_by_test_id("agent-login-user").fill("zoe")
        agent.get_by_test_id("agent-login-password").fill(PASSWORD)
        agent.get_by_test_id("agent-login-submit").click()
        item = agent.locator('[data-testid="agent-buyer-row"]', has_text="<img src=x").first
        item.wait_for(timeout=TIMEOUT_MS)
        item.click()
        agent.get_by_test_id("agent-buyer-text").filter(has_text=attack).wait_for(timeout=TIMEOUT_MS)
        agent.get_by_test_id("agent-send").click()
        buyer.wait_for_function(
            "() => document.querySelectorAll('[data-role=\"bot\"] [data-testid=\"qkf-text\"]').length >= 1", timeout=TIMEOUT_MS
        )

        trainer = staff.new_page()
        trainer.goto(f"{stack.gateway_url}/trainer")
        trainer.get_by_test_id("trainer-forbidden-login").click()  # signed in as an agent: 无权限, then the form
        trainer.get_by_test_id("trainer-login-user").fill("tom")
        trainer.get_by_test_id("trainer-login-password").fill(PASSWORD)
        trainer.get_by_test_id("trainer-login-submit").click()
        trainer.locator('[data-testid="trainer-intent-item"]').first.wait_for(timeout=TIMEOUT_MS)
        assert trainer.locator('[data-testid="trainer-intent-item"]').count() > 20
        trainer.get_by_test_id("trainer-logout").click()
        trainer.get_by_test_id("trainer-login-user").wait_for(timeout=TIMEOUT_MS)
        # Logging out of the trainer console leaves the agent logged in (one cookie per console).
        agent.reload()
        agent.get_by_test_id("agent-queue").wait_for(timeout=TIMEOUT_MS)
        agent.get_by_test_id("agent-logout").click()
        agent.get_by_test_id("agent-login-user").wait_for(timeout=TIMEOUT_MS)
    finally:
        staff.close()
    assert dialogs == []
