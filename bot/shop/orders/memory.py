"""In-memory order repository: the local mode for tests (same behaviour as the SQL one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, TypeVar

from bot.shop.orders.models import REQUESTED, WITHDRAWN, Buyer, Order, PriceRefund, Product, ReturnRequest, ShopSnapshot


class InMemoryOrderRepository:
    def __init__(self, snapshot: Optional[ShopSnapshot] = None) -> None:
        self._products: Dict[str, Product] = {}
        self._buyers: Dict[str, Buyer] = {}
        self._orders: Dict[str, Order] = {}
        self._returns: List[ReturnRequest] = []
        self._price_refunds: List[PriceRefund] = []
        if snapshot is not None:
            self.import_shop(snapshot)

    def import_shop(self, snapshot: ShopSnapshot) -> None:
        self._products = {p.id: p for p in snapshot.products}
        self._buyers = {b.id: b for b in snapshot.buyers}
        self._orders = {o.id: o for o in snapshot.orders}
        self._returns = []
        self._price_refunds = []

    def list_products(self) -> List[Product]:
        return sorted(self._products.values(), key=lambda p: p.id)

    def get_product(self, product_id: str) -> Optional[Product]:
        return self._products.get(product_id)

    def find_product(self, name: str) -> Optional[Product]:
        wanted = name.strip().lower()
        for product in self.list_products():
            if wanted == product.name.lower() or wanted in (a.lower() for a in product.aliases):
                return product
        return None

    def get_buyer(self, buyer_id: str) -> Optional[Buyer]:
        return self._buyers.get(buyer_id)

    def buyer_names(self, buyer_ids: Iterable[str]) -> Dict[str, str]:
        return {i: self._buyers[i].name for i in set(buyer_ids) if i in self._buyers}

    def find_buyers(self, fragment: str, limit: int = 50) -> List[str]:
        found = [b.id for b in self._buyers.values() if fragment and (fragment in b.name or fragment == b.id)]
        return sorted(found)[:limit]

    def get_order(self, order_id: str) -> Optional[Order]:
        return self._orders.get(order_id)

    def orders_for_buyer(self, buyer_id: str) -> List[Order]:
        orders = [o for o in self._orders.values() if o.buyer_id == buyer_id]
        return sorted(orders, key=lambda o: o.created_at, reverse=True)

    def recent_orders(self, limit: int) -> List[Order]:
        return sorted(self._orders.values(), key=lambda o: o.created_at, reverse=True)[:limit]

    def create_return_request(self, order_id: str, buyer_id: str, reason: str, kind: str, postage_payer: str) -> ReturnRequest:
        request = ReturnRequest(
            id=len(self._returns) + 1,
            order_id=order_id,
            buyer_id=buyer_id,
            reason=reason,
            kind=kind,
            postage_payer=postage_payer,
            status=REQUESTED,
            created_at=datetime.now(timezone.utc),
        )
        self._returns.append(request)
        return request

    def return_requests_for_order(self, order_id: str) -> List[ReturnRequest]:
        return [r for r in reversed(self._returns) if r.order_id == order_id and r.status != WITHDRAWN]

    def return_requests_for_buyer(self, buyer_id: str) -> List[ReturnRequest]:
        return [r for r in reversed(self._returns) if r.buyer_id == buyer_id and r.status != WITHDRAWN]

    def withdraw_return_request(self, request_id: int) -> bool:
        return _withdraw(self._returns, request_id)

    def create_price_refund(self, order_id: str, buyer_id: str, amount: float) -> PriceRefund:
        refund = PriceRefund(
            id=len(self._price_refunds) + 1,
            order_id=order_id,
            buyer_id=buyer_id,
            amount=round(amount, 2),
            status=REQUESTED,
            created_at=datetime.now(timezone.utc),
        )
        self._price_refunds.append(refund)
        return refund

    def price_refunds_for_order(self, order_id: str) -> List[PriceRefund]:
        return [r for r in reversed(self._price_refunds) if r.order_id == order_id and r.status != WITHDRAWN]

    def withdraw_price_refund(self, refund_id: int) -> bool:
        return _withdraw(self._price_refunds, refund_id)


Record = TypeVar("Record", ReturnRequest, PriceRefund)


def _withdraw(records: List[Record], record_id: int) -> bool:
    """Marks the record ``record_id`` withdrawn while it is still requested (see the repository)."""
    for index, record in enumerate(records):
        if record.id == record_id and record.status == REQUESTED:
            records[index] = replace(record, status=WITHDRAWN)
            return True
    return False
