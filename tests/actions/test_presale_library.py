"""Pre-sale replies of the library: courier, arrival, free shipping, quality, material, usage,
gift, picture mismatch, size."""

import asyncio
import dataclasses

from rasa_sdk.executor import CollectingDispatcher

from actions.answer_material import ActionAnswerMaterial
from actions.answer_picture_mismatch import ActionAnswerPictureMismatch
from actions.answer_quality import ActionAnswerQuality
from actions.answer_usage import ActionAnswerUsage
from actions.ask_height_cm import ActionAskHeightCm
from actions.recommend_size import ActionRecommendSize
from actions.tell_arrival_time import ActionTellArrivalTime
from actions.tell_courier import ActionTellCourier
from actions.tell_free_shipping import ActionTellFreeShipping
from actions.tell_gift import ActionTellGift
from actions.validate_size_form import ValidateSizeForm
from tests.conftest import make_tracker, run_action, token_for


def test_courier_default_lists_other_couriers_with_surcharges(shop, domain):
    result = run_action(ActionTellCourier(), make_tracker("发什么快递", "ask_courier"), domain)
    assert result.responses == ["utter_courier_default"]
    assert "默认是发韵达快递哦" in result.text
    assert "EMS补邮费10元" in result.text and "顺丰补邮费20元" in result.text


def test_courier_with_surcharge(shop, domain):
    result = run_action(ActionTellCourier(), make_tracker("能发顺丰吗", "ask_courier", {"courier": "顺丰"}), domain)
    assert result.values("utter_courier_with_surcharge") == {"courier": "顺丰", "surcharge": "20", "days": "2"}


def test_lowercase_ems_is_recognised(shop, domain):
    result = run_action(ActionTellCourier(), make_tracker("可以发ems吗", "ask_courier", {"courier": "ems"}), domain)
    assert result.values("utter_courier_with_surcharge")["courier"] == "EMS"


def test_courier_the_shop_does_not_use(shop, domain):
    result = run_action(ActionTellCourier(), make_tracker("发中通吗", "ask_courier", {"courier": "中通"}), domain)
    assert result.responses == ["utter_courier_not_used"]
    assert "没有和中通合作" in result.text and "韵达" in result.text


def test_province_the_default_courier_does_not_reach(shop, domain, repository, policy, monkeypatch):
    monkeypatch.setattr(shop, "policy", dataclasses.replace(policy, unserved_by_default_courier=["新疆维吾尔自治区"]))
    tracker = make_tracker("发什么快递", "ask_courier", metadata={"buyer_token": token_for("B004")})
    result = run_action(ActionTellCourier(), tracker, domain)
    assert result.responses == ["utter_courier_province_unserved"]
    assert "新疆维吾尔自治区" in result.text and "EMS" in result.text


def test_arrival_time_default_and_remote_and_in_transit(shop, domain):
    result = run_action(ActionTellArrivalTime(), make_tracker("几天到", "ask_arrival_time"), domain)
    assert "韵达发货以后3天左右" in result.text
    someone_elses = run_action(
        ActionTellArrivalTime(),
        make_tracker("发新疆几天", "ask_arrival_time", {"courier": "EMS"}, metadata={"buyer_token": token_for("B001")},
                     slots={"order_id": "260310483360927718"}),
        domain,
    )
    # Not B001's order: no details; the place named (a remote province) decides the days.
    assert someone_elses.responses == ["utter_arrival_remote"]
    assert someone_elses.values("utter_arrival_remote") == {"courier": "EMS", "province": "新疆", "days": "7"}
    in_transit = run_action(
        ActionTellArrivalTime(), make_tracker("我的几天到", "ask_arrival_time", metadata={"buyer_token": token_for("B004")}), domain
    )
    # Two orders on the way (one moving, one with an exception): the moving one is named and tracked.
    assert in_transit.responses == ["utter_order_in_question", "utter_arrival_order_in_transit"]
    assert in_transit.values("utter_order_in_question") == {"order_id": "260315726638105547", "items": "卫衣"}
    assert "乌鲁木齐" in in_transit.text


def test_free_shipping_threshold_against_product_price(shop, domain):
    generic = run_action(ActionTellFreeShipping(), make_tracker("包邮吗", "ask_free_shipping"), domain)
    assert "满99元" in generic.text
    cheap = run_action(ActionTellFreeShipping(), make_tracker("T恤包邮吗", "ask_free_shipping", {"product": "T恤"}), domain)
    assert cheap.values("utter_free_shipping_short") == {"item": "纯棉T恤", "amount": "79", "threshold": "99", "missing": "20"}
    dear = run_action(ActionTellFreeShipping(), make_tracker("羽绒被包邮吗", "ask_free_shipping", {"product": "羽绒被"}), domain)
    assert dear.responses == ["utter_free_shipping_yes"]


def test_free_shipping_for_an_unpaid_order(shop, domain):
    tracker = make_tracker("能包邮吗", "ask_free_shipping", metadata={"buyer_token": token_for("B002")})
    result = run_action(ActionTellFreeShipping(), tracker, domain)
    assert result.values("utter_free_shipping_yes")["amount"] == "178"  # 2 x 89


def test_quality_material_usage_come_from_the_catalogue(shop, domain, repository):
    quilt = repository.find_product("羽绒被")
    quality = run_action(ActionAnswerQuality(), make_tracker("质量好吗", "ask_quality", {"product": "羽绒被"}), domain)
    assert quilt.quality_note in quality.text and "商城正品" in quality.text
    material = run_action(ActionAnswerMaterial(), make_tracker("什么材质", "ask_material", {"product": "羽绒被"}), domain)
    assert quilt.material in material.text and quilt.features in material.text
    usage = run_action(ActionAnswerUsage(), make_tracker("怎么用", "ask_usage", {"product": "LED台灯"}), domain)
    assert repository.find_product("LED台灯").usage_note in usage.text
    no_note = run_action(ActionAnswerUsage(), make_tracker("怎么用", "ask_usage", {"product": "T恤"}), domain)
    assert no_note.responses == ["utter_usage_unknown", "utter_offer_human"]


def test_material_without_product_asks_which(shop, domain):
    result = run_action(ActionAnswerMaterial(), make_tracker("什么面料", "ask_material"), domain)
    assert result.responses == ["utter_ask_which_product"]
    assert result.slot("pending_question") == "ask_material"


def test_gift_from_policy(shop, domain, policy, monkeypatch):
    assert "精美包装盒" in run_action(ActionTellGift(), make_tracker("有赠品吗", "ask_gift"), domain).text
    monkeypatch.setattr(shop, "policy", dataclasses.replace(policy, gift=None))
    assert run_action(ActionTellGift(), make_tracker("有赠品吗", "ask_gift"), domain).responses == ["utter_no_gift"]


def test_picture_mismatch_explains_and_offers_remedy_after_delivery(shop, domain):
    presale = run_action(ActionAnswerPictureMismatch(), make_tracker("有色差吗", "picture_mismatch"), domain)
    assert presale.responses == ["utter_picture_mismatch_explain"] and "实物拍摄" in presale.text
    after = run_action(
        ActionAnswerPictureMismatch(),
        make_tracker("收到的T恤跟图片不一样", "picture_mismatch", metadata={"buyer_token": token_for("B001")}),
        domain,
    )
    assert after.responses == ["utter_picture_mismatch_explain", "utter_order_in_question", "utter_picture_mismatch_remedy"]
    assert after.values("utter_picture_mismatch_remedy") == {"order_id": "260318273645019283", "compensation": "10"}


def test_size_form_reads_height_and_weight_from_one_message(shop, domain):
    tracker = make_tracker("我165 100斤穿什么码", "ask_size", active_loop="size_form")
    validator = ValidateSizeForm()
    height = asyncio.run(validator.extract_height_cm(CollectingDispatcher(), tracker, domain))
    weight = asyncio.run(validator.extract_weight_jin(CollectingDispatcher(), tracker, domain))
    assert height == {"height_cm": 165.0} and weight == {"weight_jin": 100.0}


def test_size_recommendation_checks_the_product_stock(shop, domain):
    tracker = make_tracker("", "ask_size", {"product": "T恤"}, slots={"height_cm": 165.0, "weight_jin": 100.0})
    result = run_action(ActionRecommendSize(), tracker, domain)
    assert result.responses == ["utter_size_recommendation", "utter_size_in_stock"]
    assert result.values("utter_size_recommendation") == {"height": "165", "weight": "100", "size": "M", "label": "165/84A"}
    assert "白色" in result.values("utter_size_in_stock")["colors"]
    assert result.slot("height_cm") is None


def test_size_beyond_chart_and_numeric_sizes_go_to_a_human(shop, domain):
    huge = run_action(ActionRecommendSize(), make_tracker(slots={"height_cm": 200.0, "weight_jin": 250.0}), domain)
    assert huge.responses == ["utter_size_beyond_chart", "utter_offer_human"]
    shoes = run_action(
        ActionRecommendSize(), make_tracker("", "ask_size", {"product": "雨鞋"}, slots={"height_cm": 160.0, "weight_jin": 95.0}), domain
    )
    assert shoes.responses == ["utter_size_not_letter_sized", "utter_offer_human"]


def test_size_question_shows_the_chart(shop, domain):
    result = run_action(ActionAskHeightCm(), make_tracker("有尺码表吗", "ask_size"), domain)
    assert "M 165/84A" in result.text
