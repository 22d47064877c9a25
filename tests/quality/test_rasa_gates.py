"""Quality gates run with Rasa's own tools on the trained model: data validation, held-in NLU
accuracy, dialogue test stories with --fail-on-prediction-errors."""

import json
import subprocess
import sys

import pytest
import yaml

from bot.settings import child_environment
from tests.conftest import ROOT
from tests.servers import require_model

pytestmark = pytest.mark.slow
HELD_IN_ACCURACY = 0.90


def rasa(*args, tmp_path):
    env = child_environment({"RASA_TRACKER_DB": str(tmp_path / "t.db")})
    return subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
    )


def examples(path):
    found = set()
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
        if "intent" in block:
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.add(line[2:].strip())
    return found


def test_training_data_is_valid(tmp_path):
    result = rasa("data", "validate", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_held_in_set_shares_no_sentence_with_training_data():
    training = set().union(*(examples(p) for p in (ROOT / "data/nlu").glob("*.yml")))
    held_in = examples(ROOT / "tests/nlu/test_nlu.yml")
    assert len(held_in) >= 150
    assert not training & held_in


def test_held_in_intent_accuracy(tmp_path):
    out = tmp_path / "nlu"
    result = rasa("test", "nlu", "--model", str(require_model()), "--nlu", "tests/nlu/test_nlu.yml", "--out", str(out), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "intent_report.json").read_text())
    errors = json.loads((out / "intent_errors.json").read_text()) if (out / "intent_errors.json").exists() else []
    print(f"held-in accuracy {report['accuracy']:.3f}, macro F1 {report['macro avg']['f1-score']:.3f}")
    worst = [(e["text"], e["intent"], e["intent_prediction"]["name"]) for e in errors]
    assert report["accuracy"] >= HELD_IN_ACCURACY, worst
    for intent in ("ask_stock", "ask_ship_time", "haggle", "ask_fading", "request_return"):
        assert report[intent]["recall"] >= 0.85, (intent, report[intent], worst)


def test_core_flow_stories_predict_without_errors(tmp_path):
    out = tmp_path / "core"
    result = rasa(
        "test", "core", "--model", str(require_model()), "--stories", "tests/stories",
        "--fail-on-prediction-errors", "--out", str(out), tmp_path=tmp_path,
    )
    failed = (out / "failed_test_stories.yml").read_text(encoding="utf-8") if (out / "failed_test_stories.yml").exists() else ""
    assert result.returncode == 0, failed or (result.stdout[-3000:] + result.stderr[-3000:])
