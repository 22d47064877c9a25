"""The chat widget on the demo shop pages, in a real browser (Debian's Chromium + Playwright)."""

import re

import pytest
import requests

from tests.gateway.browser import ARGS, CHROMIUM, SCREENSHOTS, require_chromium
from tests.replies import said
from tests.servers import SHOP_KEY

pytestmark = pytest.mark.slow
REPLY_TIMEOUT_MS = 20000


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def open_widget(page, url):
    page.goto(url)
    page.get_by_test_id("qkf-launcher").click()
    page.get_by_test_id("qkf-input").wait_for()


def bot_bubbles(page):
    """Bot bubbles with text (product and order cards come as bubbles of their own)."""
    return page.locator('[data-testid="qkf-msg"][data-role="bot"]').filter(has=page.locator('[data-testid="qkf-text"]:not(:empty)'))


def send(page, text):
    box = page.get_by_test_id("qkf-input")
    box.fill(text)
    box.press("Enter")


def wait_bot_count(page, count):
    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid="qkf-msg"][data-role="bot"] [data-testid="qkf-text"]')]
               .filter(e => e.textContent.trim()).length >= n""",
        arg=count,
        timeout=REPLY_TIMEOUT_MS,
    )


def test_stock_question_on_a_product_page_names_the_product(stack, page):
    open_widget(page, f"{stack.gateway_url}/shop/product/P001")
    send(page, "这件还有货吗")
    wait_bot_count(page, 1)
    reply = bot_bubbles(page).first.get_by_test_id("qkf-text").inner_text()
    assert said(reply, "utter_stock_available_product", product="纯棉T恤")
    card = page.get_by_test_id("qkf-product-card").first
    card.wait_for()
    assert "纯棉T恤" in card.inner_text() and "¥79" in card.inner_text() and "有货" in card.inner_text()
    assert re.match(r"^\d{1,2}:\d{2}$|^\d{1,2}月\d{1,2}日", page.get_by_test_id("qkf-time").first.inner_text())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))


def test_enter_during_ime_composition_does_not_send(stack, page):
    open_widget(page, f"{stack.gateway_url}/shop/product/P002")
    box = page.get_by_test_id("qkf-input")
    box.fill("you")
    box.dispatch_event("compositionstart", {"data": ""})
    page.evaluate(
        """() => document.querySelector('[data-testid="qkf-input"]').dispatchEvent(
            new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))"""
    )
    page.wait_for_timeout(300)
    assert page.locator('[data-testid="qkf-msg"][data-role="buyer"]').count() == 0
    box.fill("有货吗")
    box.dispatch_event("compositionend", {"data": "有货吗"})
    box.press("Shift+Enter")
    assert page.locator('[data-testid="qkf-msg"][data-role="buyer"]').count() == 0
    box.press("Enter")
    page.locator('[data-testid="qkf-msg"][data-role="buyer"]').first.wait_for()
    assert "有货吗" in page.locator('[data-testid="qkf-msg"][data-role="buyer"]').first.inner_text()


def test_reload_keeps_the_conversation(stack, page):
    open_widget(page, f"{stack.gateway_url}/shop/product/P003")
    send(page, "羽绒被会掉色吗")
    wait_bot_count(page, 1)
    page.reload()
    page.get_by_test_id("qkf-launcher").click()
    page.locator('[data-testid="qkf-msg"][data-role="buyer"]').first.wait_for()
    texts = page.get_by_test_id("qkf-log").inner_text()
    assert "羽绒被会掉色吗" in texts and "只能干洗" in texts


def test_quick_reply_button_sends_its_payload(stack, page):
    open_widget(page, f"{stack.gateway_url}/")
    send(page, "今天天气怎么样")
    wait_bot_count(page, 1)
    button = page.get_by_test_id("qkf-quick-reply").first
    assert "人工" in button.inner_text()
    button.click()
    wait_bot_count(page, 2)
    assert said(bot_bubbles(page).nth(1).inner_text(), "utter_handoff")


def test_html_in_a_message_is_shown_as_text(stack, page):
    open_widget(page, f"{stack.gateway_url}/")
    attack = "<img src=x onerror=alert(1)>"
    send(page, attack)
    wait_bot_count(page, 1)
    page.wait_for_timeout(500)
    bubble = page.locator('[data-testid="qkf-msg"][data-role="buyer"]').first
    assert bubble.get_by_test_id("qkf-text").inner_text() == attack
    assert page.locator("#qkf-root img[src='x']").count() == 0
    assert page.dialogs == []


def test_disconnect_shows_banner_keeps_typing_and_loses_nothing(stack, page):
    open_widget(page, f"{stack.gateway_url}/shop/product/P001")
    # The browser goes offline: no HTTP request and no new WebSocket gets through.
    page.context.set_offline(True)
    page.evaluate("() => window.QinkefuWidget.socket.io.engine.close()")
    page.get_by_test_id("qkf-offline").wait_for(state="visible")
    send(page, "黑色M码还有吗")
    page.wait_for_timeout(2500)  # longer than socket.io's first reconnection delays
    assert page.locator('[data-testid="qkf-msg"][data-role="buyer"][data-pending="true"]').count() == 1
    page.context.set_offline(False)
    wait_bot_count(page, 1)
    page.get_by_test_id("qkf-offline").wait_for(state="hidden")
    page.wait_for_timeout(1500)
    assert page.locator('[data-testid="qkf-msg"][data-role="buyer"]').count() == 1
    assert bot_bubbles(page).count() == 1
    session_id = page.evaluate("() => localStorage.getItem('qkf_session_id')")
    history = requests.get(f"{stack.gateway_url}/api/history", params={"session_id": session_id}, timeout=10).json()
    assert [m["role"] for m in history["messages"]].count("buyer") == 1


def test_proactive_shipped_event_appears_in_the_open_widget(stack, page):
    open_widget(page, f"{stack.gateway_url}/shop/product/P001?buyer=B006")
    page.wait_for_timeout(500)
    reply = requests.post(
        f"{stack.gateway_url}/api/order-events",
        json={"order_id": "260318156627409981", "event": "shipped"},
        headers={"X-Shop-Key": SHOP_KEY},
        timeout=30,
    )
    assert reply.json()["delivered"] is True
    wait_bot_count(page, 1)
    assert said(bot_bubbles(page).first.inner_text(), "utter_event_shipped", order_id="260318156627409981")


def test_mobile_layout_at_360_px(stack, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    open_widget(page, f"{stack.gateway_url}/shop/product/P004")
    send(page, "这件是什么材质的")
    wait_bot_count(page, 1)
    box = page.get_by_test_id("qkf-panel").bounding_box()
    assert box["width"] <= 360 and box["x"] >= 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-360px.png"))
    context.close()


def test_keyboard_only_and_aria_roles(stack, page):
    page.goto(f"{stack.gateway_url}/")
    page.get_by_test_id("qkf-launcher").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("qkf-input").wait_for()
    assert page.evaluate("() => document.activeElement.dataset.testid") == "qkf-input"
    assert page.get_by_test_id("qkf-log").get_attribute("role") == "log"
    assert page.get_by_test_id("qkf-input").get_attribute("aria-label")
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "qkf-launcher"
