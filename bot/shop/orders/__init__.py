"""Order repository: protocol, SQL and in-memory implementations, demo data."""

from bot.shop.orders.repository import OrderRepository, RepositoryUnavailable

__all__ = ["OrderRepository", "RepositoryUnavailable", "build_repository"]


def build_repository(url: str) -> OrderRepository:
    """Build the repository named by a URL: ``memory://`` or any SQLAlchemy URL."""
    if url.startswith("memory://"):
        from bot.shop.orders.memory import InMemoryOrderRepository

        return InMemoryOrderRepository()
    from bot.shop.orders.sql import SqlOrderRepository

    return SqlOrderRepository(url)
