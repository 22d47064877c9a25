import dataclasses

from actions.answer_haggle import ActionAnswerHaggle
from tests.conftest import make_tracker, run_action


def haggle(domain, text="能便宜点吗", **slots):
    return run_action(ActionAnswerHaggle(), make_tracker(text, "haggle", slots=slots), domain)


def test_first_ask_gets_lowest_price_reply(shop, domain):
    result = haggle(domain)
    assert result.responses == ["utter_haggle_lowest"]
    assert "定价已经是最低销售价格" in result.text
    assert result.slot("haggle_count") == 1.0


def test_second_ask_gets_limited_profit_reply(shop, domain):
    result = haggle(domain, "再优惠点嘛", haggle_count=1.0)
    assert result.responses == ["utter_haggle_profit_limited"]
    assert "利润真的很有限" in result.text
    assert result.slot("haggle_count") == 2.0


def test_cheaper_shop_comparison_stresses_quality_and_service(shop, domain):
    result = haggle(domain, "别家比你便宜二十块")
    assert result.responses == ["utter_haggle_compare"]
    assert "不能保证是淘宝最低价" in result.text


def test_third_ask_offers_the_policy_coupon_once(shop, domain):
    result = haggle(domain, "真的不能少了吗", haggle_count=2.0)
    assert result.responses == ["utter_haggle_coupon"]
    assert result.values("utter_haggle_coupon") == {"coupon_value": "10", "min_spend": "199"}
    assert "满199元减10元" in result.text
    assert result.slot("coupon_offered") is True
    again = haggle(domain, "再少点", haggle_count=3.0, coupon_offered=True)
    assert again.responses == ["utter_haggle_fair"]


def test_no_coupon_in_policy_means_no_coupon_offered(shop, domain, monkeypatch):
    monkeypatch.setattr(shop, "policy", dataclasses.replace(shop.policy, coupons=[]))
    result = haggle(domain, "就便宜一点点", haggle_count=2.0)
    assert result.responses == ["utter_haggle_fair"]
    assert "公平和公正" in result.text
