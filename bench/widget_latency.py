"""Time from Enter to the bot's reply painted in the widget, measured in a real browser
(Debian's Chromium + Playwright) against the real gateway, Rasa server and action server;
plus the widget's payload size. Turns the routing held for review (here: a repeated haggle,
routing.yml review_after_times) are counted apart: with no agent online the buyer gets the draft
(quoting the question) or the honest handoff message a few seconds later, a wait set by the routing
policy, not by the stack's speed. Prints the figures and writes
bench/results/widget_latency.*"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SECRET  # noqa: E402
from tests.gateway.browser import ARGS, CHROMIUM  # noqa: E402
from tests.servers import RunningBot  # noqa: E402

MESSAGES = [
    "这件还有货吗",
    "黑色M码还有吗",
    "会掉色吗",
    "什么时候发货",
    "能便宜点吗",
    "包邮吗",
    "发什么快递",
    "什么材质的",
    "有赠品吗",
    "谢谢",
]
ROUNDS = 50

# The first words of the handoff message a held turn gets when no agent is online.
HANDOFF = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"][
    "unattended_handoff"
].split("{")[0][:12]

MEASURE = """async ([text, handoff]) => {
  const log = document.querySelector('[data-testid="qkf-log"]');
  const before = log.querySelectorAll('[data-role="bot"]').length;
  const box = document.querySelector('[data-testid="qkf-input"]');
  return await new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const bots = log.querySelectorAll('[data-role="bot"]');
      if (bots.length > before) {
        observer.disconnect();
        const held = Boolean(bots[before].querySelector('[data-testid="qkf-quote"]')) || bots[before].textContent.includes(handoff);
        requestAnimationFrame(() => resolve({ms: performance.now() - start, held}));
      }
    });
    observer.observe(log, {childList: true, subtree: true});
    box.value = text;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    const start = performance.now();
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', bubbles: true, cancelable: true}));
  });
}"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def figures(values):
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
    }


def payload_sizes() -> dict:
    files = {
        "widget.js": ROOT / "bot/gateway/static/widget.js",
        "widget.css": ROOT / "bot/gateway/static/widget.css",
        "socket.io.min.js": ROOT / "node_modules/socket.io-client/dist/socket.io.min.js",
    }
    sizes = {name: {"raw": p.stat().st_size, "gzip": len(gzip.compress(p.read_bytes(), 9))} for name, p in files.items()}
    sizes["total_gzip"] = sum(v["gzip"] for v in sizes.values())
    sizes["ours_gzip"] = sizes["widget.js"]["gzip"] + sizes["widget.css"]["gzip"]
    return sizes


def main() -> int:
    from playwright.sync_api import sync_playwright

    stack = RunningBot(Path(tempfile.mkdtemp(prefix="bench-widget-")), SECRET, gateway=True).start()
    latencies, held = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()
            page.goto(f"{stack.gateway_url}/shop/product/P001")
            page.get_by_test_id("qkf-launcher").click()
            page.get_by_test_id("qkf-input").wait_for()
            page.evaluate(MEASURE, ["你好", HANDOFF])  # warm-up
            for i in range(ROUNDS):
                page.wait_for_timeout(1100)  # stay under the per-buyer rate limit
                measured = page.evaluate(MEASURE, [MESSAGES[i % len(MESSAGES)], HANDOFF])
                (held if measured["held"] else latencies).append(measured["ms"])
            browser.close()
    finally:
        stack.stop()
    result = {
        "messages": len(latencies) + len(held),
        "enter_to_reply_painted_ms": figures(latencies),
        "held_for_review_then_sent_ms": figures(held),
        "payload_bytes": payload_sizes(),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "widget_latency.json").write_text(json.dumps(result, indent=2))
    p, h = result["enter_to_reply_painted_ms"], result["held_for_review_then_sent_ms"]
    sizes = result["payload_bytes"]
    table = (
        "| figure | value |\n| --- | --- |\n"
        f"| Enter to reply painted, p50 ({p['count']} replies sent at once) | {p['p50']} ms |\n"
        f"| Enter to reply painted, p95 | {p['p95']} ms |\n"
        f"| replies held for review, answered with no agent online (count, p50) | {h['count']}, {h.get('p50', '-')} ms |\n"
        f"| widget.js + widget.css, gzip | {sizes['ours_gzip']} bytes |\n"
        f"| with socket.io client, gzip | {sizes['total_gzip']} bytes |\n"
    )
    (out / "widget_latency.md").write_text(f"# Widget latency over {result['messages']} messages (real browser)\n\n" + table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
