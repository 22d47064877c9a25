"""What a bot reply is made of, for the agent who reviews it: the template (response name), the
values the action filled it with, and where each value comes from.

One structure, carried under one key (``REPLY_KEY``) of the bot message's metadata: the action
server puts it there, Rasa keeps it in the bot event (and so in the tracker), the shop channel
hands it back with each message, and the gateway shows it to agents. Readers always read it by
name with ``from_metadata``; anything else in the metadata (Rasa's bookkeeping, the template
values Rasa also copies there) is not looked at.

No Rasa or Sanic import here: the action server, the Rasa server and the gateway all use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Union

REPLY_KEY = "qkf_reply"

Value = Union[str, int, float, bool]
SCALARS = (str, int, float, bool)


def scalar_values(values: Mapping[Any, Any]) -> Dict[str, Value]:
    """The entries of ``values`` an agent can read as one value (text or number), by text name."""
    return {k: v for k, v in values.items() if isinstance(k, str) and isinstance(v, SCALARS)}


def text_sources(sources: Mapping[Any, Any]) -> Dict[str, str]:
    return {k: v for k, v in sources.items() if isinstance(k, str) and isinstance(v, str)}


@dataclass(frozen=True)
class ReplyDetails:
    template: str
    values: Dict[str, Value] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Own copies, so a caller changing its dict later does not change these details.
        object.__setattr__(self, "values", scalar_values(self.values))
        object.__setattr__(self, "sources", text_sources(self.sources))

    # -- in a bot message's metadata -------------------------------------------------------
    def to_metadata(self) -> Dict[str, Any]:
        """The JSON value stored under ``REPLY_KEY``."""
        return {"template": self.template, "values": dict(self.values), "sources": dict(self.sources)}

    @classmethod
    def from_metadata(cls, metadata: Any) -> Optional["ReplyDetails"]:
        """The details under ``REPLY_KEY`` of a bot message's metadata (or of a message Rasa
        handed to a channel, which has the metadata merged in); None when there are none or they
        are not details (no template, wrong types). Values and sources of the wrong type are left out."""
        if not isinstance(metadata, Mapping):
            return None
        stored = metadata.get(REPLY_KEY)
        if not isinstance(stored, Mapping):
            return None
        return cls._read(stored.get("template"), stored.get("values"), stored.get("sources"))

    # -- in a gateway reply (the review queue and the agent console) -----------------------
    def to_reply_fields(self) -> Dict[str, Any]:
        """The fields a gateway reply carries for the agent console: ``response``, ``values``, ``sources``."""
        return {"response": self.template, "values": dict(self.values), "sources": dict(self.sources)}

    @classmethod
    def from_reply_fields(cls, reply: Any) -> Optional["ReplyDetails"]:
        """The details of a gateway reply (see ``to_reply_fields``), None for a reply without a template."""
        if not isinstance(reply, Mapping):
            return None
        return cls._read(reply.get("response"), reply.get("values"), reply.get("sources"))

    @classmethod
    def _read(cls, template: Any, values: Any, sources: Any) -> Optional["ReplyDetails"]:
        if not isinstance(template, str) or not template:
            return None
        return cls(
            template,
            scalar_values(values) if isinstance(values, Mapping) else {},
            text_sources(sources) if isinstance(sources, Mapping) else {},
        )
