"""The shop policy (data/shop/policy.yml): ship times, couriers, returns, discounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml


class PolicyError(ValueError):
    """The policy file is inconsistent (e.g. a coupon deeper than the lowest discount)."""


@dataclass(frozen=True)
class Courier:
    name: str
    surcharge: float
    days: str
    remote_days: str


@dataclass(frozen=True)
class Coupon:
    value: float
    min_spend: float

    @property
    def deepest_discount(self) -> float:
        """Price ratio the buyer pays at the coupon's minimum spend (0.95 = 95 %)."""
        return (self.min_spend - self.value) / self.min_spend


@dataclass(frozen=True)
class ShopPolicy:
    timezone: str
    ship_within_hours: int
    overdue_new_promise_hours: int
    default_courier: str
    couriers: Dict[str, Courier]
    unserved_by_default_courier: List[str]
    remote_provinces: List[str]
    free_shipping_threshold: float
    stuck_after_days: float
    return_window_days: int
    quality_postage_refund: float
    price_protection_days: int
    lowest_discount: float
    coupons: List[Coupon] = field(default_factory=list)
    subjective_compensation: float = 0
    gift: Optional[str] = None

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "ShopPolicy":
        shipping = raw["shipping"]
        discounts = raw.get("discounts", {})
        policy = cls(
            timezone=raw.get("timezone", "Asia/Shanghai"),
            ship_within_hours=int(shipping["ship_within_hours"]),
            overdue_new_promise_hours=int(shipping.get("overdue_new_promise_hours", 24)),
            default_courier=shipping["default_courier"],
            couriers={
                name: Courier(
                    name=name,
                    surcharge=float(spec.get("surcharge", 0)),
                    days=str(spec["days"]),
                    remote_days=str(spec.get("remote_days", spec["days"])),
                )
                for name, spec in shipping["couriers"].items()
            },
            unserved_by_default_courier=list(shipping.get("unserved_by_default_courier", [])),
            remote_provinces=list(shipping.get("remote_provinces", [])),
            free_shipping_threshold=float(shipping.get("free_shipping_threshold", 0)),
            stuck_after_days=float(shipping.get("stuck_after_days", 2)),
            return_window_days=int(raw["returns"]["window_days"]),
            quality_postage_refund=float(raw["returns"].get("quality_postage_refund", 0)),
            price_protection_days=int(raw.get("price_protection", {}).get("window_days", 0)),
            lowest_discount=float(discounts.get("lowest_discount", 1.0)),
            coupons=[Coupon(float(c["value"]), float(c["min_spend"])) for c in discounts.get("coupons", [])],
            subjective_compensation=float(raw.get("compensation", {}).get("subjective_complaint", 0)),
            gift=raw.get("gift"),
        )
        policy.check()
        return policy

    @classmethod
    def load(cls, path: Path) -> "ShopPolicy":
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle))

    def check(self) -> None:
        if self.default_courier not in self.couriers:
            raise PolicyError(f"default courier {self.default_courier!r} has no entry in couriers")
        if not 0 < self.lowest_discount <= 1:
            raise PolicyError("lowest_discount must be in (0, 1]")
        for coupon in self.coupons:
            if coupon.value <= 0 or coupon.min_spend <= coupon.value:
                raise PolicyError(f"coupon {coupon} must be positive and below its minimum spend")
            if coupon.deepest_discount < self.lowest_discount:
                raise PolicyError(f"coupon {coupon} would discount below the lowest discount {self.lowest_discount}")

    def best_coupon(self) -> Optional[Coupon]:
        """The coupon staff may offer: the largest one (all are within the lowest discount)."""
        return max(self.coupons, key=lambda c: c.value, default=None)
