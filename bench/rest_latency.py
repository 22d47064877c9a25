"""Per-message latency through the Rasa REST channel with the real action server and SQLite.

Starts the servers on free ports, warms up, then measures p50/p95 at 1 buyer and at 20 concurrent
buyers. Prints the figures and writes bench/results/rest_latency.{json,md}.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SECRET, token_for  # noqa: E402
from tests.servers import RunningBot  # noqa: E402

CONVERSATION = [
    ("你好", None),
    ("黑色M码的T恤还有吗", None),
    ("这件会掉色吗", None),
    ("什么时候发货", "B001"),
    ("能便宜点吗", None),
    ("再便宜点嘛", None),
    ("我要退货", "B001"),
    ("质量问题", "B001"),
    ("退货进度怎么样了", "B001"),
    ("谢谢亲", None),
]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def conversation(bot: RunningBot, sender: str) -> list:
    latencies = []
    for text, buyer in CONVERSATION:
        metadata = {"buyer_token": token_for(buyer)} if buyer else None
        start = time.perf_counter()
        replies = bot.say(sender, text, metadata)
        latencies.append((time.perf_counter() - start) * 1000)
        assert replies, f"no reply to {text}"
    return latencies


def measure(bot: RunningBot, buyers: int, rounds: int) -> dict:
    latencies = []
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=buyers) as pool:
        futures = [
            pool.submit(conversation, bot, f"bench-{buyers}-{i}-{r}")
            for r in range(rounds)
            for i in range(buyers)
        ]
        for future in futures:
            latencies.extend(future.result())
    elapsed = time.perf_counter() - start
    return {
        "buyers": buyers,
        "turns": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "turns_per_s": round(len(latencies) / elapsed, 1),
    }


def main() -> int:
    bot = RunningBot(Path(tempfile.mkdtemp(prefix="bench-")), SECRET).start()
    try:
        conversation(bot, "warm-up")
        results = [measure(bot, 1, 5), measure(bot, 20, 2)]
    finally:
        bot.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rest_latency.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| concurrent buyers | turns | p50 ms | p95 ms | max ms | turns/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['buyers']} | {r['turns']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['turns_per_s']} |"
        for r in results
    ]
    table = "\n".join(lines)
    (out / "rest_latency.md").write_text(
        "# REST channel latency (one Rasa process, SQLite tracker store, real action server)\n\n" + table + "\n"
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
