"""The order repository: the only way actions and services reach shop data."""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Protocol

from bot.shop.orders.models import Buyer, Order, PriceRefund, Product, ReturnRequest, ShopSnapshot


class RepositoryUnavailable(RuntimeError):
    """The database cannot be reached; callers answer politely and offer a human."""


class OrderRepository(Protocol):
    def list_products(self) -> List[Product]: ...

    def get_product(self, product_id: str) -> Optional[Product]: ...

    def find_product(self, name: str) -> Optional[Product]:
        """By canonical name or alias, case-insensitive."""

    def get_buyer(self, buyer_id: str) -> Optional[Buyer]: ...

    def buyer_names(self, buyer_ids: Iterable[str]) -> Dict[str, str]:
        """id -> name for many buyers at once (unknown ids are left out)."""

    def find_buyers(self, fragment: str, limit: int = 50) -> List[str]:
        """Ids of the buyers whose name contains ``fragment`` or whose id is ``fragment``."""

    def get_order(self, order_id: str) -> Optional[Order]: ...

    def orders_for_buyer(self, buyer_id: str) -> List[Order]:
        """Newest first."""

    def recent_orders(self, limit: int) -> List[Order]:
        """The shop's newest orders (for previews)."""

    def create_return_request(
        self, order_id: str, buyer_id: str, reason: str, kind: str, postage_payer: str
    ) -> ReturnRequest: ...

    def return_requests_for_order(self, order_id: str) -> List[ReturnRequest]:
        """Newest first; withdrawn ones left out (as in the other listings of records)."""

    def return_requests_for_buyer(self, buyer_id: str) -> List[ReturnRequest]:
        """Newest first."""

    def create_price_refund(self, order_id: str, buyer_id: str, amount: float) -> PriceRefund: ...

    def price_refunds_for_order(self, order_id: str) -> List[PriceRefund]:
        """Newest first."""

    # A record the bot made while drafting a reply an agent then rejected, before the buyer saw
    # it: marked withdrawn (only while still "requested"; True when it was), and left out of the
    # listings above from then on.
    def withdraw_return_request(self, request_id: int) -> bool: ...

    def withdraw_price_refund(self, refund_id: int) -> bool: ...

    def import_shop(self, snapshot: ShopSnapshot) -> None:
        """Replace the whole catalogue, buyers and orders (used by the seeder)."""
