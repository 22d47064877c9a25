"""Courier reach and days per place (bot/shop/places.py) and the lexicon's place, size and care words."""

from bot.shop.lexicon import Lexicon
from bot.shop.places import quote
from bot.shop.policy import ShopPolicy
from tests.conftest import ROOT

POLICY = ShopPolicy.load(ROOT / "data/shop/policy.yml")
LEXICON = Lexicon.load(ROOT / "data/shop/lexicon.yml")


def test_default_courier_to_an_ordinary_province():
    result = quote(POLICY, "浙江省")
    assert (result.kind, result.courier.name, result.days) == ("normal", "韵达", "3")


def test_remote_province_takes_the_couriers_remote_days():
    assert quote(POLICY, "新疆维吾尔自治区").days == "5"
    assert quote(POLICY, "新疆维吾尔自治区", "顺丰").days == "4"


def test_a_province_the_default_courier_does_not_reach_gets_ems():
    result = quote(POLICY, "西藏自治区")
    assert (result.kind, result.asked.name, result.courier.name, result.days) == ("unserved", "韵达", "EMS", "7")
    assert quote(POLICY, "西藏自治区", "顺丰").kind != "unserved"


def test_places_by_province_short_name_and_city():
    assert LEXICON.places_named("亲 我在成都 顺丰几天能到") == [("四川省", "成都")]
    assert LEXICON.places_named("发西藏能到吗") == [("西藏自治区", "西藏")]
    assert LEXICON.places_named("新疆乌鲁木齐") == [("新疆维吾尔自治区", "新疆")]
    assert LEXICON.places_named("这件有货吗") == []


def test_sizes_sort_and_compare_loosely():
    assert LEXICON.sort_sizes(["28", "29", "30", "31", "27", "32"]) == ["27", "28", "29", "30", "31", "32"]
    assert LEXICON.sort_sizes(["XL", "M", "S", "XXL", "L"]) == ["S", "M", "L", "XL", "XXL"]
    assert LEXICON.size_key("200X230") == LEXICON.size_key("200x230cm") == LEXICON.size_key("200*230")


def test_care_topics():
    assert LEXICON.care_topic("这个洗了会缩水吗") == "shrink"
    assert LEXICON.care_topic("会起球吗") == "pilling"
    assert LEXICON.care_topic("洗了会变形吗") == "deform"
    assert LEXICON.care_topic("会掉色吗") == "fading"
    assert LEXICON.care_topic("能机洗吗") == "washing"
