"""Plain data records of the shop: catalogue, buyers, orders, tracking, return requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import List, Optional

ORDER_STATES = (
    "unpaid",
    "paid",
    "shipped",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned",
)
IN_TRANSIT = ("shipped", "out_for_delivery", "exception")
RETURN_STATES = ("requested", "approved", "received", "refunded", "rejected")


@dataclass(frozen=True)
class Sku:
    product_id: str
    color: str
    size: str
    price: float
    stock: int
    restock_at: Optional[datetime] = None

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class PricePoint:
    price: float
    effective_from: datetime


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    aliases: List[str]
    category: str
    material: str
    features: str
    care: str
    fades: str  # first_wash | colorfast | dry_clean_only | not_washable
    quality_note: str
    usage_note: str
    image: str
    skus: List[Sku] = field(default_factory=list)
    price_history: List[PricePoint] = field(default_factory=list)

    def sku(self, color: Optional[str], size: Optional[str]) -> Optional[Sku]:
        for sku in self.skus:
            if sku.color == color and sku.size == size:
                return sku
        return None

    def matching_skus(self, color: Optional[str] = None, size: Optional[str] = None) -> List[Sku]:
        return [s for s in self.skus if (color is None or s.color == color) and (size is None or s.size == size)]

    @property
    def colors(self) -> List[str]:
        return list(dict.fromkeys(s.color for s in self.skus))

    @property
    def sizes(self) -> List[str]:
        return list(dict.fromkeys(s.size for s in self.skus))

    @property
    def in_stock(self) -> bool:
        return any(s.in_stock for s in self.skus)

    @property
    def lowest_price(self) -> float:
        return min(s.price for s in self.skus)


@dataclass(frozen=True)
class Buyer:
    id: str
    name: str
    phone: str
    province: str


@dataclass(frozen=True)
class OrderItem:
    product_id: str
    color: str
    size: str
    qty: int
    unit_price: float


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    location: str
    description: str


@dataclass(frozen=True)
class Order:
    id: str
    buyer_id: str
    status: str
    created_at: datetime
    province: str
    address: str
    phone: str
    paid_at: Optional[datetime] = None
    shipped_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    courier: Optional[str] = None
    tracking_no: Optional[str] = None
    items: List[OrderItem] = field(default_factory=list)
    tracking: List[TrackingEvent] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(i.unit_price * i.qty for i in self.items), 2)

    def phone_tail_matches(self, tail: Optional[str]) -> bool:
        if not tail:
            return False
        return len(tail) == 4 and self.phone.endswith(tail)


# Status of a return request or price refund the bot has just recorded, and of one withdrawn
# because an agent rejected the reply announcing it before the buyer saw it.
REQUESTED = "requested"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ReturnRequest:
    id: int
    order_id: str
    buyer_id: str
    reason: str  # quality | non_quality
    kind: str  # refund | exchange
    postage_payer: str  # seller | buyer
    status: str  # requested | approved | received | refunded | rejected | withdrawn
    created_at: datetime


@dataclass(frozen=True)
class PriceRefund:
    """Price protection: the difference between the paid and the current price, refunded once per order."""

    id: int
    order_id: str
    buyer_id: str
    amount: float
    status: str  # requested | refunded | withdrawn
    created_at: datetime


@dataclass
class ShopSnapshot:
    """Everything the seeder loads into a repository in one go."""

    products: List[Product] = field(default_factory=list)
    buyers: List[Buyer] = field(default_factory=list)
    orders: List[Order] = field(default_factory=list)
