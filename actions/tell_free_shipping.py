"""ask_free_shipping (template 10): the threshold, and how far the buyer's cart or product is from it."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext


class ActionTellFreeShipping(ShopAction):
    def name(self) -> Text:
        return "action_tell_free_shipping"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        threshold = shop.policy.free_shipping_threshold
        shop.note("threshold", "policy.shipping.free_shipping_threshold")
        amount, what = None, None
        product = shop.product_in_focus()
        order = shop.order_in_question(intent="ask_free_shipping")
        if order is not None and product is not None and all(i.product_id != product.id for i in order.items):
            order = None  # an unpaid order of another product is not what the page's question is about
        if order is not None and order.status == "unpaid":
            # The buyer reads the products, not the order number, as what ships free.
            amount, what = order.total, shop.item_names(order)
        elif product is not None:
            amount, what = product.lowest_price, product.name
        if amount is None:
            dispatcher.utter_message(response="utter_free_shipping_rule", threshold=f"{threshold:g}")
        elif amount >= threshold:
            dispatcher.utter_message(
                response="utter_free_shipping_yes", item=what, amount=f"{amount:g}", threshold=f"{threshold:g}"
            )
        else:
            dispatcher.utter_message(
                response="utter_free_shipping_short",
                item=what,
                amount=f"{amount:g}",
                threshold=f"{threshold:g}",
                missing=f"{threshold - amount:g}",
            )
        return []
