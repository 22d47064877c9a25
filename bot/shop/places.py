"""Which courier reaches a place and how long it takes, per the shop policy (data/shop/policy.yml):
the default courier does not reach some provinces (EMS does), remote provinces take longer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.shop.policy import Courier, ShopPolicy


@dataclass(frozen=True)
class ShippingQuote:
    kind: str  # normal | remote | unserved (the courier asked for does not reach the province)
    courier: Courier  # the courier that will carry it
    asked: Courier  # the courier the buyer asked about (or the default one)
    province: Optional[str]
    remote: bool = False  # the province is one of the policy's remote provinces

    @property
    def days(self) -> str:
        return self.courier.remote_days if self.remote else self.courier.days


def reaches(policy: ShopPolicy, courier: str, province: Optional[str]) -> bool:
    if not province:
        return True
    if courier == policy.default_courier:
        return province not in policy.unserved_by_default_courier
    return True


def fallback_courier(policy: ShopPolicy, province: Optional[str]) -> Courier:
    """The cheapest courier other than the default one that reaches the province."""
    others = [c for c in policy.couriers.values() if c.name != policy.default_courier and reaches(policy, c.name, province)]
    return min(others, key=lambda c: c.surcharge)


def quote(policy: ShopPolicy, province: Optional[str], courier_name: Optional[str] = None) -> ShippingQuote:
    asked = policy.couriers.get(courier_name or "") or policy.couriers[policy.default_courier]
    remote = bool(province and province in policy.remote_provinces)
    if not reaches(policy, asked.name, province):
        return ShippingQuote("unserved", fallback_courier(policy, province), asked, province, remote)
    return ShippingQuote("remote" if remote else "normal", asked, asked, province, remote)
