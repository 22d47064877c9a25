"""Shared fixtures: the shop services on an in-memory repository, trackers, domain templates."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.settings import exported_defaults

# What `python -m bot` gives every process (TF_CPP_MIN_LOG_LEVEL, SQLALCHEMY_SILENCE_UBER_WARNING,
# endpoints.yml's ACTION_PORT and RASA_TRACKER_DB ...), before SQLAlchemy and TensorFlow are imported.
os.environ.update(exported_defaults())

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from bot.action_server import services  # noqa: E402
from bot.shop.identity import issue_buyer_token  # noqa: E402
from bot.shop.lexicon import Lexicon  # noqa: E402
from bot.shop.orders.demo_shop import load_demo_shop  # noqa: E402
from bot.shop.orders.memory import InMemoryOrderRepository  # noqa: E402
from bot.shop.policy import ShopPolicy  # noqa: E402
from bot.reply_details import ReplyDetails  # noqa: E402
from bot.shop.size_chart import SizeChart  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret"
POSTGRES_ADMIN_URL = os.environ.get("QKF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def migrated(url: str, *parts: str) -> str:
    """``url`` after the schema upgrade that `make run` does at start-up (every part of the schema
    unless ``parts`` names some): a new database gets its tables."""
    from bot.db_migrate import upgrade
    from bot.db_schema import PARTS

    upgrade(url, list(parts or PARTS))
    return url


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    with open(ROOT / "domain.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def repository() -> InMemoryOrderRepository:
    return InMemoryOrderRepository(load_demo_shop(ROOT / "data/shop/demo_shop.yml"))


@pytest.fixture
def policy() -> ShopPolicy:
    return ShopPolicy.load(ROOT / "data/shop/policy.yml")


@pytest.fixture
def shop(repository, policy):
    installed = services.ShopServices(
        repository=repository,
        policy=policy,
        lexicon=Lexicon.load(ROOT / "data/shop/lexicon.yml"),
        size_chart=SizeChart.load(ROOT / "data/shop/size_chart.yml"),
        buyer_token_secret=SECRET,
    )
    services.install(installed)
    yield installed
    services.install(None)


def token_for(buyer_id: str) -> str:
    return issue_buyer_token(SECRET, buyer_id)


def make_tracker(
    text: str = "",
    intent: str = "",
    entities: Optional[Dict[str, str]] = None,
    slots: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    active_loop: Optional[str] = None,
) -> Tracker:
    """A fresh tracker whose latest message carries the given intent, entities and metadata."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id="test-buyer",
        slots=dict(slots or {}),
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


class ActionResult:
    def __init__(self, messages: List[Dict[str, Any]], events: List[Dict[str, Any]], domain: Dict[str, Any]):
        self.messages = messages
        self.events = events
        self.domain = domain

    @property
    def details(self) -> List[ReplyDetails]:
        """Each templated reply's details, as the agent console gets them (the metadata key)."""
        return [d for d in (ReplyDetails.from_metadata(m) for m in self.messages) if d is not None]

    @property
    def responses(self) -> List[str]:
        """Response names uttered (cards, which carry no response, are in ``cards``)."""
        return [d.template for d in self.details]

    @property
    def cards(self) -> List[Dict[str, Any]]:
        return [m["custom"]["card"] for m in self.messages if (m.get("custom") or {}).get("card")]

    def _details_of(self, response: str) -> ReplyDetails:
        for details in self.details:
            if details.template == response:
                return details
        raise AssertionError(f"{response} not uttered; got {self.responses}")

    def values(self, response: str) -> Dict[str, Any]:
        return dict(self._details_of(response).values)

    @property
    def texts(self) -> List[str]:
        """What the buyer reads: each response's first wording filled with the action's values."""
        return [render(self.domain, d.template, d.values) for d in self.details]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def sources(self, response: str) -> Dict[str, str]:
        return dict(self._details_of(response).sources)

    def slot(self, name: str) -> Any:
        for event in self.events:
            if event.get("event") == "slot" and event.get("name") == name:
                return event.get("value")
        raise AssertionError(f"slot {name} not set; events {self.events}")

    def sets_slot(self, name: str) -> bool:
        return any(e.get("event") == "slot" and e.get("name") == name for e in self.events)


VARIABLE = re.compile(r"{([^{}\s]+)}")


def render(domain: Dict[str, Any], response: str, values: Dict[str, Any]) -> str:
    variants = domain["responses"][response]
    text = variants[0]["text"]
    missing = [v for v in VARIABLE.findall(text) if v not in values]
    assert not missing, f"{response} needs {missing} but got {values}"
    return VARIABLE.sub(lambda m: str(values[m.group(1)]), text)


def run_action(action, tracker: Tracker, domain: Dict[str, Any]) -> ActionResult:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return ActionResult(dispatcher.messages, events, domain)


@contextlib.contextmanager
def new_postgres_database():
    """A new, empty PostgreSQL database, dropped afterwards (skipped without a server, failing under CI=true)."""
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as error:  # noqa: BLE001 - any connection failure means "no server here"
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({type(error).__name__}); start it to run these tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"qkf_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture(scope="module")
def postgres_url():
    """A new, empty PostgreSQL database for the module (skipped without a server, failing under CI=true)."""
    with new_postgres_database() as url:
        yield url
