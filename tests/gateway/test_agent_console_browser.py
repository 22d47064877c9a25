"""The agent console in a real browser, with the buyer's widget in a second browser context:
the buyer sees exactly what the agent sent, and the agent sees what an agent used to 千牛 expects
(a buyer list with names and unread counts, Chinese intent names, cards as the buyer sees them,
the buyer's orders and the product being viewed beside the chat)."""

import re

import pytest

from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from tests.conftest import ROOT
from tests.gateway.browser import SCREENSHOTS
from tests.gateway.test_widget_browser import browser, open_widget, send  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
PASSWORD = "console-pass-123"
SHOP = InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml"))


def log_in(page, url, name):
    page.goto(f"{url}/agent")
    page.get_by_test_id("agent-login-user").fill(name)
    page.get_by_test_id("agent-login-password").fill(PASSWORD)
    page.get_by_test_id("agent-login-submit").click()
    page.get_by_test_id("agent-queue").wait_for()


@pytest.fixture(scope="module")
def agent_page(stack, browser):  # noqa: F811
    store = GatewayStore(f"sqlite:///{stack.workdir / 'gateway.db'}")
    AgentAccounts(store.engine).add("carol", PASSWORD)
    store.close()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, stack.gateway_url, "carol")
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


def row_for(agent_page, buyer_text):
    row = agent_page.locator('[data-testid="agent-buyer-row"]', has_text=buyer_text[:39]).first
    row.wait_for(timeout=20000)
    return row


def select_row_for(agent_page, buyer_text):
    row = row_for(agent_page, buyer_text)
    row.click()
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text=buyer_text).wait_for(timeout=20000)
    return row


def quotes_seen(buyer_page):
    return [t.strip() for t in buyer_page.get_by_test_id("qkf-quote-text").all_inner_texts()]


def test_agent_accepts_with_enter_and_the_buyer_sees_exactly_that_quoting_the_question(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P001?buyer=B001")
    send(buyer_page, "我想把这件退掉")
    row = select_row_for(agent_page, "我想把这件退掉")
    # the buyer list names the buyer and counts what is unread; the intent is in Chinese
    assert row.get_by_test_id("agent-buyer-name").inner_text() == "张小花"
    assert row.get_by_test_id("agent-unread").inner_text() == "1"
    intent = agent_page.get_by_test_id("agent-intent")
    assert intent.inner_text() == "申请退换货" and intent.get_attribute("title") == "request_return"
    assert agent_page.get_by_test_id("agent-detail-buyer").inner_text() == "张小花"
    # beside the chat: the product the buyer is looking at, and this buyer's orders only
    agent_page.get_by_test_id("agent-viewed-product").wait_for()
    assert SHOP.get_product("P001").name in agent_page.get_by_test_id("agent-viewed-product").inner_text()
    shown = [o.get_attribute("data-order-id") for o in agent_page.get_by_test_id("agent-order").all()]
    assert shown == [o.id for o in SHOP.orders_for_buyer("B001")]
    statuses = agent_page.get_by_test_id("agent-order-status").all_inner_texts()
    assert "已签收" in statuses and not any(re.fullmatch(r"[a-z_]+", s) for s in statuses)
    drafts = [t.strip() for t in agent_page.get_by_test_id("agent-reply").all_inner_texts()]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-desktop.png"))
    agent_page.get_by_test_id("agent-send").focus()
    agent_page.keyboard.press("Enter")
    buyer_page.get_by_test_id("qkf-quote").first.wait_for(timeout=20000)
    delivered = [t for t in texts_of(buyer_page, "bot") if "请稍等" not in t]
    assert delivered and all(any(text in draft for draft in drafts) for text in delivered)
    assert quotes_seen(buyer_page) == ["我想把这件退掉"]
    buyer_page.screenshot(path=str(SCREENSHOTS / "widget-quoted-reply.png"))


def test_agent_edits_and_the_buyer_sees_the_edited_text(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P001?buyer=B003")
    send(buyer_page, "我买贵了能退差价不")
    select_row_for(agent_page, "我买贵了能退差价不")
    agent_page.get_by_test_id("agent-edit").click()
    box = agent_page.get_by_test_id("agent-edit-text")
    box.fill("亲，差价已经为您登记好了，24小时内退回哦~")
    agent_page.get_by_test_id("agent-edit-submit").click()
    buyer_page.locator('[data-testid="qkf-msg"][data-role="agent"]').first.wait_for(timeout=20000)
    assert texts_of(buyer_page, "agent") == ["亲，差价已经为您登记好了，24小时内退回哦~"]
    assert quotes_seen(buyer_page) == ["我买贵了能退差价不"]


def test_reject_confirm_is_on_screen_at_900px_and_the_redraft_keeps_the_wait(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/")
    send(buyer_page, "我要投诉你们这个店")
    row = select_row_for(agent_page, "我要投诉你们这个店")
    waited_before = float(row.locator(".agent-timer").get_attribute("data-base"))
    agent_page.get_by_test_id("agent-reject").click()
    confirm = agent_page.get_by_test_id("agent-reject-submit")
    box = confirm.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, box
    options = agent_page.get_by_test_id("agent-reject-intent").locator("option").all_inner_texts()
    assert "询问发货时间（ask_ship_time）" in options
    agent_page.get_by_test_id("agent-reject-intent").select_option("ask_ship_time")
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-reject-900.png"))
    confirm.click()
    redrafted = agent_page.locator('[data-testid="agent-intent"][title="ask_ship_time"]')
    redrafted.wait_for(timeout=20000)
    assert redrafted.inner_text() == "询问发货时间"
    # the wait is still counted from the buyer's question, not from the redraft
    agent_page.wait_for_function(
        """([sid, before]) => {
             const row = document.querySelector(`[data-testid="agent-buyer-row"][data-session-id="${sid}"] .agent-timer`);
             return row && Number(row.dataset.base) >= before;
           }""",
        arg=[row.get_attribute("data-session-id"), waited_before],
        timeout=10000,
    )


def test_a_visitor_writing_three_times_is_one_row_with_three_unread_named_by_a_short_id(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/")
    for text in ("你们这个质量太差了我要投诉", "投诉！为什么没人理我", "三次了我要投诉到消协"):
        send(buyer_page, text)
        buyer_page.wait_for_timeout(400)
    row = row_for(agent_page, "三次了我要投诉到消协")
    agent_page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="agent-buyer-row"]')]
             .some(r => r.textContent.includes('三次了我要投诉到消协') && r.querySelector('[data-testid="agent-unread"]')?.textContent === '3')""",
        timeout=30000,
    )
    session_id = row.get_attribute("data-session-id")
    assert agent_page.locator(f'[data-testid="agent-buyer-row"][data-session-id="{session_id}"]').count() == 1
    name = row.get_by_test_id("agent-buyer-name").inner_text()
    assert name == "访客 " + re.sub(r"[^A-Za-z0-9]", "", session_id)[:6]
    row.click()
    agent_page.get_by_test_id("agent-pending-count").wait_for()
    assert "3" in agent_page.get_by_test_id("agent-pending-count").inner_text()
    assert agent_page.get_by_test_id("agent-no-orders").inner_text() == "访客未登录，看不到订单"


def test_cards_in_a_draft_look_like_the_buyers_cards(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P003")
    send(buyer_page, "我要投诉你们客服")
    select_row_for(agent_page, "我要投诉你们客服")
    agent_page.get_by_test_id("agent-takeover").click()
    agent_page.get_by_test_id("agent-free-text").wait_for()
    # taken over: even a stock answer waits for the agent, with its product card
    send(buyer_page, "这个还有货吗")
    agent_page.get_by_test_id("agent-send").click()  # the complaint's draft first
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text="这个还有货吗").wait_for(timeout=20000)
    card = agent_page.locator('[data-testid="agent-reply"] [data-testid="agent-product-card"]').first
    card.wait_for(timeout=20000)
    product = SHOP.get_product("P003")
    shown = card.inner_text()
    assert product.name in shown and "¥" in shown and ("有货" in shown or "缺货" in shown)
    detail = agent_page.get_by_test_id("agent-detail").inner_text()
    assert not any(key in detail for key in ("product_id", "stock_label", "in_stock", "status_label"))
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-product-card.png"))
    agent_page.get_by_test_id("agent-send").click()
    buyer_page.get_by_test_id("qkf-product-card").first.wait_for(timeout=20000)
    agent_page.get_by_test_id("agent-handback").click()


def test_take_over_shows_new_buyer_messages_live_and_questions_are_answered(stack, agent_page, buyer_page):
    open_widget(buyer_page, f"{stack.gateway_url}/?buyer=B002")
    send(buyer_page, "我要退货")
    select_row_for(agent_page, "我要退货")
    agent_page.get_by_test_id("agent-takeover").click()
    agent_page.get_by_test_id("agent-free-text").wait_for()
    # a new question while the agent has the conversation: shown at once
    send(buyer_page, "在吗？我那个订单到哪了")
    latest = agent_page.get_by_test_id("agent-latest-buyer-text").filter(has_text="我那个订单到哪了")
    latest.wait_for(timeout=10000)
    assert agent_page.get_by_test_id("agent-conversation").filter(has_text="我那个订单到哪了").count() == 1
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-takeover.png"))
    agent_page.get_by_test_id("agent-free-text").fill("亲，我是人工客服，您的订单已经发货了哦")
    agent_page.get_by_test_id("agent-free-send").click()
    buyer_page.locator('[data-testid="qkf-msg"][data-role="agent"]').first.wait_for(timeout=20000)
    assert texts_of(buyer_page, "agent") == ["亲，我是人工客服，您的订单已经发货了哦"]
    # the agent's words answered both waiting drafts: nothing is left to review here
    agent_page.wait_for_function("() => !document.querySelector('[data-testid=\"agent-send\"]')", timeout=10000)
    # asked during the take-over, not answered by the agent: answered after hand-back
    send(buyer_page, "你好")
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text="你好").wait_for(timeout=20000)
    agent_page.get_by_test_id("agent-handback").click()
    try:
        buyer_page.get_by_test_id("qkf-quote").filter(has_text="你好").wait_for(timeout=5000)
    except Exception:
        # the policy wants this draft reviewed: it is an ordinary queue item now, sent by the agent
        agent_page.get_by_test_id("agent-send").click()
        buyer_page.get_by_test_id("qkf-quote").filter(has_text="你好").wait_for(timeout=20000)
    assert "你好" in quotes_seen(buyer_page)


def test_quick_phrases_are_managed_in_the_console_and_filled_from_the_conversation(stack, agent_page, buyer_page):
    order = next(o for o in SHOP.orders_for_buyer("B001") if o.courier and o.tracking_no)
    agent_page.get_by_test_id("agent-phrase-manage").click()
    new = agent_page.get_by_test_id("agent-phrase-new")
    new.get_by_test_id("agent-phrase-title").fill("发货提醒")
    new.get_by_test_id("agent-phrase-text").fill("亲，您的订单{order_id}已由{courier}发出，运单号{tracking_no}~")
    new.get_by_test_id("agent-phrase-save").click()
    agent_page.locator('[data-testid="agent-phrase"] [data-testid="agent-phrase-title"]').first.wait_for()
    agent_page.get_by_test_id("agent-phrase-manage").click()  # 完成
    agent_page.get_by_test_id("agent-phrase").filter(has_text="发货提醒").wait_for()
    # the buyer names an order, then complains: the agent takes over and answers with the phrase
    open_widget(buyer_page, f"{stack.gateway_url}/?buyer=B001")
    send(buyer_page, order.id)
    buyer_page.wait_for_timeout(1500)
    send(buyer_page, "我要投诉你们发货太慢")
    select_row_for(agent_page, "我要投诉你们发货太慢")
    agent_page.get_by_test_id("agent-takeover").click()
    agent_page.get_by_test_id("agent-handback").wait_for()
    box = agent_page.get_by_test_id("agent-free-text")
    box.press_sequentially("/发货")
    agent_page.get_by_test_id("agent-phrase-option").filter(has_text="发货提醒").wait_for()
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-phrase-picker.png"))
    box.press("Enter")
    expected = f"亲，您的订单{order.id}已由{order.courier}发出，运单号{order.tracking_no}~"
    assert box.input_value() == expected
    agent_page.get_by_test_id("agent-free-send").click()
    buyer_page.locator('[data-testid="qkf-msg"][data-role="agent"]').first.wait_for(timeout=20000)
    assert texts_of(buyer_page, "agent") == [expected]
    agent_page.get_by_test_id("agent-handback").click()


def test_search_a_buyer_open_the_conversation_and_export_it(stack, agent_page):
    agent_page.get_by_test_id("agent-search-q").fill("张小花")
    agent_page.get_by_test_id("agent-search-go").click()
    result = agent_page.get_by_test_id("agent-search-row").first
    result.wait_for(timeout=10000)
    assert all(name == "张小花" for name in agent_page.locator('[data-testid="agent-search-row"] .agent-item-name').all_inner_texts())
    assert "null" not in agent_page.get_by_test_id("agent-search-results").inner_text()
    agent_page.screenshot(path=str(SCREENSHOTS / "agent-console-search.png"))
    session_id = result.get_attribute("data-session-id")
    result.click()
    agent_page.locator(f'[data-testid="agent-detail"][data-session-id="{session_id}"]').wait_for()
    assert agent_page.get_by_test_id("agent-detail-buyer").inner_text() == "张小花"
    agent_page.wait_for_timeout(6000)  # a queue poll does not take the conversation away
    assert agent_page.get_by_test_id("agent-detail").get_attribute("data-session-id") == session_id
    href = agent_page.get_by_test_id("agent-export-csv").get_attribute("href")
    exported = agent_page.request.get(stack.gateway_url + href)
    assert exported.ok and session_id in exported.text() and "张小花" in exported.text()
    agent_page.get_by_test_id("agent-search-clear").click()
    agent_page.get_by_test_id("agent-queue").wait_for()


def test_a_new_waiting_buyer_raises_a_notification_and_the_tab_count(stack, browser, agent_page, buyer_page):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    # A stand-in for the browser's notifications (granted) in a hidden tab: records what is shown.
    context.add_init_script(
        """window.shown = [];
           window.Notification = class { constructor(title, options) { window.shown.push({title, body: options.body}); }
                                         close() {} static get permission() { return 'granted'; } };
           Object.defineProperty(document, 'hidden', {get: () => true});"""
    )
    page = context.new_page()
    try:
        log_in(page, stack.gateway_url, "carol")
        page.wait_for_function("() => /^\\(\\d+\\) /.test(document.title) || !document.querySelector('[data-testid=agent-unread]')")
        open_widget(buyer_page, f"{stack.gateway_url}/?buyer=B006")
        send(buyer_page, "东西收到是坏的，我要投诉")
        page.wait_for_function("() => window.shown.length > 0", timeout=20000)
        shown = page.evaluate("() => window.shown")
        assert shown[0]["title"] == "有买家在等待回复" and "刘洋" in shown[0]["body"]
        total = sum(int(n) for n in page.get_by_test_id("agent-unread").all_inner_texts())
        assert page.title() == f"({total}) 亲客服 · 客服工作台"
        # the optional chime is the agent's choice and is remembered
        assert not page.get_by_test_id("agent-sound").is_checked()
        page.get_by_test_id("agent-sound").check()
        page.reload()
        page.get_by_test_id("agent-queue").wait_for()
        assert page.get_by_test_id("agent-sound").is_checked()
    finally:
        context.close()


def test_the_console_at_800px_wide(stack, browser, agent_page, buyer_page):  # noqa: F811
    open_widget(buyer_page, f"{stack.gateway_url}/shop/product/P002?buyer=B004")
    send(buyer_page, "收到的衣服有个洞，质量太差了")
    context = browser.new_context(viewport={"width": 800, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, stack.gateway_url, "carol")
        select_row_for(page, "收到的衣服有个洞，质量太差了")
        page.get_by_test_id("agent-viewed-product").wait_for()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 800, width  # nothing sticks out sideways
        page.screenshot(path=str(SCREENSHOTS / "agent-console-800.png"), full_page=True)
        page.set_viewport_size({"width": 1024, "height": 768})  # a small laptop: the buyer's panel below the chat
        page.wait_for_timeout(300)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024
        page.screenshot(path=str(SCREENSHOTS / "agent-console-1024.png"))
    finally:
        context.close()


def test_buyer_html_is_shown_as_text_in_the_console(stack, agent_page, buyer_page):
    dialogs = []
    agent_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(buyer_page, f"{stack.gateway_url}/")
    attack = "<img src=x onerror=alert(1)>退货"
    send(buyer_page, attack)
    row = agent_page.locator('[data-testid="agent-buyer-row"]', has_text="<img").first
    row.wait_for(timeout=20000)
    row.click()
    agent_page.get_by_test_id("agent-buyer-text").filter(has_text="onerror").wait_for()
    assert attack in agent_page.get_by_test_id("agent-buyer-text").inner_text()
    assert agent_page.locator("img[src='x']").count() == 0 and dialogs == []
