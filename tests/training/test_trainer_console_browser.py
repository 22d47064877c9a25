"""The trainer console in a real browser (Debian's Chromium), served alone in this process with
`rasa train` replaced by a replay of its real per-component log: Chinese messages, a layout
without gaps at 1440 and 800 px, existing wordings shown, examples edited in place, progress with
a stage and an estimate, the model history with its chart, a job interrupted by a restart, and
"无权限" for an agent. Screenshots in test-output/screenshots/trainer-*.png."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bot.db_schema import training_jobs
from tests.conftest import ROOT
from tests.gateway.browser import SCREENSHOTS
from tests.gateway.test_widget_browser import browser  # noqa: F401 (fixture)
from tests.training.console_server import PASSWORD, Background

pytestmark = pytest.mark.slow
STRINGS = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["trainer"]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
INITIAL_MODEL_TIME = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)
INVOICE = ["能开发票吗", "可以开电子发票吗", "发票怎么开", "买了能给开票不", "需要开增值税发票"]
ENGLISH_WORD = re.compile(r"\b(?:invalid|error|unknown|failed|training|swapped|kept|evaluating|slot|example)\b", re.I)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A gateway that stopped while a job was training: it restarts with that job in the database."""

    def left_running(background):
        long_ago = datetime.now(timezone.utc) - timedelta(minutes=30)
        with background.store.engine.begin() as conn:
            conn.execute(training_jobs.insert().values(status="training", progress=35, message="", started_at=long_ago, owner="gone-host:123"))

    running = Background(tmp_path_factory.mktemp("console"), initial_model_time=INITIAL_MODEL_TIME.timestamp(), before_start=left_running)
    yield running
    running.stop()


def open_console(browser, server, width):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(f"{server.url}/trainer")
    page.get_by_test_id("trainer-login-user").fill("tina")
    page.get_by_test_id("trainer-login-password").fill(PASSWORD)
    page.get_by_test_id("trainer-login-submit").click()
    page.get_by_test_id("trainer-intent-item").first.wait_for()
    return page


def select(page, intent):
    page.locator(f'[data-testid="trainer-intent-item"][data-intent="{intent}"]').click()
    page.wait_for_function(f"() => document.querySelector('[data-testid=trainer-intent-title]').textContent === '{intent}'")


def error_text(page):
    page.get_by_test_id("trainer-error").wait_for(state="visible")
    return page.get_by_test_id("trainer-error").inner_text()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.parametrize("width", [1440, 800])
def test_layout_has_no_gaps_one_template_heading_and_existing_wordings(browser, server, width):  # noqa: F811
    page = open_console(browser, server, width)
    select(page, "greet")
    name = page.get_by_test_id("trainer-template-name").input_value()
    assert name.startswith("utter_")
    assert page.get_by_test_id("trainer-template-texts").input_value().splitlines() == [v["text"] for v in DOMAIN["responses"][name]]
    intents = page.locator("#trainer-sec-intents").inner_text()
    assert intents.count(STRINGS["template"]) == 1
    # No field is taller than its label and control (they were 220 px each).
    heights = page.eval_on_selector_all(
        ".trainer-form .trainer-field",
        "fields => fields.filter(f => f.offsetParent).map(f => f.getBoundingClientRect().height - [...f.children].reduce((s, c) => s + c.getBoundingClientRect().height, 0))",
    )
    assert heights and max(heights) < 12, heights
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The job a restart interrupted: failed, in Chinese, and training is possible.
    status = page.get_by_test_id("trainer-job-status")
    assert status.get_attribute("data-status") == "failed" and STRINGS["statuses"]["failed"] in status.inner_text()
    assert page.get_by_test_id("trainer-job-message").inner_text() == STRINGS["reasons"]["interrupted"]
    assert page.get_by_test_id("trainer-train").is_enabled()
    shot(page, f"trainer-console-{width}.png")
    page.context.close()


def test_messages_are_chinese_and_creating_an_intent_does_not_move_the_page(browser, server):  # noqa: F811
    page = open_console(browser, server, 1440)
    page.get_by_test_id("trainer-new-intent-name").fill("Bad Name")
    page.get_by_test_id("trainer-new-intent-examples").fill("开发票")
    page.get_by_test_id("trainer-create-intent").click()
    message = error_text(page)
    assert "意图名“Bad Name”不合规" in message and not ENGLISH_WORD.search(message), message

    page.get_by_test_id("trainer-new-intent-name").fill("ask_invoice")
    page.get_by_test_id("trainer-new-intent-examples").fill("\n".join(INVOICE))
    page.get_by_test_id("trainer-new-intent-name").scroll_into_view_if_needed()
    where = "() => [window.scrollY, document.querySelector('[data-testid=trainer-create-intent]').getBoundingClientRect().top]"
    before = page.evaluate(where)
    page.get_by_test_id("trainer-create-intent").click()
    page.wait_for_function("() => document.querySelector('[data-testid=trainer-intent-title]').textContent === 'ask_invoice'")
    page.wait_for_timeout(300)
    after = page.evaluate(where)
    assert abs(after[0] - before[0]) < 2 and abs(after[1] - before[1]) < 2, (before, after)  # the form stays where it was
    assert page.get_by_test_id("trainer-status").inner_text() == STRINGS["intent_created"]
    item = page.locator('[data-testid="trainer-intent-item"][data-intent="ask_invoice"]')
    assert item.get_attribute("aria-pressed") == "true" and item.is_visible()

    # A variable no slot supplies: named as typed, the usable ones in Chinese, no slot names.
    page.get_by_test_id("trainer-template-texts").fill("亲，发票号是{invoice_no}哦")
    page.get_by_test_id("trainer-save-template").click()
    message = error_text(page)
    assert "{invoice_no}" in message and "订单号" in message and "order_id" not in message, message
    # The variable buttons insert the token the template needs.
    page.get_by_test_id("trainer-template-texts").fill("亲，订单")
    page.locator('[data-testid="trainer-variable"][data-variable="order_id"]').click()
    assert page.get_by_test_id("trainer-template-texts").input_value() == "亲，订单{order_id}"

    page.get_by_test_id("trainer-validate").click()
    page.locator('[data-testid="trainer-problems"] li').first.wait_for(timeout=120000)
    problems = page.get_by_test_id("trainer-problems").inner_text()
    assert "意图 ask_invoice 只有 5 个例句，至少要 10 个" in problems
    assert "意图 ask_invoice 还没有回复规则或故事" in problems
    shot(page, "trainer-messages-1440.png")
    page.context.close()


def test_an_example_is_edited_in_place_and_deleted(browser, server):  # noqa: F811
    page = open_console(browser, server, 1440)
    select(page, "ask_invoice")
    examples = page.get_by_test_id("trainer-example")
    second = examples.nth(1)
    assert second.get_attribute("data-text") == INVOICE[1]
    second.get_by_test_id("trainer-edit-example").click()
    box = page.get_by_test_id("trainer-example-input")
    box.fill("这个能开电子发票吗亲")
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=trainer-example]')[1]?.dataset.text === '这个能开电子发票吗亲'")
    assert page.get_by_test_id("trainer-status").inner_text() == STRINGS["example_saved"]
    assert "这个能开电子发票吗亲" in server.project.store.stored()["data/nlu/trainer.yml"]  # in the database

    # A sentence of another intent is refused where it is edited, in Chinese.
    taken = server.project.intents()["ask_stock"]["examples"][0]
    examples.nth(0).get_by_test_id("trainer-edit-example").click()
    page.get_by_test_id("trainer-example-input").fill(taken)
    page.get_by_test_id("trainer-save-example").click()
    problem = page.get_by_test_id("trainer-example-error")
    problem.wait_for()
    assert problem.inner_text() == f"“{taken}”已经是意图 ask_stock 的例句了"
    shot(page, "trainer-edit-example-1440.png")
    page.get_by_test_id("trainer-example-input").press("Escape")
    assert examples.nth(0).get_attribute("data-text") == INVOICE[0]

    examples.nth(4).get_by_test_id("trainer-delete-example").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=trainer-example]').length === 4")
    assert INVOICE[4] not in [examples.nth(i).get_attribute("data-text") for i in range(4)]
    page.context.close()


def test_training_shows_stages_an_estimate_and_the_history_chart(browser, server, tmp_path):  # noqa: F811
    gate = tmp_path / "gate"
    server.worker.gate = gate
    page = open_console(browser, server, 1440)
    page.get_by_test_id("trainer-train").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=trainer-job-stage]').dataset.stage"
        " && Number(document.querySelector('[data-testid=trainer-progress]').value) > 0",
        polling=200,
    )
    stage = page.get_by_test_id("trainer-job-stage")
    assert stage.get_attribute("data-stage") in STRINGS["stages"]
    assert STRINGS["stages"][stage.get_attribute("data-stage")] in stage.inner_text()
    assert STRINGS["statuses"]["training"] in page.get_by_test_id("trainer-job-status").inner_text()
    assert page.get_by_test_id("trainer-job-eta").is_hidden()  # no earlier job: no estimate
    assert not page.get_by_test_id("trainer-train").is_enabled()
    gate.touch()
    page.wait_for_function("() => document.querySelector('[data-testid=trainer-job-status]').dataset.status === 'swapped'", timeout=60000)
    assert STRINGS["statuses"]["swapped"] in page.get_by_test_id("trainer-job-status").inner_text()
    assert page.get_by_test_id("trainer-progress").evaluate("p => p.value") == 100

    page.wait_for_function("() => document.querySelectorAll('[data-testid=trainer-model]').length === 2")
    initial = page.locator('[data-testid="trainer-model"][data-model="initial"]')
    assert STRINGS["initial_model"] in initial.inner_text()
    initial_time = datetime.fromisoformat(initial.get_by_test_id("trainer-model-time").get_attribute("data-time"))
    assert initial_time == INITIAL_MODEL_TIME
    assert "2026/11/20 16:30" in initial.get_by_test_id("trainer-model-time").inner_text()  # shown in the trainer's zone
    new = page.locator('[data-testid="trainer-model"][data-active="true"]')
    assert datetime.fromisoformat(new.get_by_test_id("trainer-model-time").get_attribute("data-time")) > INITIAL_MODEL_TIME + timedelta(days=1)
    assert page.get_by_test_id("trainer-chart-accuracy").count() == 2
    assert page.get_by_test_id("trainer-chart-real").count() == 1  # measured for the shipped model only

    # The second job goes by the first's timings: an estimate is shown while it runs.
    gate.unlink()
    page.get_by_test_id("trainer-train").click()
    page.get_by_test_id("trainer-job-eta").wait_for(state="visible", timeout=30000)
    page.wait_for_function("() => Number(document.querySelector('[data-testid=trainer-progress]').value) > 0", polling=200)
    assert page.get_by_test_id("trainer-job-eta").inner_text().startswith(STRINGS["eta"])
    page.locator("#trainer-sec-train").scroll_into_view_if_needed()
    shot(page, "trainer-training-1440.png")
    page.set_viewport_size({"width": 800, "height": 900})
    shot(page, "trainer-training-800.png")
    gate.touch()
    page.wait_for_function("() => ['swapped', 'kept'].includes(document.querySelector('[data-testid=trainer-job-status]').dataset.status)", timeout=60000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=trainer-chart-accuracy]').length === 3")
    page.locator("#trainer-sec-models").screenshot(path=str(SCREENSHOTS / "trainer-models-800.png"))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator("#trainer-sec-models").screenshot(path=str(SCREENSHOTS / "trainer-models-1440.png"))
    page.context.close()


def test_an_agent_opening_the_trainer_console_sees_no_permission(browser, server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    assert page.request.post(f"{server.url}/agent/login", data={"username": "alex", "password": PASSWORD}).ok
    reply = page.goto(f"{server.url}/trainer")
    assert reply.status == 403
    assert page.get_by_test_id("trainer-forbidden").inner_text().startswith(STRINGS["forbidden_title"])
    assert page.get_by_test_id("trainer-login-user").count() == 0
    shot(page, "trainer-forbidden-1440.png")
    page.get_by_test_id("trainer-forbidden-login").click()  # someone who also has a trainer account
    page.get_by_test_id("trainer-login-user").fill("tina")
    page.get_by_test_id("trainer-login-password").fill(PASSWORD)
    page.get_by_test_id("trainer-login-submit").click()
    page.get_by_test_id("trainer-intent-item").first.wait_for()
    context.close()
