"""Order repository: protocol, SQL and in-memory implementations, demo data."""

from bot.orders.repository import OrderRepository, RepositoryUnavailable

__all__ = ["OrderRepository", "RepositoryUnavailable", "build_repository"]


def build_repository(url: str) -> OrderRepository:
    """Build the repository named by a URL: ``memory://`` or any SQLAlchemy URL."""
    if url.startswith("memory://"):
        from bot.orders.memory import InMemoryOrderRepository

        return InMemoryOrderRepository()
    from bot.orders.sql import SqlOrderRepository

    return SqlOrderRepository(url)
