"""Where the time of one buyer turn goes inside the Rasa server: loads the trained model in-process
with the real action server and a tracker store (SQLite, or PostgreSQL with --postgres), handles
conversations under cProfile and reports the time per turn of each stage. Writes
bench/results/profile_turn.{json,md}.

    python bench/profile_turn.py [--turns 200] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from tests.servers import free_port, require_model  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/qkf_profile_tracker"
QUESTIONS = ["这件还有货吗", "什么时候发货", "会掉色吗", "能便宜点吗", "包邮吗", "发什么快递", "这个是纯棉的吗", "几天能到"]
# (stage, module path fragment, function name): cumulative time of these functions, per turn.
STAGES = [
    ("whole turn (Agent.handle_message)", "rasa/core/agent.py", "handle_message"),
    ("lock store (issue ticket, acquire, release)", "rasa/core/lock_store.py", "issue_ticket"),
    ("tracker store: load conversation", "rasa/core/processor.py", "fetch_tracker_and_update_session"),
    ("NLU parse (jieba, spaCy, featurizers, classifier)", "rasa/core/processor.py", "parse_message"),
    ("policy prediction (Rule, Memoization)", "rasa/core/processor.py", "_predict_next_with_tracker"),
    ("custom action calls (client side; waiting for the action server is not counted)", "rasa/utils/endpoints.py", "request"),
    ("tracker store: save conversation", "rasa/core/processor.py", "save_tracker"),
]


def stage_times(stats: pstats.Stats, turns: int) -> dict:
    found = {}
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        for stage, fragment, name in STAGES:
            if function == name and filename.endswith(fragment):
                found[stage] = found.get(stage, 0.0) + cumulative
    return {stage: round(found.get(stage, 0.0) / turns * 1000, 2) for stage, _f, _n in STAGES}


async def conversations(agent, turns: int) -> float:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    start = time.perf_counter()
    for index in range(turns):
        sender = f"profile-{index // 8}"
        await agent.handle_message(UserMessage(QUESTIONS[index % len(QUESTIONS)], CollectingOutputChannel(), sender))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="tracker store on PostgreSQL (needs the local server)")
    parser.add_argument(
        "--without-speedups", action="store_true", help="Rasa as shipped (python -m bot.rasa_server installs bot.rasa_server.patches)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="profile-"))
    port = free_port()
    env = dict(os.environ, ORDERS_DB_URL=f"sqlite:///{workdir / 'shop.db'}", ACTION_PORT=str(port), RASA_TRACKER_DB=str(workdir / "tracker.db"))
    subprocess.run([sys.executable, "-m", "bot", "seed"], env=env, check=True, capture_output=True)
    actions = subprocess.Popen([sys.executable, "-m", "bot", "actions"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    os.environ.update(ACTION_PORT=str(port), RASA_TRACKER_DB=str(workdir / "tracker.db"))
    try:
        import requests

        for _ in range(120):
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        from rasa.core.agent import load_agent
        from rasa.core.utils import AvailableEndpoints

        profile_name = "SQLite tracker store, in-memory lock store"
        endpoints_file = ROOT / "endpoints.yml"
        if args.postgres:
            from bot.ops.production.databases import ensure_database

            ensure_database(POSTGRES_URL)
            os.environ.update(
                ACTION_ENDPOINT_URL=f"http://127.0.0.1:{port}/webhook", TRACKER_PG_HOST="127.0.0.1", TRACKER_PG_PORT="5432",
                TRACKER_PG_DB="qkf_profile_tracker", TRACKER_PG_USER="postgres", TRACKER_PG_PASSWORD="",
                REDIS_HOST="127.0.0.1", REDIS_PORT="6379", REDIS_LOCK_DB="0", REDIS_LOCK_PREFIX="qkfprofile",
            )
            endpoints_file = ROOT / "deploy" / "endpoints.prod.yml"
            profile_name = "PostgreSQL tracker store, Redis lock store"
        if not args.without_speedups:
            from bot.rasa_server import patches

            patches.install()
            profile_name += ", with bot.rasa_server.patches"
        loop = asyncio.new_event_loop()
        agent = loop.run_until_complete(
            load_agent(model_path=str(require_model()), endpoints=AvailableEndpoints.read_endpoints(str(endpoints_file)))
        )
        loop.run_until_complete(conversations(agent, 16))  # warm-up
        profiler = cProfile.Profile()
        profiler.enable()
        elapsed = loop.run_until_complete(conversations(agent, args.turns))
        profiler.disable()
        stats = pstats.Stats(profiler)
        report = {
            "profile": profile_name,
            "turns": args.turns,
            "ms_per_turn_wall": round(elapsed / args.turns * 1000, 2),
            "ms_per_turn_by_stage": stage_times(stats, args.turns),
        }
        rasa_cumulative = sorted(
            ((k, v) for k, v in stats.stats.items() if "/rasa/" in k[0] and not k[2].startswith("<")),
            key=lambda item: item[1][3], reverse=True,
        )[:30]
        report["top_rasa_cumulative_ms_per_turn"] = [
            {"function": f"{'/'.join(Path(k[0]).parts[-2:])}:{k[2]}", "ms": round(v[3] / args.turns * 1000, 2)}
            for k, v in rasa_cumulative
        ]
        top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:15]
        report["top_self_time_ms_per_turn"] = [
            {"function": f"{Path(k[0]).name}:{k[2]}", "ms": round(v[2] / args.turns * 1000, 2)} for k, v in top
        ]
        if args.postgres:
            from bot.ops.production.databases import drop_database

            drop_database(POSTGRES_URL)
    finally:
        actions.terminate()
    results = ROOT / "bench" / "results"
    suffix = ("_postgres" if args.postgres else "") + ("_without_speedups" if args.without_speedups else "")
    (results / f"profile_turn{suffix}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [f"# One turn inside the Rasa server ({report['profile']})", "",
             f"{args.turns} turns in conversations of 8, under cProfile (which slows everything by a similar factor; time spent waiting for the action server or the database is not in the stage figures): "
             f"{report['ms_per_turn_wall']} ms per turn.", "", "| stage | ms per turn |", "| --- | ---: |"]
    lines += [f"| {stage} | {ms} |" for stage, ms in report["ms_per_turn_by_stage"].items()]
    lines += ["", "Top functions by own time:", "", "| function | ms per turn |", "| --- | ---: |"]
    lines += [f"| `{row['function']}` | {row['ms']} |" for row in report["top_self_time_ms_per_turn"]]
    lines += ["", "Rasa functions by cumulative time (nested: a caller includes its callees):", "", "| function | ms per turn |", "| --- | ---: |"]
    lines += [f"| `{row['function']}` | {row['ms']} |" for row in report["top_rasa_cumulative_ms_per_turn"]]
    (results / f"profile_turn{suffix}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
