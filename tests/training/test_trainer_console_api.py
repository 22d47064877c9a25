"""The trainer console's API alone with a training worker (in this process, `rasa train` replaced by
a replay of its real log): refusals come as codes the page words in Chinese, examples are edited in
place, a job a stopped worker left running is marked failed at start-up and blocks nothing, progress
follows Rasa's per-component lines, and each model keeps its own time."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from bot.db_schema import training_jobs
from bot.training.jobs import TrainingProgress, training_components
from tests.conftest import ROOT
from tests.training.console_server import PASSWORD, TRAIN_LOG, Background

STRINGS = yaml.safe_load((ROOT / "data/shop/gateway_strings.yml").read_text(encoding="utf-8"))["trainer"]
INITIAL_MODEL_TIME = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Background(tmp_path_factory.mktemp("console"), initial_model_time=INITIAL_MODEL_TIME.timestamp())
    yield running
    running.stop()


def login(server, path="/trainer/login", username="tina"):
    session = requests.Session()
    reply = session.post(f"{server.url}{path}", json={"username": username, "password": PASSWORD}, timeout=10)
    assert reply.ok, reply.text
    return session


def wait_for_job(session, server, statuses=("swapped", "kept", "failed"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = session.get(f"{server.url}/trainer/api/train", timeout=10).json()["job"]
        if job and job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"the job did not end: {job}")


@pytest.mark.parametrize(
    "method, path, body, code",
    [
        ("post", "/trainer/api/intents", {"name": "Bad Name", "examples": ["开发票"]}, "intent_name_invalid"),
        ("post", "/trainer/api/intents/ask_stock/examples", {"text": "这件还有货吗"}, "example_duplicate"),
        ("post", "/trainer/api/intents/ask_stock/examples", {"text": "   "}, "example_empty"),
        ("post", "/trainer/api/intents/no_such/examples", {"text": "你好呀呀"}, "intent_unknown"),
        ("put", "/trainer/api/responses/utter_bad", {"texts": ["亲，{invoice_no}"]}, "variable_unknown"),
        ("put", "/trainer/api/responses/utter_bad", {"texts": ["<b>亲</b>"]}, "markup_in_reply"),
        ("post", "/trainer/api/rules", {"intent": "ask_stock", "response": "utter_nothing"}, "response_unknown"),
        ("post", "/trainer/api/stories", {"name": "s", "steps": [{"action": "utter_greet"}]}, "story_start_intent"),
        ("post", "/trainer/api/candidates/999999/accept", {"intent": "ask_stock"}, "candidate_not_found"),
        ("post", "/trainer/api/models/nope/activate", {}, "model_not_found"),
    ],
)
def test_refusals_are_codes_the_page_has_chinese_words_for(server, method, path, body, code):
    trainer = login(server)
    reply = getattr(trainer, method)(f"{server.url}{path}", json=body, timeout=30)
    assert reply.status_code in (400, 404, 409)
    errors = reply.json()["errors"]
    assert [e["code"] for e in errors][:1] == [code]
    assert all(isinstance(e, dict) and set(e) == {"code", "params"} for e in errors)  # no English message
    words = STRINGS["errors"][code]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in words)


def test_unknown_variable_names_what_the_trainer_typed_and_the_usable_ones(server):
    trainer = login(server)
    reply = trainer.put(f"{server.url}/trainer/api/responses/utter_bad", json={"texts": ["亲，{invoice_no}"]}, timeout=30)
    [error] = reply.json()["errors"]
    assert error["params"]["variables"] == ["invoice_no"]
    assert "order_id" in error["params"]["known"]
    assert STRINGS["slot_names"]["order_id"] == "订单号"


def test_every_code_the_server_can_give_has_chinese_words(tmp_path):
    import re
    import shutil

    from bot.training.checks import project_checks
    from bot.training.project_data import ProjectData

    sources = "".join((ROOT / f).read_text(encoding="utf-8") for f in ("bot/training/project_data.py", "bot/training/checks.py", "bot/gateway/trainer_api.py"))
    codes = set(re.findall(r'(?:problem|failure)\(\s*"([a-z_]+)"', sources))
    codes |= set(re.findall(r'finding\(\s*"(?:error|warning)",\s*"([a-z_]+)"', sources))
    assert {"example_duplicate", "too_few_examples", "rasa_warning", "job_running", "rasa_refused"} <= codes
    assert codes <= set(STRINGS["errors"]), codes - set(STRINGS["errors"])
    reasons = {code for pair in re.findall(r'JobFailed\("([a-z_]+)"|_step\("([a-z_]+)"', (ROOT / "bot/training/worker.py").read_text()) for code in pair}
    assert {"export_failed", "train_failed", "rasa_refused"} <= reasons and reasons - {""} <= set(STRINGS["reasons"])
    for words in list(STRINGS["errors"].values()) + list(STRINGS["reasons"].values()) + list(STRINGS["statuses"].values()):
        assert re.search(r"[\u4e00-\u9fff]", words), words

    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    project = ProjectData(tmp_path)
    project.add_intent("ask_invoice", ["能开发票吗"])
    found = project_checks(project)
    assert {("too_few_examples", "ask_invoice"), ("intent_unanswered", "ask_invoice")} <= {(p["code"], p["params"].get("intent")) for p in found}


def test_an_example_is_edited_where_it_is_and_validated(server):
    trainer = login(server)
    url = f"{server.url}/trainer/api/intents/ask_stock/examples"
    before = trainer.get(f"{server.url}/trainer/api/intents", timeout=10).json()
    examples = next(i for i in before["intents"] if i["name"] == "ask_stock")["examples"]
    old, other = examples[3], examples[4]
    assert trainer.put(url, json={"old": old, "text": "这款还有没有现货呀亲"}, timeout=30).ok
    after = next(i for i in trainer.get(f"{server.url}/trainer/api/intents", timeout=10).json()["intents"] if i["name"] == "ask_stock")
    assert after["examples"][3] == "这款还有没有现货呀亲" and old not in after["examples"]  # same place
    assert len(after["examples"]) == len(examples)
    duplicate = trainer.put(url, json={"old": "这款还有没有现货呀亲", "text": other}, timeout=30)
    assert duplicate.status_code == 400 and duplicate.json()["errors"][0]["code"] == "example_duplicate"
    gone = trainer.put(url, json={"old": "从来没有这句", "text": "新的一句话"}, timeout=30)
    assert gone.status_code == 400 and gone.json()["errors"][0]["code"] == "example_not_found"
    assert trainer.delete(url, json={"text": "这款还有没有现货呀亲"}, timeout=30).ok
    final = next(i for i in trainer.get(f"{server.url}/trainer/api/intents", timeout=10).json()["intents"] if i["name"] == "ask_stock")
    assert "这款还有没有现货呀亲" not in final["examples"] and len(final["examples"]) == len(examples) - 1


def test_existing_intents_come_with_their_wordings(server):
    trainer = login(server)
    intents = {i["name"]: i for i in trainer.get(f"{server.url}/trainer/api/intents", timeout=10).json()["intents"]}
    greet = intents["greet"]
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    name = greet["responses"][0]
    assert greet["wordings"][name] == [v["text"] for v in domain["responses"][name]]
    # the shop's Chinese name beside the identifier the trainer works with
    assert greet["label"] == "打招呼" and intents["haggle"]["label"] == "讲价"


def test_progress_follows_rasas_component_lines_of_config_yml():
    components = training_components(ROOT)
    assert components[0] == "ChineseTextNormaliser" and components[-1] == "RulePolicy"
    progress = TrainingProgress(components)
    seen = []
    for line in TRAIN_LOG.read_text(encoding="utf-8").splitlines():
        if progress.feed(line):
            seen.append((progress.percent, progress.stage))
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and 0 < percents[len(percents) // 2] < 89 and percents[-1] == 89
    stages = [s for _, s in seen]
    assert "SentenceEmbeddingFeaturizer" in stages  # featurising between two logged components
    assert "LinearIntentClassifier" in stages and set(stages) - {None} <= set(STRINGS["stages"])


def test_training_reports_stage_eta_and_each_model_keeps_its_own_time(server, tmp_path):
    trainer = login(server)
    server.worker.gate = tmp_path / "gate"
    started = trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10)
    assert started.ok, started.text
    again = trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10)
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "job_running"
    deadline = time.monotonic() + 30
    while True:
        job = trainer.get(f"{server.url}/trainer/api/train", timeout=10).json()["job"]
        if job["stage"] and job["progress"] > 0:
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "training" and 0 < job["progress"] < 90 and job["stage"] in STRINGS["stages"]
    assert job["eta_seconds"] is None  # no earlier job to go by: no estimate
    (tmp_path / "gate").touch()
    first = wait_for_job(trainer, server)
    assert first["status"] == "swapped" and first["progress"] == 100 and first["reason"] is None

    models = {m["name"]: m for m in trainer.get(f"{server.url}/trainer/api/models", timeout=10).json()["models"]}
    initial = models.pop("initial")
    [(name, trained)] = models.items()
    assert datetime.fromisoformat(initial["created_at"]) == INITIAL_MODEL_TIME  # its file's time
    assert datetime.fromisoformat(trained["created_at"]) > INITIAL_MODEL_TIME + timedelta(days=1)
    assert initial["real_accuracy"] is not None and trained["real_accuracy"] is None
    assert trained["active"] and not initial["active"] and trained["accuracy"] == pytest.approx(0.91)

    # The second job has the first's timings: an estimate while it runs.
    (tmp_path / "gate").unlink()
    assert trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10).ok
    deadline = time.monotonic() + 30
    while True:
        job = trainer.get(f"{server.url}/trainer/api/train", timeout=10).json()["job"]
        if job["progress"] > 0:
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert isinstance(job["eta_seconds"], int) and job["eta_seconds"] >= 0
    (tmp_path / "gate").touch()
    assert wait_for_job(trainer, server)["status"] in ("swapped", "kept")


def test_a_failed_training_says_why_as_a_code(server, tmp_path):
    trainer = login(server)
    server.worker.gate = tmp_path / "gate"
    (tmp_path / "gate").touch()
    (tmp_path / "gate.fail").touch()
    assert trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10).ok
    job = wait_for_job(trainer, server)
    assert job["status"] == "failed" and job["reason"] == "train_failed"
    assert "InvalidConfigException" in job["message"]  # the detail stays for the logs, not the page
    assert STRINGS["reasons"]["train_failed"].startswith("训练没有完成")


def test_a_job_left_running_by_a_restart_is_failed_at_start_up_and_blocks_nothing(tmp_path):
    import os
    import socket
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    long_ago = datetime.now(timezone.utc) - timedelta(seconds=20)

    def left_running(server):
        with server.store.engine.begin() as conn:
            for owner in (f"{socket.gethostname()}:{dead.pid}", f"{socket.gethostname()}:{os.getpid()}", None):
                conn.execute(
                    training_jobs.insert().values(
                        status="training", progress=40, message="", started_at=long_ago, heartbeat_at=long_ago, owner=owner
                    )
                )
            # Another gateway's job, alive a moment ago: left alone.
            conn.execute(
                training_jobs.insert().values(
                    status="training", progress=10, message="", started_at=long_ago, heartbeat_at=datetime.now(timezone.utc), owner="elsewhere:1"
                )
            )

    server = Background(tmp_path, before_start=left_running)
    try:
        rows = server.job_rows()
        assert [(r["status"], r["reason"]) for r in rows] == [("failed", "interrupted")] * 3 + [("training", None)]
        assert all(r["finished_at"] is not None for r in rows[:3])
        trainer = login(server)
        blocked = trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10)
        assert blocked.status_code == 409  # the other gateway's job is alive
        with server.store.engine.begin() as conn:  # ... until its heartbeat stops for minutes
            conn.execute(training_jobs.update().where(training_jobs.c.owner == "elsewhere:1").values(heartbeat_at=long_ago - timedelta(minutes=5)))
        server.worker.gate = None
        started = trainer.post(f"{server.url}/trainer/api/train", json={}, timeout=10)
        assert started.ok, started.text
        assert wait_for_job(trainer, server)["status"] in ("swapped", "kept")
        statuses = [(r["status"], r["reason"]) for r in server.job_rows()]
        assert statuses[3] == ("failed", "interrupted") and statuses[4][0] in ("swapped", "kept")
        assert STRINGS["reasons"]["interrupted"].startswith("训练进行中训练服务停止了")
    finally:
        server.stop()


def test_an_agent_opening_the_trainer_console_gets_a_chinese_no_permission_page(server):
    agent = login(server, "/agent/login", "alex")
    page = agent.get(f"{server.url}/trainer", timeout=10)
    assert page.status_code == 403 and "无权限" in page.text and "trainer-root" not in page.text  # not the console page
    assert agent.get(f"{server.url}/trainer/api/intents", timeout=10).status_code == 403
    assert agent.get(f"{server.url}/trainer?login=1", timeout=10).status_code == 200  # its link: the login form
    assert requests.get(f"{server.url}/trainer", timeout=10).status_code == 200  # nobody signed in: the login form
    assert login(server).get(f"{server.url}/trainer", timeout=10).status_code == 200


def test_the_bar_moves_while_the_classifier_trains_when_a_previous_job_gives_the_times():
    """In the recorded run the classifier took 5.5 of 6.1 minutes: by component count the bar would
    stand still at 69 % all that time; with the previous job's times it moves on."""
    from bot.training.jobs import _timed_progress

    progress = TrainingProgress(training_components(ROOT))
    reached = {}
    first = None
    for line in TRAIN_LOG.read_text(encoding="utf-8").splitlines():
        stamp = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") if line[:4].isdigit() else None
        if progress.feed(line) and stamp:
            first = first or stamp
            reached.setdefault(str(progress.position), (stamp - first).total_seconds())
    trained = max(reached.values()) + 1
    now = datetime.now(timezone.utc)
    previous = {"timings": json.dumps({"reached": reached, "trained": trained})}
    bar = []
    for minutes in (1, 2.5, 4, 5.5):
        started = now - timedelta(seconds=34 + minutes * 60)
        row = {"status": "training", "progress": 69, "started_at": started}
        timings = {"position": 10, "reached": {"10": 34.0}}
        bar.append(_timed_progress(row, timings, previous))
    assert bar == sorted(bar) and bar[0] < 35 < bar[-1] < 90, bar
