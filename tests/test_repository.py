"""The SQL repository against a real SQLite file behaves like the in-memory one."""

from datetime import datetime, timezone

import pytest

from bot.db_schema import SHOP
from bot.shop.orders import RepositoryUnavailable
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.orders.memory import InMemoryOrderRepository
from bot.shop.orders.models import ORDER_STATES
from bot.shop.orders.sql import SqlOrderRepository
from tests.conftest import ROOT, migrated

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def snapshot():
    return load_demo_shop(ROOT / "data/shop/demo_shop.yml", now=NOW)


@pytest.fixture
def sql(tmp_path, snapshot):
    repository = SqlOrderRepository(migrated(f"sqlite:///{tmp_path / 'shop.db'}", SHOP))
    repository.import_shop(snapshot)
    yield repository
    repository.close()


def test_demo_shop_has_the_promised_variety(snapshot):
    assert len(snapshot.products) >= 10
    assert len({p.material for p in snapshot.products}) == len(snapshot.products)
    assert len(snapshot.orders) >= 30 and len({o.buyer_id for o in snapshot.orders}) >= 5
    for state in ORDER_STATES:
        assert sum(o.status == state for o in snapshot.orders) >= 3, state
    skus = [s for p in snapshot.products for s in p.skus]
    assert any(s.stock == 0 and s.restock_at for s in skus) and any(s.stock == 0 and not s.restock_at for s in skus)
    assert all(o.tracking for o in snapshot.orders if o.status in ("shipped", "delivered", "exception"))


def test_sql_and_memory_repositories_agree(sql, snapshot):
    memory = InMemoryOrderRepository(snapshot)
    assert sql.list_products() == memory.list_products()
    for order in snapshot.orders:
        assert sql.get_order(order.id) == memory.get_order(order.id)
    for buyer in snapshot.buyers:
        assert [o.id for o in sql.orders_for_buyer(buyer.id)] == [o.id for o in memory.orders_for_buyer(buyer.id)]
        assert sql.get_buyer(buyer.id) == buyer


def test_times_come_back_as_utc(sql):
    order = sql.get_order("260318273645019283")
    assert order.delivered_at.tzinfo is not None
    assert abs((NOW - order.delivered_at).total_seconds() - 2 * 86400) < 1


def test_product_found_by_alias_case_insensitively(sql):
    assert sql.find_product("t恤").name == "纯棉T恤"
    assert sql.find_product("被子").name == "羽绒被"
    assert sql.find_product("不存在的东西") is None


def test_unknown_order_is_none(sql):
    assert sql.get_order("0000000000000000") is None
    assert sql.get_order("' OR 1=1 --") is None


def test_return_requests_are_stored_and_survive_reopening(sql, tmp_path):
    first = sql.create_return_request("260318273645019283", "B001", "quality", "refund", "seller")
    second = sql.create_return_request("260318273645019283", "B001", "non_quality", "exchange", "buyer")
    assert second.id > first.id
    reopened = SqlOrderRepository(f"sqlite:///{tmp_path / 'shop.db'}")
    stored = reopened.return_requests_for_order("260318273645019283")
    assert [r.id for r in stored] == [second.id, first.id]
    assert stored[1].reason == "quality" and stored[1].status == "requested" and stored[1].created_at.tzinfo
    assert [r.id for r in reopened.return_requests_for_buyer("B001")] == [second.id, first.id]
    assert reopened.return_requests_for_buyer("B002") == []
    reopened.close()


def test_unreachable_database_raises_repository_unavailable(tmp_path):
    repository = SqlOrderRepository(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    with pytest.raises(RepositoryUnavailable):
        repository.get_order("260318273645019283")


def test_price_refunds_are_stored(sql):
    refund = sql.create_price_refund("260309375521804617", "B003", 20.0)
    [stored] = sql.price_refunds_for_order("260309375521804617")
    assert stored == refund and stored.amount == 20.0 and stored.status == "requested"


@pytest.fixture(params=["sql", "memory"])
def either(request, sql, snapshot):
    if request.param == "sql":
        return sql
    memory = InMemoryOrderRepository()
    memory.import_shop(snapshot)
    return memory


def test_a_withdrawn_record_is_left_out_of_every_listing(either):
    order = "260318273645019283"
    kept = either.create_return_request(order, "B001", "quality", "refund", "seller")
    rejected = either.create_return_request(order, "B001", "non_quality", "exchange", "buyer")
    refund = either.create_price_refund(order, "B001", 20.0)
    assert either.withdraw_return_request(rejected.id) and either.withdraw_price_refund(refund.id)
    assert [r.id for r in either.return_requests_for_order(order)] == [kept.id]
    assert [r.id for r in either.return_requests_for_buyer("B001")] == [kept.id]
    assert either.price_refunds_for_order(order) == []
    # only once, and never an unknown record
    assert not either.withdraw_return_request(rejected.id) and not either.withdraw_price_refund(refund.id)
    assert not either.withdraw_return_request(999999) and not either.withdraw_price_refund(999999)
