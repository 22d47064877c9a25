"""Simulated buyers over socket.io through the gateway, for three profiles:

1. embedded: one Rasa process, SQLite tracker store, in-memory lock store (make run);
2. production, one Rasa replica: PostgreSQL tracker store, Redis lock store and socket.io manager,
   nginx in front (make run-prod with PROD_RASA_REPLICAS=1);
3. production, two Rasa replicas.

Each buyer holds conversations of 6-10 turns mixing the core questions and order look-ups (a
logged-in buyer), waits for each answer, thinks 0.2-0.6 s, and starts a new conversation after the
last turn. Reported per profile and number of concurrent buyers (1, 20, 50, 100): turns/second,
p50/p95/p99 latency (message sent -> first reply shown) and errors (no answer in 30 s, the busy
reply, refused messages). Also: the latency of the first round of 12 turns (turns 1-12) against
the last round (turns 289-300) of one long conversation (the same questions in the same dialogue
states, so only the conversation's length differs), and the Rasa servers' resident memory.
Writes bench/results/socketio_load.{json,md}.

    python bench/socketio_load.py [--seconds 30] [--buyers 1,20,50,100] [--profiles 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import os
import time
import uuid
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

from tests.conftest import SECRET, token_for  # noqa: E402
from tests.production.stack import ProductionStack, require_production_services  # noqa: E402
from tests.servers import RunningBot  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUSY = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["gateway"]["service_busy"]
QUESTIONS = [
    "这件还有货吗", "黑色M码的还有吗", "什么时候发货", "今天能发吗", "会掉色吗", "能便宜点吗",
    "包邮吗", "发什么快递", "这个是纯棉的吗", "几天能到", "有赠品吗", "我要退货",
]
ORDER_QUESTIONS = ["我的订单到哪了", "发货了吗", "退货进度怎么样了"]
# The long conversation's round: a return is started, interrupted by two questions and given up, so
# every round starts and ends in the same dialogue state (an open form makes each turn costlier).
LONG_ROUND = QUESTIONS[:8] + [QUESTIONS[-1]] + QUESTIONS[8:10] + ["不退了"]
REPLY_TIMEOUT = 30
CPU_GROUPS = ["Rasa", "action server", "gateway", "nginx", "PostgreSQL", "Redis", "load generator (this script)"]


def percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def bench_environment(workdir: Path) -> Dict[str, str]:
    """Every reply goes out at once (no agent review) and no per-buyer rate limit: the benchmark
    measures the bot, and its buyers type faster than people."""
    routing = yaml.safe_load((ROOT / "data/shop/routing.yml").read_text(encoding="utf-8"))
    routing.update(confidence_threshold=0.0, auto_send=routing["auto_send"] + routing["always_review"], always_review=[], review_after_times={})
    (workdir / "routing.yml").write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return {
        "ROUTING_POLICY_FILE": str(workdir / "routing.yml"), "GATEWAY_RATE_BURST": "100000", "GATEWAY_RATE_PER_SECOND": "100000",
        # every simulated buyer comes from 127.0.0.1: no per-address limit either
        "GATEWAY_IP_RATE_BURST": "100000", "GATEWAY_IP_RATE_PER_SECOND": "100000",
    }


class Buyer:
    def __init__(self, url: str, logged_in: bool) -> None:
        self.url = url
        self.session_id = str(uuid.uuid4())
        self.token = token_for(random.choice(["B001", "B002", "B003"])) if logged_in else None
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue = asyncio.Queue()
        self.turn_over = asyncio.Event()
        self.client.on("message", self._on_message)
        self.client.on("typing", self._on_typing)

    async def _on_message(self, message: dict) -> None:
        if message.get("role") == "bot" and message.get("text"):
            self.replies.put_nowait(message["text"])

    async def _on_typing(self, data: dict) -> None:
        if not data.get("on"):
            self.turn_over.set()  # the gateway has sent every reply of the turn

    async def connect(self) -> None:
        await self.client.connect(
            f"{self.url}?conversation={self.session_id}",
            auth={"session_id": self.session_id, "buyer_token": self.token, "product_id": "P001"},
            headers={"Origin": self.url},
            transports=["websocket"],
        )

    async def turn(self, text: str) -> tuple:
        """(latency in ms or None, error kind or None). Waits for the end of the turn, so that a turn's
        second reply is not taken for the first reply of the next turn."""
        while not self.replies.empty():
            self.replies.get_nowait()
        self.turn_over.clear()
        start = time.perf_counter()
        ack = await self.client.call("buyer_message", {"client_id": str(uuid.uuid4()), "text": text}, timeout=REPLY_TIMEOUT)
        if not ack.get("ok"):
            return None, f"refused:{ack.get('error')}"
        try:
            reply = await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            return None, "timeout"
        latency = (time.perf_counter() - start) * 1000
        try:
            await asyncio.wait_for(self.turn_over.wait(), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            return None, "unfinished"
        return latency, ("busy" if reply == BUSY else None)


async def buyer_loop(url: str, stop_at: float, measure_from: float, samples: List[float], errors: List[str], turns: List[int]) -> None:
    while time.monotonic() < stop_at:
        logged_in = random.random() < 0.5
        buyer = Buyer(url, logged_in)
        try:
            await buyer.connect()
        except Exception as error:  # noqa: BLE001 - counted, the benchmark goes on
            errors.append(f"connect:{type(error).__name__}")
            await asyncio.sleep(0.5)
            continue
        try:
            pool = QUESTIONS + (ORDER_QUESTIONS if logged_in else [])
            for _ in range(random.randint(6, 10)):
                if time.monotonic() >= stop_at:
                    break
                try:
                    latency, error = await buyer.turn(random.choice(pool))
                except Exception as failure:  # noqa: BLE001
                    latency, error = None, f"call:{type(failure).__name__}"
                if time.monotonic() >= measure_from:
                    turns.append(1)
                    if latency is not None and error is None:
                        samples.append(latency)
                    if error:
                        errors.append(error)
                await asyncio.sleep(random.uniform(0.2, 0.6))
        finally:
            await buyer.client.disconnect()


async def warm_up(url: str) -> None:
    """Every question once, logged in and not (each action's first call and each replica's first
    turns are slower), then a short load: connections open in every process."""
    for logged_in in (True, False):
        buyer = Buyer(url, logged_in)
        await buyer.connect()
        try:
            for text in QUESTIONS + ORDER_QUESTIONS + LONG_ROUND:
                await buyer.turn(text)
        finally:
            await buyer.client.disconnect()
    await load(url, 4, 3, 2)


async def load(url: str, buyers: int, seconds: float, warmup: float) -> dict:
    samples: List[float] = []
    errors: List[str] = []
    turns: List[int] = []
    begin = time.monotonic()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    await asyncio.gather(*[buyer_loop(url, stop_at, measure_from, samples, errors, turns) for _ in range(buyers)])
    elapsed = max(time.monotonic() - measure_from, 1e-9)
    kinds: Dict[str, int] = {}
    for error in errors:
        kinds[error] = kinds.get(error, 0) + 1
    return {
        "buyers": buyers,
        "turns": len(turns),
        "turns_per_s": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(samples), 1) if samples else None,
        "p95_ms": round(percentile(samples, 0.95), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "errors": len(errors),
        "error_kinds": kinds,
    }


async def long_conversation(url: str, turns: int = 300) -> dict:
    buyer = Buyer(url, logged_in=False)
    await buyer.connect()
    latencies = []
    try:
        for index in range(turns):
            latency, error = await buyer.turn(LONG_ROUND[index % len(LONG_ROUND)])
            latencies.append(latency if error is None else None)
    finally:
        await buyer.client.disconnect()
    # Whole rounds are compared: the same questions in the same dialogue states, so only the
    # conversation's length differs.
    size = len(LONG_ROUND)
    rounds = [[v for v in latencies[i:i + size] if v is not None] for i in range(0, turns, size)]
    medians = [round(statistics.median(r), 1) for r in rounds if r]
    return {
        "turns": turns,
        "first_round_median_ms": medians[0],
        "last_round_median_ms": medians[-1],
        "ratio": round(medians[-1] / medians[0], 2),
        "round_medians_ms": medians,
        "failed_turns": sum(1 for v in latencies if v is None),
    }


def rss_mb(pids: List[int]) -> List[float]:
    sizes = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        except OSError:
            pass
    return sizes


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def processes_named(*names: str) -> List[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def cpu_seconds(pids: List[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            pass
    return total


def process_groups(stack) -> Dict[str, List[int]]:
    """Which processes do what, to say where the CPU goes."""
    if isinstance(stack, RunningBot):
        actions, rasa, gateway = (p.pid for p in stack.processes[:3])
        groups = {"Rasa": [rasa], "action server": [actions], "gateway": [gateway]}
    else:
        groups = {"Rasa": [], "action server": [], "gateway": [], "nginx": processes_named("nginx")}
        for name, service in stack.services.items():
            for group in ("Rasa", "action server", "gateway"):
                if name.lower().startswith(group.lower()):
                    groups[group].append(service.process.pid)
        groups["PostgreSQL"] = processes_named("postgres")
        groups["Redis"] = processes_named("redis-server")
    groups["load generator (this script)"] = [os.getpid()]
    return groups


def run_profile(number: int, levels: List[int], seconds: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-profile{number}-"))
    extra = bench_environment(workdir)
    if number == 1:
        stack = RunningBot(workdir, SECRET, gateway=True)
        stack.env.update(extra)
        stack.start()
        url = stack.gateway_url
        rasa_pids = lambda: [stack.processes[1].pid]  # noqa: E731 - action server, Rasa, gateway
        name = "1. embedded (1 Rasa, SQLite)"
    else:
        require_production_services()
        stack = ProductionStack(workdir, SECRET, rasa_replicas=number - 1, extra_env=extra)
        stack.profile.action_replicas = stack.profile.action_replicas[:1]
        stack.profile.gateway_replicas = stack.profile.gateway_replicas[:1]
        stack.start()
        url = stack.gateway_url
        rasa_pids = lambda: [s.process.pid for n, s in stack.services.items() if n.startswith("Rasa")]  # noqa: E731
        name = f"{number}. production ({number - 1} Rasa replica{'s' if number > 2 else ''}, PostgreSQL, Redis, nginx)"
    try:
        asyncio.run(warm_up(url))
        results = []
        groups = process_groups(stack)
        for buyers in levels:
            before = {group: cpu_seconds(pids) for group, pids in groups.items()}
            result = asyncio.run(load(url, buyers, seconds, warmup=3))
            turns = max(result["turns"], 1)
            result["cpu_ms_per_turn"] = {
                group: round((cpu_seconds(pids) - before[group]) * 1000 / turns, 1) for group, pids in groups.items()
            }
            print(f"  profile {number}, {buyers:3d} buyers: {result}", flush=True)
            results.append(result)
        long = asyncio.run(long_conversation(url))
        print(f"  profile {number}, one conversation of 300 turns: {long}", flush=True)
        return {"profile": name, "levels": results, "long_conversation": long, "rasa_rss_mb": rss_mb(rasa_pids())}
    finally:
        stack.stop()


def markdown(report: dict) -> str:
    lines = [
        "# Socket.io load through the gateway",
        "",
        f"Machine: {report['machine']}. {report['seconds']} s measured per level after a warm-up; "
        "buyers think 0.2-0.6 s between turns. Latency: message sent -> first reply shown.",
        "",
        "| profile | buyers | turns/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for profile in report["profiles"]:
        for level in profile["levels"]:
            lines.append(
                f"| {profile['profile']} | {level['buyers']} | {level['turns_per_s']} | {level['p50_ms']} | "
                f"{level['p95_ms']} | {level['p99_ms']} | {level['errors']} |"
            )
    lines += ["", "| profile | turns 1-12 median ms | turns 289-300 median ms | ratio | Rasa RSS MB |", "| --- | ---: | ---: | ---: | --- |"]
    for profile in report["profiles"]:
        long = profile["long_conversation"]
        lines.append(
            f"| {profile['profile']} | {long['first_round_median_ms']} | {long['last_round_median_ms']} | "
            f"{long['ratio']} | {', '.join(str(v) for v in profile['rasa_rss_mb'])} |"
        )
    lines += ["", "Median latency of each round of 12 turns in the long conversation (ms):", ""]
    for profile in report["profiles"]:
        lines.append(f"- {profile['profile']}: " + ", ".join(str(v) for v in profile["long_conversation"]["round_medians_ms"]))
    lines += ["", "CPU per turn at the highest load (ms of CPU time per answered turn, warm-up included):", "",
              "| profile | " + " | ".join(CPU_GROUPS) + " |", "| --- |" + " ---: |" * len(CPU_GROUPS)]
    for profile in report["profiles"]:
        cpu = profile["levels"][-1].get("cpu_ms_per_turn", {})
        lines.append(f"| {profile['profile']} | " + " | ".join(str(cpu.get(g, "-")) for g in CPU_GROUPS) + " |")
    if "speedup_profile3_vs_1" in report:
        lines += ["", f"Saturated throughput, profile 3 / profile 1: {report['speedup_profile3_vs_1']}x "
                  f"(at {report['speedup_at_buyers']} buyers)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--buyers", default="1,20,50,100")
    parser.add_argument("--profiles", default="1,2,3")
    args = parser.parse_args()
    levels = [int(v) for v in args.buyers.split(",")]

    report = {
        "machine": f"{os.cpu_count()} cores",
        "seconds": args.seconds,
        "profiles": [run_profile(int(n), levels, args.seconds) for n in args.profiles.split(",")],
    }
    by_number = {p["profile"][0]: p for p in report["profiles"]}
    if "1" in by_number and "3" in by_number:
        top = max(levels)
        first = next(l for l in by_number["1"]["levels"] if l["buyers"] == top)
        third = next(l for l in by_number["3"]["levels"] if l["buyers"] == top)
        report["speedup_profile3_vs_1"] = round(third["turns_per_s"] / max(first["turns_per_s"], 1e-9), 2)
        report["speedup_at_buyers"] = top
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "socketio_load.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (RESULTS / "socketio_load.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
