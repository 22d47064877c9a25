"""The trainer's edits live in the gateway database, not in the checkout: an edit made through one
gateway is seen by another (and after a restart) while the shipped files stay byte for byte as they
were; two gateways editing at the same moment both keep their change; and the exported project (the
shipped files with the edits over them) is one `rasa data validate` accepts. SQLite (the embedded
profile) and PostgreSQL (production; skipped without a server)."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

import pytest
import sqlalchemy as sa

from bot.db_schema import GATEWAY, training_documents
from bot.gateway.store import GatewayStore
from bot.training.documents import SqlDocuments, export_project
from bot.training.project_data import TRAINER_NLU, ProjectData
from bot.training.rasa_env import rasa_env
from tests.conftest import ROOT, migrated, new_postgres_database

INVOICE = ["能开发票吗", "可以开电子发票吗", "发票怎么开", "买了能给开票不", "需要开增值税发票",
           "开个发票呗", "公司报销要发票", "发票抬头怎么填", "有没有发票啊", "可以开专票吗"]


def shipped_files() -> Dict[str, bytes]:
    """The checkout's trainer-editable files, byte for byte."""
    found = {"domain.yml": (ROOT / "domain.yml").read_bytes()}
    for folder in ("data/nlu", "data/rules", "data/stories"):
        found.update({str(p.relative_to(ROOT)): p.read_bytes() for p in sorted((ROOT / folder).glob("*.yml"))})
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
        return
    with new_postgres_database() as url:
        yield migrated(url, GATEWAY)


@contextmanager
def gateway(url: str, documents=SqlDocuments) -> Iterator[ProjectData]:
    """What a gateway process opens: its own engine on the database, the shipped project under it."""
    store = GatewayStore(url)
    try:
        yield ProjectData.with_current_intents_fixed(ROOT, documents(store.engine, ROOT))
    finally:
        store.close()


def stored(url: str, path: str) -> Dict:
    store = GatewayStore(url)
    try:
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(training_documents).where(training_documents.c.path == path)).mappings().first()
        return dict(row) if row else {}
    finally:
        store.close()


def test_an_edit_is_kept_in_the_database_and_the_checkout_is_untouched(database_url):
    before = shipped_files()
    with gateway(database_url) as project:
        project.by("tina").add_example("ask_stock", "那款卫衣还能买到吗")
        project.by("tina").add_intent("ask_invoice", INVOICE)
    assert shipped_files() == before  # no file of the checkout was written
    row = stored(database_url, TRAINER_NLU)
    assert "那款卫衣还能买到吗" in row["text"] and "能开发票吗" in row["text"]
    assert row["updated_by"] == "tina" and row["revision"] == 2
    assert "ask_invoice" in stored(database_url, "domain.yml")["text"]

    with gateway(database_url) as restarted:  # another gateway, or this one after a restart
        intents = restarted.intents()
        assert "那款卫衣还能买到吗" in intents["ask_stock"]["examples"]
        assert intents["ask_invoice"]["examples"] == INVOICE and intents["ask_invoice"]["editable"]
        assert not intents["ask_stock"]["editable"]  # shipped intents stay fixed
        # An example of a shipped file, edited: the file's text goes to the database, not to disk.
        restarted.by("lee").edit_example("ask_stock", "这件还有货吗", "这件衣服还有货吗")
        assert "这件衣服还有货吗" in restarted.intents()["ask_stock"]["examples"]
    assert shipped_files() == before
    assert "这件还有货吗" in ProjectData(ROOT).intents()["ask_stock"]["examples"]  # the checkout's own view


def release(root: Path) -> Path:
    """A copy of the shipped project (what export writes) to change as a newer release would."""
    return export_project(ROOT, {}, root)


def test_a_newer_release_is_merged_with_the_trainers_edits_not_hidden_by_them(database_url, tmp_path):
    shipped = release(tmp_path / "v1")
    store = GatewayStore(database_url)
    try:
        trainer = ProjectData.with_current_intents_fixed(shipped, SqlDocuments(store.engine, shipped)).by("tina")
        trainer.add_intent("ask_invoice", INVOICE)
        trainer.set_response("utter_ask_invoice", ["亲，可以开电子发票的呢~"], [])
        trainer.edit_example("ask_stock", "这件还有货吗", "这件衣服还有货吗")

        # The release: a new slot and a new response in domain.yml, a new example in the file the
        # trainer edited, and the reply the trainer never touched reworded.
        domain = (shipped / "domain.yml").read_text(encoding="utf-8")
        assert "utter_greet:" in domain
        domain = domain.replace("slots:\n", "slots:\n  release_slot:\n    type: text\n    influence_conversation: false\n    mappings:\n      - type: custom\n", 1)
        domain = domain.replace("responses:\n", "responses:\n  utter_release_only:\n    - text: 亲，新版本的回复~\n", 1)
        (shipped / "domain.yml").write_text(domain, encoding="utf-8")
        edited = next(p for p in (shipped / "data/nlu").glob("*.yml") if "- 这件还有货吗" in p.read_text(encoding="utf-8"))
        edited.write_text(edited.read_text(encoding="utf-8").replace("- 这件还有货吗\n", "- 这件还有货吗\n      - 新版本加的有货例句\n", 1), encoding="utf-8")

        restarted = ProjectData.with_current_intents_fixed(shipped, SqlDocuments(store.engine, shipped))
        merged_domain = restarted.store.read("domain.yml") or ""
        assert "release_slot:" in merged_domain and "utter_release_only:" in merged_domain  # the release's
        assert "ask_invoice" in merged_domain and "亲，可以开电子发票的呢~" in merged_domain  # the trainer's
        examples = restarted.intents()["ask_stock"]["examples"]
        assert "新版本加的有货例句" in examples and "这件衣服还有货吗" in examples and "这件还有货吗" not in examples

        exported = restarted.export(tmp_path / "export")
        assert "release_slot:" in (exported / "domain.yml").read_text(encoding="utf-8")
        assert "ask_invoice" in (exported / "domain.yml").read_text(encoding="utf-8")

        # The next edit stores the merged text, now based on this release.
        restarted.by("lee").set_response("utter_ask_invoice", ["亲，可以开电子发票的呢，下单时备注抬头就好~"], [])
        row = stored(database_url, "domain.yml")
        assert "release_slot:" in row["text"] and "下单时备注抬头" in row["text"] and row["base_text"] == domain
    finally:
        store.close()


class WaitingBeforeStoring(SqlDocuments):
    """A gateway whose first edit, having read and changed the text, waits before storing it until
    told to go on: the other gateway's edit lands in between."""

    read = threading.Event()
    go_on = threading.Event()
    attempts = 0

    @contextmanager
    def edit(self, author: str = "", exclusive: bool = False):
        with super().edit(author, exclusive) as view:
            yield view
            WaitingBeforeStoring.attempts += 1
            if WaitingBeforeStoring.attempts == 1:
                self.read.set()
                assert self.go_on.wait(60)


def test_two_gateways_editing_at_the_same_moment_both_keep_their_change(database_url):
    WaitingBeforeStoring.read.clear()
    WaitingBeforeStoring.go_on.clear()
    WaitingBeforeStoring.attempts = 0
    failures = []

    with gateway(database_url, WaitingBeforeStoring) as first, gateway(database_url) as second:

        def slow_edit() -> None:
            try:
                first.by("tina").add_example("ask_stock", "第一个网关加的例句")
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(error)

        thread = threading.Thread(target=slow_edit)
        thread.start()
        assert WaitingBeforeStoring.read.wait(60)
        second.by("lee").add_example("ask_stock", "第二个网关加的例句")
        WaitingBeforeStoring.go_on.set()
        thread.join(60)
        assert not failures, failures
        examples = second.intents()["ask_stock"]["examples"]

    assert "第一个网关加的例句" in examples and "第二个网关加的例句" in examples
    assert WaitingBeforeStoring.attempts == 2  # the first edit lost the race and was made again on the new text
    assert stored(database_url, TRAINER_NLU)["revision"] == 2


def test_many_trainers_at_once_lose_nothing(database_url):
    # More trainers than an edit has attempts: a retry holds the edit lock, so none is refused.
    texts = [f"同时加的第{n}个例句" for n in range(12)]
    errors = []
    with gateway(database_url) as one, gateway(database_url) as other:

        def add(n: int) -> None:
            try:
                (one if n % 2 else other).by(f"trainer{n}").add_example("ask_stock", texts[n])
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=add, args=(n,)) for n in range(len(texts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        assert set(texts) <= set(one.intents()["ask_stock"]["examples"])


@pytest.mark.slow
def test_the_exported_project_passes_rasa_data_validate(tmp_path):
    url = migrated(f"sqlite:///{tmp_path / 'gateway.db'}", GATEWAY)
    with gateway(url) as project:
        trainer = project.by("tina")
        trainer.add_intent("ask_invoice", INVOICE)
        trainer.set_response("utter_ask_invoice", ["亲，可以开电子发票的呢~"], [])
        trainer.add_rule("ask_invoice", "utter_ask_invoice")
        exported = project.export(tmp_path / "export")
    assert "ask_invoice" in (exported / "domain.yml").read_text(encoding="utf-8")
    assert "能开发票吗" in (exported / TRAINER_NLU).read_text(encoding="utf-8")
    assert (exported / "config.yml").read_bytes() == (ROOT / "config.yml").read_bytes()
    assert "ask_invoice" not in (ROOT / "domain.yml").read_text(encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", "data", "validate", "--fail-on-warnings"],
        cwd=exported,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert Path(exported / "build").resolve() == (ROOT / "build").resolve()
