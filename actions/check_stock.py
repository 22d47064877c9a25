"""ask_stock: is the product / colour / size in stock; alternatives and restock date if not."""

from __future__ import annotations

from typing import List, Optional, Text

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext
from bot.shop.orders.models import Product, Sku

# An alternative product is called "about the same price" only within this share of the price.
SIMILAR_PRICE = 0.2


class ActionCheckStock(ShopAction):
    def name(self) -> Text:
        return "action_check_stock"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        product = shop.product_in_focus()
        if product is None:
            dispatcher.utter_message(response="utter_ask_which_product")
            return [SlotSet("pending_question", "ask_stock")]
        shop.remember_product(product)
        color, size = shop.color(), shop.size_of(product)
        if (color and color not in product.colors) or (size and size not in product.sizes):
            dispatcher.utter_message(
                response="utter_stock_no_such_variant",
                product=product.name,
                variant=" ".join(v for v in (color, size) if v),
                colors=shop.lexicon.join(product.colors),
                sizes=shop.lexicon.join(shop.lexicon.sort_sizes(product.sizes)),
            )
            return [SlotSet("pending_question", None)]

        wanted = product.matching_skus(color, size)
        available = [s for s in wanted if s.in_stock]
        shop.note("price", f"skus.{product.id} {color or '*'}/{size or '*'}")
        variant = " ".join(v for v in (color, size) if v)
        if available:
            self._utter_available(dispatcher, shop, product, color, size, available)
        else:
            dispatcher.utter_message(
                response="utter_stock_out",
                product=product.name,
                variant=variant or product.name,
            )
            restock = self._restock_date(wanted)
            if restock is not None:
                dispatcher.utter_message(response="utter_stock_restock", restock_date=shop.format_date(restock))
            self._utter_alternative(dispatcher, shop, product, color, size)
        # The card shows what the buyer asked about: a sold-out variant is not shown as in stock.
        dispatcher.utter_message(json_message=shop.product_card(product, in_stock=bool(available)))
        return [SlotSet("pending_question", None)]

    @staticmethod
    def _utter_available(dispatcher, shop: ShopContext, product: Product, color, size, available: List[Sku]) -> None:
        if color and size:
            dispatcher.utter_message(
                response="utter_stock_available_sku",
                product=product.name,
                color=color,
                size=size,
                price=f"{available[0].price:g}",
            )
        elif color or size:
            dispatcher.utter_message(
                response="utter_stock_available_partial",
                product=product.name,
                variant=color or size,
                options=shop.lexicon.join(
                    shop.lexicon.sort_sizes(dict.fromkeys(s.size for s in available))
                    if color
                    else dict.fromkeys(s.color for s in available)
                ),
            )
        else:
            dispatcher.utter_message(
                response="utter_stock_available_product",
                product=product.name,
                colors=shop.lexicon.join(dict.fromkeys(s.color for s in available)),
                sizes=shop.lexicon.join(shop.lexicon.sort_sizes(dict.fromkeys(s.size for s in available))),
            )

    @staticmethod
    def _restock_date(skus: List[Sku]):
        dates = [s.restock_at for s in skus if s.restock_at is not None]
        return min(dates) if dates else None

    @staticmethod
    def _utter_alternative(dispatcher, shop: ShopContext, product: Product, color: Optional[str], size: Optional[str]) -> None:
        # First choice: the same product in the buyer's size (or colour) with another variant in stock.
        if color or size:
            siblings = [
                s for s in product.skus if s.in_stock and ((size and s.size == size) or (not size and color and s.color != color))
            ]
            if siblings:
                dispatcher.utter_message(
                    response="utter_stock_alternative_variant",
                    product=product.name,
                    options=shop.lexicon.join(dict.fromkeys(f"{s.color} {s.size}" for s in siblings)),
                )
                return
        # Otherwise: an in-stock product of the same category, closest in price.
        candidates = [
            p for p in shop.repository.list_products() if p.id != product.id and p.category == product.category and p.in_stock
        ]
        if candidates:
            best = min(candidates, key=lambda p: abs(p.lowest_price - product.lowest_price))
            similar = abs(best.lowest_price - product.lowest_price) <= SIMILAR_PRICE * product.lowest_price
            dispatcher.utter_message(
                response="utter_stock_alternative_product" if similar else "utter_stock_alternative_product_other_price",
                alternative=best.name,
                price=f"{best.lowest_price:g}",
            )
        else:
            dispatcher.utter_message(response="utter_offer_human")
