"""Places drive courier and arrival answers; follow-ups stay on the product; care questions are
answered from the catalogue's care note."""

import pytest

pytestmark = pytest.mark.slow


def test_beijing_arrival_names_the_place_and_default_days(buyer):
    turn = buyer(page="P002").says("寄到北京几天能到")
    assert turn.said("utter_arrival_time_place", place="北京", courier="韵达", days="3"), turn


def test_remote_province_with_shunfeng_takes_its_remote_days(buyer):
    turn = buyer(page="P001").says("新疆发顺丰几天到")
    assert turn.said("utter_arrival_remote", province="新疆", courier="顺丰", days="4") or turn.said(
        "utter_courier_with_surcharge", courier="顺丰", surcharge="20", days="4"
    ), turn


def test_lhasa_by_city_name_is_tibet(buyer):
    turn = buyer(page="P008").says("拉萨能发吗 几天到")
    assert "EMS" in turn.text and "拉萨" in turn.text, turn


def test_logged_in_tibet_free_question_stays_presale(buyer):
    turn = buyer(page="P001").says("发内蒙古要多久")
    assert turn.said("utter_arrival_remote", province="内蒙古", courier="韵达", days="5"), turn


def test_size_alone_after_a_hoodie_stock_answer(buyer):
    shopper = buyer(page="P008")
    assert shopper.says("卫衣还有货吗").said("utter_stock_available_product", product="卫衣")
    follow = shopper.says("L码呢")
    assert follow.said("utter_stock_available_partial", product="卫衣", variant="L", options="灰色、雾霾蓝"), follow


def test_colour_follow_up_on_the_cup(buyer):
    shopper = buyer(page="P011")
    shopper.says("有现货吗")
    follow = shopper.says("那粉色的呢")
    assert follow.said("utter_stock_available_partial", product="保温杯", variant="粉色", options="500ml"), follow


def test_pilling_question_on_the_sweater(buyer):
    turn = buyer(page="P007").says("会起球吗")
    assert turn.responses == ["utter_care_pilling"], turn
    assert "平铺阴干" in turn.text


def test_deformation_question_on_the_hoodie(buyer):
    turn = buyer(page="P008").says("洗了会变形吗")
    assert turn.responses == ["utter_care_deform"], turn
    assert turn.values("utter_care_deform")["product"] == "卫衣"


def test_machine_wash_question_on_the_quilt_says_dry_clean(buyer):
    turn = buyer(page="P003").says("可以用洗衣机洗吗")
    assert "只能干洗" in turn.text, turn


def test_fading_question_still_gets_the_fading_answer(buyer):
    turn = buyer(page="P001").says("会掉色吗")
    assert turn.said("utter_fading_first_wash", product="纯棉T恤"), turn


def test_separate_presale_questions_are_still_answered_each(buyer):
    turn = buyer(page="P001").says("有货吗？包邮吗？")
    assert turn.intents == ["ask_stock", "ask_free_shipping"], turn
    assert "utter_stock_available_product" in turn.responses and "utter_free_shipping_short" in turn.responses


def test_after_sale_and_presale_questions_are_not_mixed_in_one_turn(buyer):
    turn = buyer("B001", page="P001").says("快递到哪了？还有黑色吗？")
    stock = {"utter_stock_available_product", "utter_stock_available_partial", "utter_stock_out"}
    order = {"utter_order_shipped", "utter_which_order", "utter_order_delivered", "utter_order_in_question"}
    assert not (stock & set(turn.responses) and order & set(turn.responses)), turn
    assert len(turn.parse) == 1


def test_another_product_named_after_an_order_answer_gets_its_own_order_answered(buyer):
    customer = buyer("B003")
    first = customer.says("牛仔裤到哪了")
    assert first.values("utter_order_shipped")["order_id"] == "260317104486627913", first
    follow = customer.says("那台灯呢")
    assert follow.values("utter_order_in_question")["order_id"] == "260317512290374468", follow
    assert follow.values("utter_order_out_for_delivery")["order_id"] == "260317512290374468"
    assert "牛仔裤" not in follow.text and "您想咨询些什么" not in follow.text


def test_another_product_named_after_a_care_answer_gets_the_same_answer_for_it(buyer):
    customer = buyer("B001")
    customer.says("T恤会褪色吗")
    follow = customer.says("卫衣呢")
    assert follow.responses[0].startswith("utter_fading_"), follow
    assert "卫衣" in follow.text and "纯棉T恤" not in follow.text
