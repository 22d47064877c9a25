"""Reads the demo shop (data/shop/demo_shop.yml) into a ShopSnapshot, times relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from bot.shop.orders.models import (
    ORDER_STATES,
    Buyer,
    Order,
    OrderItem,
    PricePoint,
    Product,
    ShopSnapshot,
    Sku,
    TrackingEvent,
)

FADES = ("first_wash", "colorfast", "dry_clean_only", "not_washable")


def _ago(now: datetime, days: Optional[float]) -> Optional[datetime]:
    return None if days is None else _at(now, days)


def _at(now: datetime, days: float) -> datetime:
    """The moment ``days`` days before now, for a time the data must give."""
    return now - timedelta(days=float(days))


def _product(raw: Dict[str, Any], now: datetime) -> Product:
    if raw["fades"] not in FADES:
        raise ValueError(f"product {raw['id']}: fades must be one of {FADES}")
    return Product(
        id=raw["id"],
        name=raw["name"],
        aliases=list(raw.get("aliases", [])),
        category=raw["category"],
        material=raw["material"],
        features=raw.get("features", ""),
        care=raw.get("care", ""),
        fades=raw["fades"],
        quality_note=raw.get("quality_note", ""),
        usage_note=raw.get("usage_note", "") or "",
        image=raw.get("image", ""),
        skus=[
            Sku(
                product_id=raw["id"],
                color=str(s["color"]),
                size=str(s["size"]),
                price=float(s["price"]),
                stock=int(s["stock"]),
                restock_at=(now + timedelta(days=float(s["restock_in_days"]))) if s.get("restock_in_days") is not None else None,
            )
            for s in raw["skus"]
        ],
        price_history=[PricePoint(float(h["price"]), _at(now, h["days_ago"])) for h in raw.get("price_history", [])],
    )


def _order(raw: Dict[str, Any], buyers: Dict[str, Buyer], now: datetime) -> Order:
    if raw["status"] not in ORDER_STATES:
        raise ValueError(f"order {raw['id']}: unknown status {raw['status']!r}")
    buyer = buyers[raw["buyer"]]
    return Order(
        id=str(raw["id"]),
        buyer_id=buyer.id,
        status=raw["status"],
        created_at=_at(now, raw["created_days_ago"]),
        paid_at=_ago(now, raw.get("paid_days_ago")),
        shipped_at=_ago(now, raw.get("shipped_days_ago")),
        delivered_at=_ago(now, raw.get("delivered_days_ago")),
        courier=raw.get("courier"),
        tracking_no=str(raw["tracking_no"]) if raw.get("tracking_no") else None,
        province=raw.get("province", buyer.province),
        address=raw["address"],
        phone=str(raw.get("phone", buyer.phone)),
        items=[
            OrderItem(i["product"], str(i["color"]), str(i["size"]), int(i["qty"]), float(i["unit_price"])) for i in raw["items"]
        ],
        tracking=[
            TrackingEvent(_at(now, e["days_ago"]), e.get("location", ""), e["description"]) for e in raw.get("tracking", [])
        ],
    )


def load_demo_shop(path: Path, now: Optional[datetime] = None) -> ShopSnapshot:
    now = now or datetime.now(timezone.utc)
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    products = [_product(p, now) for p in raw["products"]]
    buyers = {b["id"]: Buyer(id=b["id"], name=b["name"], phone=str(b["phone"]), province=b["province"]) for b in raw["buyers"]}
    orders = [_order(o, buyers, now) for o in raw["orders"]]
    return ShopSnapshot(products=products, buyers=list(buyers.values()), orders=orders)
