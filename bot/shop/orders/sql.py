"""SQL order repository (SQLAlchemy 1.4 Core): SQLite by default, PostgreSQL by URL. The tables
are in bot.db_schema; bot.db_migrate.upgrade creates them."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.db import create_engine
from bot.db_schema import (
    SHOP_CONTENT,
    buyers,
    order_items,
    orders,
    price_history,
    price_refunds,
    products,
    return_requests,
    skus,
    tracking_events,
)
from bot.shop.orders.models import (
    REQUESTED,
    WITHDRAWN,
    Buyer,
    Order,
    OrderItem,
    PricePoint,
    PriceRefund,
    Product,
    ReturnRequest,
    ShopSnapshot,
    Sku,
    TrackingEvent,
)
from bot.shop.orders.repository import RepositoryUnavailable

T = TypeVar("T")


def _unavailable_on_connection_error(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            raise RepositoryUnavailable(str(error.orig or error)) from error

    return wrapper


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if moment is None:
        return None
    return _utc_at(moment)


def _utc_at(moment: datetime) -> datetime:
    """``_utc`` of a NOT NULL column."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class SqlOrderRepository:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    # -- catalogue -------------------------------------------------------------------------
    def _products(self, where: Any = None) -> List[Product]:
        with self.engine.connect() as conn:
            query = sa.select(products).order_by(products.c.id)
            if where is not None:
                query = query.where(where)
            rows = conn.execute(query).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            sku_rows = (
                conn.execute(sa.select(skus).where(skus.c.product_id.in_(ids)).order_by(skus.c.product_id, skus.c.position))
                .mappings()
                .all()
            )
            history_rows = (
                conn.execute(
                    sa.select(price_history).where(price_history.c.product_id.in_(ids)).order_by(price_history.c.effective_from)
                )
                .mappings()
                .all()
            )
        result = []
        for row in rows:
            result.append(
                Product(
                    id=row["id"],
                    name=row["name"],
                    aliases=json.loads(row["aliases"]),
                    category=row["category"],
                    material=row["material"],
                    features=row["features"],
                    care=row["care"],
                    fades=row["fades"],
                    quality_note=row["quality_note"],
                    usage_note=row["usage_note"],
                    image=row["image"],
                    skus=[
                        Sku(
                            product_id=s["product_id"],
                            color=s["color"],
                            size=s["size"],
                            price=float(s["price"]),
                            stock=s["stock"],
                            restock_at=_utc(s["restock_at"]),
                        )
                        for s in sku_rows
                        if s["product_id"] == row["id"]
                    ],
                    price_history=[
                        PricePoint(float(h["price"]), _utc_at(h["effective_from"]))
                        for h in history_rows
                        if h["product_id"] == row["id"]
                    ],
                )
            )
        return result

    @_unavailable_on_connection_error
    def list_products(self) -> List[Product]:
        return self._products()

    @_unavailable_on_connection_error
    def get_product(self, product_id: str) -> Optional[Product]:
        found = self._products(products.c.id == product_id)
        return found[0] if found else None

    @_unavailable_on_connection_error
    def find_product(self, name: str) -> Optional[Product]:
        wanted = name.strip().lower()
        for product in self._products():
            if wanted == product.name.lower() or wanted in (a.lower() for a in product.aliases):
                return product
        return None

    # -- buyers and orders -----------------------------------------------------------------
    @_unavailable_on_connection_error
    def get_buyer(self, buyer_id: str) -> Optional[Buyer]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(buyers).where(buyers.c.id == buyer_id)).mappings().first()
        return Buyer(**row) if row else None

    @_unavailable_on_connection_error
    def buyer_names(self, buyer_ids: Iterable[str]) -> Dict[str, str]:
        ids = list(set(buyer_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(buyers.c.id, buyers.c.name).where(buyers.c.id.in_(ids))).all()
        return {buyer_id: name for buyer_id, name in rows}

    @_unavailable_on_connection_error
    def find_buyers(self, fragment: str, limit: int = 50) -> List[str]:
        if not fragment:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(buyers.c.id)
                .where(sa.or_(buyers.c.name.contains(fragment, autoescape=True), buyers.c.id == fragment))
                .order_by(buyers.c.id)
                .limit(limit)
            ).all()
        return [row[0] for row in rows]

    def _orders(self, where: Any) -> List[Order]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(orders).where(where).order_by(orders.c.created_at.desc())).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            item_rows = (
                conn.execute(sa.select(order_items).where(order_items.c.order_id.in_(ids)).order_by(order_items.c.id))
                .mappings()
                .all()
            )
            event_rows = (
                conn.execute(
                    sa.select(tracking_events)
                    .where(tracking_events.c.order_id.in_(ids))
                    .order_by(tracking_events.c.at, tracking_events.c.id)
                )
                .mappings()
                .all()
            )
        return [
            Order(
                id=row["id"],
                buyer_id=row["buyer_id"],
                status=row["status"],
                created_at=_utc_at(row["created_at"]),
                paid_at=_utc(row["paid_at"]),
                shipped_at=_utc(row["shipped_at"]),
                delivered_at=_utc(row["delivered_at"]),
                courier=row["courier"],
                tracking_no=row["tracking_no"],
                province=row["province"],
                address=row["address"],
                phone=row["phone"],
                items=[
                    OrderItem(i["product_id"], i["color"], i["size"], i["qty"], float(i["unit_price"]))
                    for i in item_rows
                    if i["order_id"] == row["id"]
                ],
                tracking=[
                    TrackingEvent(_utc_at(e["at"]), e["location"], e["description"])
                    for e in event_rows
                    if e["order_id"] == row["id"]
                ],
            )
            for row in rows
        ]

    @_unavailable_on_connection_error
    def get_order(self, order_id: str) -> Optional[Order]:
        found = self._orders(orders.c.id == order_id)
        return found[0] if found else None

    @_unavailable_on_connection_error
    def orders_for_buyer(self, buyer_id: str) -> List[Order]:
        return self._orders(orders.c.buyer_id == buyer_id)

    @_unavailable_on_connection_error
    def recent_orders(self, limit: int) -> List[Order]:
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.select(orders.c.id).order_by(orders.c.created_at.desc()).limit(limit))]
        return self._orders(orders.c.id.in_(ids)) if ids else []

    # -- return requests -------------------------------------------------------------------
    @staticmethod
    def _return_request(row: Any) -> ReturnRequest:
        values = dict(row)
        values["created_at"] = _utc(values["created_at"])
        return ReturnRequest(**values)

    @_unavailable_on_connection_error
    def create_return_request(self, order_id: str, buyer_id: str, reason: str, kind: str, postage_payer: str) -> ReturnRequest:
        values: Dict[str, Any] = dict(
            order_id=order_id,
            buyer_id=buyer_id,
            reason=reason,
            kind=kind,
            postage_payer=postage_payer,
            status=REQUESTED,
            created_at=datetime.now(timezone.utc),
        )
        with self.engine.begin() as conn:
            new_id = conn.execute(return_requests.insert().values(**values)).inserted_primary_key[0]
        return ReturnRequest(id=new_id, **values)

    def _returns(self, where: Any) -> List[ReturnRequest]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(return_requests).where(where).order_by(return_requests.c.id.desc())).mappings().all()
        return [self._return_request(r) for r in rows]

    @_unavailable_on_connection_error
    def return_requests_for_order(self, order_id: str) -> List[ReturnRequest]:
        return self._returns(sa.and_(return_requests.c.order_id == order_id, return_requests.c.status != WITHDRAWN))

    @_unavailable_on_connection_error
    def return_requests_for_buyer(self, buyer_id: str) -> List[ReturnRequest]:
        return self._returns(sa.and_(return_requests.c.buyer_id == buyer_id, return_requests.c.status != WITHDRAWN))

    @_unavailable_on_connection_error
    def withdraw_return_request(self, request_id: int) -> bool:
        return self._withdraw(return_requests, request_id)

    @_unavailable_on_connection_error
    def withdraw_price_refund(self, refund_id: int) -> bool:
        return self._withdraw(price_refunds, refund_id)

    def _withdraw(self, table: sa.Table, record_id: int) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(
                table.update().where(table.c.id == record_id, table.c.status == REQUESTED).values(status=WITHDRAWN)
            ).rowcount
        return bool(changed)

    @_unavailable_on_connection_error
    def create_price_refund(self, order_id: str, buyer_id: str, amount: float) -> PriceRefund:
        values: Dict[str, Any] = dict(
            order_id=order_id,
            buyer_id=buyer_id,
            amount=round(amount, 2),
            status=REQUESTED,
            created_at=datetime.now(timezone.utc),
        )
        with self.engine.begin() as conn:
            new_id = conn.execute(price_refunds.insert().values(**values)).inserted_primary_key[0]
        return PriceRefund(id=new_id, **values)

    @_unavailable_on_connection_error
    def price_refunds_for_order(self, order_id: str) -> List[PriceRefund]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(price_refunds)
                    .where(price_refunds.c.order_id == order_id, price_refunds.c.status != WITHDRAWN)
                    .order_by(price_refunds.c.id.desc())
                )
                .mappings()
                .all()
            )
        return [PriceRefund(**{**dict(r), "created_at": _utc(r["created_at"])}) for r in rows]

    # -- seeding ---------------------------------------------------------------------------
    @staticmethod
    def _clear(conn: Any) -> None:
        if conn.dialect.name == "postgresql":
            # The id sequences start again at 1, as after the tables were first created.
            names = ", ".join(table.name for table in SHOP_CONTENT)
            conn.execute(sa.text(f"TRUNCATE TABLE {names} RESTART IDENTITY"))
            return
        for table in reversed(sa.schema.sort_tables(SHOP_CONTENT)):  # rows that refer to others first
            conn.execute(table.delete())

    @_unavailable_on_connection_error
    def import_shop(self, snapshot: ShopSnapshot) -> None:
        """Replaces the shop's content (catalogue, buyers, orders, returns, refunds) with ``snapshot``
        in one transaction; the tables must exist (bot.db_migrate.upgrade)."""
        with self.engine.begin() as conn:
            self._clear(conn)
            for p in snapshot.products:
                conn.execute(
                    products.insert().values(
                        id=p.id,
                        name=p.name,
                        aliases=json.dumps(p.aliases, ensure_ascii=False),
                        category=p.category,
                        material=p.material,
                        features=p.features,
                        care=p.care,
                        fades=p.fades,
                        quality_note=p.quality_note,
                        usage_note=p.usage_note,
                        image=p.image,
                    )
                )
                for position, s in enumerate(p.skus):
                    conn.execute(
                        skus.insert().values(
                            product_id=p.id,
                            color=s.color,
                            size=s.size,
                            price=s.price,
                            stock=s.stock,
                            restock_at=s.restock_at,
                            position=position,
                        )
                    )
                for h in p.price_history:
                    conn.execute(price_history.insert().values(product_id=p.id, price=h.price, effective_from=h.effective_from))
            for b in snapshot.buyers:
                conn.execute(buyers.insert().values(id=b.id, name=b.name, phone=b.phone, province=b.province))
            for o in snapshot.orders:
                conn.execute(
                    orders.insert().values(
                        id=o.id,
                        buyer_id=o.buyer_id,
                        status=o.status,
                        created_at=o.created_at,
                        paid_at=o.paid_at,
                        shipped_at=o.shipped_at,
                        delivered_at=o.delivered_at,
                        courier=o.courier,
                        tracking_no=o.tracking_no,
                        province=o.province,
                        address=o.address,
                        phone=o.phone,
                    )
                )
                for i in o.items:
                    conn.execute(
                        order_items.insert().values(
                            order_id=o.id,
                            product_id=i.product_id,
                            color=i.color,
                            size=i.size,
                            qty=i.qty,
                            unit_price=i.unit_price,
                        )
                    )
                for e in o.tracking:
                    conn.execute(
                        tracking_events.insert().values(order_id=o.id, at=e.at, location=e.location, description=e.description)
                    )
