"""Multi-turn buyer conversations through the real servers (action server + Rasa, shop channel),
one server stack for the whole package. Each conversation asserts what the buyer reads: the
response, the order and product it names, and the values filled in."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import pytest

from bot.reply_details import ReplyDetails
from tests.conftest import SECRET, token_for
from tests.replies import said
from tests.servers import RunningBot


@pytest.fixture(scope="package")
def bot(tmp_path_factory):
    running = RunningBot(tmp_path_factory.mktemp("conversations"), SECRET).start()
    yield running
    running.stop()


class Turn:
    """The bot's answer to one buyer message."""

    def __init__(self, reply: Dict[str, Any]) -> None:
        self.messages: List[Dict[str, Any]] = reply.get("messages") or []
        # Each templated message's own details (a reply Rasa split into several messages has them on each).
        self.details: List[ReplyDetails] = [d for d in map(ReplyDetails.from_metadata, self.messages) if d is not None]
        self.parse = reply.get("parse") or []

    @property
    def responses(self) -> List[str]:
        return [d.template for d in self.details]

    @property
    def intents(self) -> List[str]:
        return [p["intent"] for p in self.parse]

    def values(self, response: str) -> Dict[str, Any]:
        for detail in self.details:
            if detail.template == response:
                return {k: str(v) for k, v in detail.values.items()}
        raise AssertionError(f"{response} not sent; got {self.responses}\n{self.text}")

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages if m.get("text"))

    @property
    def cards(self) -> List[Dict[str, Any]]:
        return [m["custom"]["card"] for m in self.messages if isinstance(m.get("custom"), dict) and m["custom"].get("card")]

    @property
    def buttons(self) -> List[Dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]

    def said(self, response: str, **values: object) -> bool:
        return said(self.text, response, **values)

    def __repr__(self) -> str:  # shown when an assertion fails
        return f"Turn(intents={self.intents}, responses={self.responses}, text={self.text!r})"


class Buyer:
    """A buyer in the widget: logged in (or not), on a product page (or not)."""

    def __init__(self, bot: RunningBot, buyer_id: Optional[str] = None, page: Optional[str] = None) -> None:
        self.bot = bot
        self.sender = f"conv-{uuid.uuid4().hex[:10]}"
        self.buyer_id = buyer_id
        self.page = page

    def says(self, text: str, page: Optional[str] = "same") -> Turn:
        if page != "same":
            self.page = page
        metadata: Dict[str, Any] = {}
        if self.buyer_id:
            metadata["buyer_token"] = token_for(self.buyer_id)
        if self.page:
            metadata["product_id"] = self.page
        return Turn(self.bot.shop_say(self.sender, text, metadata))

    def taps(self, button: Dict[str, str]) -> Turn:
        """One tap on a quick-reply button: the widget sends its payload."""
        return self.says(button["payload"])


@pytest.fixture
def buyer(bot):
    return lambda buyer_id=None, page=None: Buyer(bot, buyer_id, page)
