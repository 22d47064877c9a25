"""What the actions need at run time, built once when the action server starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.settings import Settings
from bot.shop.lexicon import Lexicon
from bot.shop.orders import OrderRepository, build_repository
from bot.shop.phone_lock import PhoneTailLocks
from bot.shop.policy import ShopPolicy
from bot.shop.size_chart import SizeChart


@dataclass
class ShopServices:
    repository: OrderRepository
    policy: ShopPolicy
    lexicon: Lexicon
    size_chart: SizeChart
    buyer_token_secret: str
    phone_locks: Optional[PhoneTailLocks] = None  # None: phone tails are not counted (unit tests)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ShopServices":
        return cls(
            repository=build_repository(settings.orders_db_url),
            policy=ShopPolicy.load(settings.policy_file),
            lexicon=Lexicon.load(settings.lexicon_file),
            size_chart=SizeChart.load(settings.size_chart_file),
            buyer_token_secret=settings.buyer_token_secret,
            phone_locks=PhoneTailLocks(settings.orders_db_url),
        )


_installed: Optional[ShopServices] = None


def install(services: Optional[ShopServices]) -> None:
    global _installed
    _installed = services


def current() -> ShopServices:
    if _installed is None:
        raise RuntimeError("shop services are not installed: start the action server with `python -m bot actions`")
    return _installed
