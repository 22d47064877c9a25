"""Trainer writes go to the project's YAML files as a reviewable diff, validated first, and two
trainers writing at once both keep their change."""

import shutil
import subprocess
import threading

import pytest

from bot.training.checks import project_checks
from bot.training.project_data import DataError, ProjectData
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return ProjectData(tmp_path)


def diff(project, relative):
    result = subprocess.run(
        ["git", "diff", "--no-index", "--unified=0", str(ROOT / relative), str(project.root / relative)], capture_output=True, text=True
    )
    return [l for l in result.stdout.splitlines() if l.startswith(("+", "-")) and not l.startswith(("+++", "---"))]


def test_new_intent_template_and_rule_make_a_small_reviewable_diff(project):
    project.add_intent("ask_invoice", ["能开发票吗", "可以开电子发票吗"])
    project.set_response("utter_ask_invoice", ["亲，可以为您开具电子发票的呢~"], [])
    project.add_rule("ask_invoice", "utter_ask_invoice")
    changed = diff(project, "domain.yml")
    assert changed == ["+  - ask_invoice", "+  utter_ask_invoice:", "+    - text: 亲，可以为您开具电子发票的呢~"]
    assert "# Reply library of 亲客服" in (project.root / "domain.yml").read_text(encoding="utf-8")  # comments kept
    info = project.intents()["ask_invoice"]
    assert info["examples"] == ["能开发票吗", "可以开电子发票吗"] and info["has_rule"] and info["responses"] == ["utter_ask_invoice"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: p.add_intent("Ask Invoice", ["开发票"]), "invalid intent name"),
        (lambda p: p.add_intent("ask_invoice", ["   "]), "empty example"),
        (lambda p: p.add_example("ask_stock", "这件还有货吗"), "already an example"),
        (lambda p: p.add_example("no_such_intent", "你好呀"), "unknown intent"),
        (lambda p: p.set_response("utter_x", ["亲，{invoice_no}"], ["product"]), "unknown variable invoice_no"),
        (lambda p: p.set_response("utter_x", ["<b>亲</b>"], []), "no markup"),
        (lambda p: p.add_rule("ask_stock", "utter_nothing"), "unknown response"),
        (lambda p: p.add_story("s", [{"action": "utter_greet"}]), "starts with an intent"),
    ],
)
def test_invalid_writes_are_refused_with_a_clear_message(project, call, message):
    before = (project.root / "domain.yml").read_text(encoding="utf-8")
    with pytest.raises(DataError) as refused:
        call(project)
    assert message in "; ".join(refused.value.errors)
    assert (project.root / "domain.yml").read_text(encoding="utf-8") == before


def test_existing_intent_is_a_conflict(project):
    with pytest.raises(DataError) as refused:
        project.add_intent("ask_stock", ["有货不"])
    assert refused.value.conflict


def test_two_trainers_writing_at_once_keep_both_changes(project):
    errors = []

    def write(text):
        try:
            project.add_example("ask_gift", text)
        except DataError as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"有没有送的小东西{i}号",)) for i in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    examples = project.intents()["ask_gift"]["examples"]
    assert all(f"有没有送的小东西{i}号" in examples for i in range(10))


def test_project_checks_flag_thin_and_unanswered_intents(project):
    project.add_intent("ask_invoice", ["能开发票吗"])
    messages = [p["message"] for p in project_checks(project)]
    assert any("ask_invoice: 1 examples" in m for m in messages)
    assert any("ask_invoice: no rule or story" in m for m in messages)
    assert not any(m.startswith("ask_stock") for m in messages)


def test_the_same_operations_from_the_cli(project, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.setenv("TRAINER_PROJECT_DIR", str(project.root))
    assert main(["trainer", "add-intent", "ask_invoice", "能开发票吗", "可以开电子发票吗"]) == 0
    assert main(["trainer", "add-example", "ask_invoice", "发票怎么开"]) == 0
    assert main(["trainer", "set-response", "utter_ask_invoice", "亲，可以为您开具电子发票的呢~"]) == 0
    assert main(["trainer", "add-rule", "ask_invoice", "utter_ask_invoice"]) == 0
    assert main(["trainer", "add-example", "ask_invoice", "能开发票吗"]) == 2
    assert "already an example" in capsys.readouterr().err
    assert project.intents()["ask_invoice"]["examples"] == ["能开发票吗", "可以开电子发票吗", "发票怎么开"]


def _rule_sent_template(project, wordings):
    project.add_intent("ask_invoice", [f"能开发票吗{i}" for i in range(10)])
    project.set_response("utter_ask_invoice", wordings, ["order_id", "product"])
    project.add_rule("ask_invoice", "utter_ask_invoice")
    return [p["message"] for p in project_checks(project) if p["level"] == "error"]


def test_a_template_whose_every_wording_needs_an_empty_slot_is_a_validation_error(project):
    errors = _rule_sent_template(project, ["亲，订单{order_id}可以开发票的呢~"])
    assert any("utter_ask_invoice needs {order_id} in every wording" in m for m in errors), errors


def test_a_template_with_a_wording_without_the_slot_passes_validation(project):
    errors = _rule_sent_template(project, ["亲，订单{order_id}可以开发票的呢~", "亲，可以开发票的呢~"])
    assert not any("utter_ask_invoice" in m for m in errors), errors
