import time

import pytest

from bot.shop.identity import issue_buyer_token, verify_buyer_token
from bot.shop.lexicon import Lexicon
from bot.shop.policy import PolicyError, ShopPolicy
from tests.conftest import ROOT


def test_shop_policy_defaults_follow_the_seeds(policy):
    assert policy.ship_within_hours == 48
    assert policy.default_courier == "韵达"
    assert policy.couriers["EMS"].surcharge == 10 and policy.couriers["顺丰"].surcharge == 20
    assert policy.return_window_days == 7 and policy.quality_postage_refund == 10
    assert policy.price_protection_days == 15 and policy.lowest_discount == 0.9


def test_coupon_deeper_than_lowest_discount_is_refused():
    import yaml

    raw = yaml.safe_load((ROOT / "data/shop/policy.yml").read_text(encoding="utf-8"))
    raw["discounts"]["coupons"] = [{"value": 50, "min_spend": 100}]  # 5折 < 9折
    with pytest.raises(PolicyError):
        ShopPolicy.from_dict(raw)


def test_buyer_tokens_verify_and_expire():
    token = issue_buyer_token("s3cret", "B001", ttl_seconds=60)
    assert verify_buyer_token("s3cret", token) == "B001"
    assert verify_buyer_token("other", token) is None
    assert verify_buyer_token("s3cret", token.replace("B001", "B002", 1)) is None
    assert verify_buyer_token("s3cret", token, now=time.time() + 120) is None
    for junk in (None, "", "a.b", "<script>", "' OR 1=1 --", "x.y.z"):
        assert verify_buyer_token("s3cret", junk) is None


def test_lexicon_normalises_buyer_words():
    lexicon = Lexicon.load(ROOT / "data/shop/lexicon.yml")
    assert lexicon.normalise_color("黑的") == "黑色"
    assert lexicon.normalise_size("xl码") == "XL"
    assert lexicon.normalise_size("37码的") == "37"
    assert lexicon.return_reason("衣服破了个洞") == "quality"
    assert lexicon.return_reason("尺码小了") == "non_quality"
    assert lexicon.compares_with_cheaper_shop("拼多多才卖39")
