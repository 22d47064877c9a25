"""The routing policy (data/shop/routing.yml): send a bot reply at once or hold it for review."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional

import yaml

from bot.reply_details import ReplyDetails


@dataclass(frozen=True)
class Decision:
    review: bool
    reason: str


@dataclass(frozen=True)
class RoutingPolicy:
    confidence_threshold: float
    auto_send: List[str]
    always_review: List[str]
    # replies that commit the shop (a refund, an exchange, a re-send, a registered return): an
    # agent approves them, whatever the intent that led there
    review_replies: List[str] = field(default_factory=list)
    review_after_times: Dict[str, int] = field(default_factory=dict)
    review_unlisted: bool = False
    hold_notice_after_seconds: float = 8
    sla_amber_seconds: float = 60
    sla_red_seconds: float = 180
    agent_timeout_seconds: float = 90
    safe_when_unattended: List[str] = field(default_factory=list)
    service_hours: str = ""

    @classmethod
    def load(cls, path: Path) -> "RoutingPolicy":
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        return cls(
            confidence_threshold=float(raw["confidence_threshold"]),
            auto_send=list(raw.get("auto_send", [])),
            always_review=list(raw.get("always_review") or []),
            review_replies=list(raw.get("review_replies") or []),
            review_after_times={k: int(v) for k, v in (raw.get("review_after_times") or {}).items()},
            review_unlisted=raw.get("unlisted_intents", "send") == "review",
            hold_notice_after_seconds=float(raw.get("hold_notice_after_seconds", 8)),
            sla_amber_seconds=float(raw["sla_seconds"]["amber"]),
            sla_red_seconds=float(raw["sla_seconds"]["red"]),
            agent_timeout_seconds=float(raw.get("agent_timeout_seconds", 90)),
            safe_when_unattended=list(raw.get("safe_when_unattended") or []),
            service_hours=str(raw.get("service_hours") or ""),
        )

    def decide(
        self,
        parses: Iterable[Mapping],
        earlier_replies: Mapping[str, int],
        taken_over_by: Optional[str] = None,
        replies: Iterable[Mapping] = (),
    ) -> Decision:
        """``earlier_replies``: how many replies to each intent this conversation already had;
        ``replies``: the bot's replies of this turn (with their response names when known)."""
        if taken_over_by:
            return Decision(True, f"taken over by {taken_over_by}")
        templates = [d.template for d in map(ReplyDetails.from_reply_fields, replies) if d is not None]
        committing = [t for t in templates if t in self.review_replies]
        if committing:
            return Decision(True, f"{committing[0]} commits the shop")
        parses = list(parses)
        if not parses:
            return Decision(True, "nothing understood")
        for parse in parses:
            intent, confidence = str(parse.get("intent") or ""), float(parse.get("confidence") or 0)
            if intent in self.always_review:
                return Decision(True, f"{intent} is always reviewed")
            if confidence < self.confidence_threshold:
                return Decision(True, f"confidence {confidence:.2f} below {self.confidence_threshold}")
            if intent not in self.auto_send and (self.review_unlisted or intent == "nlu_fallback"):
                return Decision(True, f"{intent} is not auto-sent")
            limit = self.review_after_times.get(intent)
            if limit is not None and earlier_replies.get(intent, 0) >= limit:
                return Decision(True, f"{intent} beyond the first {limit}")
        return Decision(False, "auto-send")

    def sla(self, waiting_seconds: float) -> str:
        if waiting_seconds >= self.sla_red_seconds:
            return "red"
        if waiting_seconds >= self.sla_amber_seconds:
            return "amber"
        return "green"

    def unattended(self, parses: Iterable[Mapping]) -> str:
        """What happens to a held reply nobody reviews (no agent online, or none acted within
        ``agent_timeout_seconds``): ``send`` the draft when every question is a safe one (pre-sale
        and order status), else ``handoff``: an honest message with the service hours, and the
        item stays in the queue for the next agent."""
        intents = [p.get("intent") for p in parses]
        if intents and all(i in self.safe_when_unattended for i in intents):
            return "send"
        return "handoff"
