"""Answers a buyer who saw the price drop after paying (intent price_difference): compares the paid
and the current price of the same SKU; inside the shop's price-protection window the exact
difference is refunded and recorded, outside it the buyer gets the polite refusal."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from bot.shop.orders.models import Order

PAID_STATES = ("paid", "shipped", "out_for_delivery", "delivered", "exception")


class ActionHandlePriceDifference(ShopAction):
    def name(self) -> Text:
        return "action_handle_price_difference"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        order, asking = shop.grounded_order(
            dispatcher, "price_difference", prefer=lambda o: self.within_window(shop, o) and self.difference(shop, o) > 0
        )
        if order is None:
            return asking
        if order.status not in PAID_STATES or order.paid_at is None:
            dispatcher.utter_message(response="utter_price_not_applicable", order_id=order.id)
            return []
        existing = shop.repository.price_refunds_for_order(order.id)
        if existing:
            dispatcher.utter_message(response="utter_price_refund_exists", order_id=order.id, amount=f"{existing[0].amount:g}")
            return []
        difference = self.difference(shop, order)
        shop.note("amount", f"order_items.{order.id} unit prices - skus current prices")
        if difference <= 0:
            dispatcher.utter_message(response="utter_price_no_drop", order_id=order.id)
            return []
        window = shop.policy.price_protection_days
        if (shop.now() - order.paid_at).total_seconds() > window * 86400:
            dispatcher.utter_message(
                response="utter_price_outside_window",
                order_id=order.id,
                paid_date=shop.format_date(order.paid_at),
                window_days=window,
            )
            dispatcher.utter_message(response="utter_offer_human")
            return []
        refund = shop.repository.create_price_refund(order.id, shop.buyer_id() or order.buyer_id, difference)
        dispatcher.utter_message(
            response="utter_price_refund", order_id=order.id, amount=f"{refund.amount:g}", refund_id=refund.id
        )
        return []

    @staticmethod
    def within_window(shop: ShopContext, order: Order) -> bool:
        window = shop.policy.price_protection_days * 86400
        return order.paid_at is not None and (shop.now() - order.paid_at).total_seconds() <= window

    @staticmethod
    def difference(shop: ShopContext, order: Order) -> float:
        total = 0.0
        for item in order.items:
            product = shop.repository.get_product(item.product_id)
            sku = product.sku(item.color, item.size) if product else None
            if sku is not None and sku.price < item.unit_price:
                total += (item.unit_price - sku.price) * item.qty
        return round(total, 2)
