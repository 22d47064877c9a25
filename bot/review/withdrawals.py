"""Records the bot makes while drafting a reply (a return request, a price refund) exist before an
agent approves the reply that announces them. When the agent rejects that draft, the buyer never
saw the record's number, so the record is withdrawn: no later answer may say it exists."""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping

from bot.reply_details import ReplyDetails
from bot.shop.orders.repository import OrderRepository

# The reply template that announces a new record -> the value holding the record's id, and the
# repository method that withdraws it.
ANNOUNCED_BY = {
    "utter_return_recorded": ("request_id", "withdraw_return_request"),
    "utter_price_refund": ("refund_id", "withdraw_price_refund"),
}


def withdraw_announced_records(orders: OrderRepository, replies: Iterable[Mapping[str, Any]]) -> List[str]:
    """Withdraws the records the rejected ``replies`` (a suggestion's stored replies) announced;
    returns them as ``template:id`` for the log. Records no longer "requested" are left alone."""
    withdrawn = []
    for reply in replies:
        details = ReplyDetails.from_reply_fields(reply)
        if details is None or details.template not in ANNOUNCED_BY:
            continue
        key, method = ANNOUNCED_BY[details.template]
        value = details.values.get(key)
        if not isinstance(value, (int, str)) or isinstance(value, bool) or not str(value).isdigit():
            continue
        record_id = int(value)
        if getattr(orders, method)(record_id):
            withdrawn.append(f"{details.template}:{record_id}")
    return withdrawn
