"""Buyers with several orders: the order each question is about, named in the reply; several
fitting orders offered as cards to pick with one tap; honest answers when none fits."""

import pytest

pytestmark = pytest.mark.slow


def test_two_parcels_on_the_way_are_offered_and_one_tap_answers(buyer):
    customer = buyer("B003")
    turn = customer.says("快递到哪了")
    assert turn.values("utter_which_order")["count"] == "2", turn
    assert [c["order_id"] for c in turn.cards] == ["260317512290374468", "260317104486627913"]
    titles = [b["title"] for b in turn.buttons]
    assert titles == ["LED台灯（260317512290374468）", "牛仔裤（260317104486627913）"]
    picked = customer.taps(turn.buttons[1])
    assert picked.values("utter_order_shipped")["order_id"] == "260317104486627913"
    assert picked.values("utter_order_shipped")["courier"] == "韵达"


@pytest.mark.parametrize(
    "pick, order_id",
    [
        ("牛仔裤那单", "260317104486627913"),
        ("就是台灯", "260317512290374468"),
        ("第二个", "260317104486627913"),
        ("裤子那个", "260317104486627913"),
    ],
)
def test_an_order_offered_is_picked_in_words_instead_of_a_tap(buyer, pick, order_id):
    customer = buyer("B003")
    turn = customer.says("快递到哪了")
    assert turn.values("utter_which_order")["count"] == "2", turn
    picked = customer.says(pick)
    answer = next(d for d in picked.details if d.template.startswith("utter_order_") and "order_id" in d.values)
    assert str(answer.values["order_id"]) == order_id, picked
    assert "您想了解哪方面" not in picked.text and "什么呢" not in picked.text


def test_both_orders_offered_are_answered_when_the_buyer_asks_for_both(buyer):
    customer = buyer("B003")
    assert customer.says("快递到哪了").values("utter_which_order")["count"] == "2"
    both = customer.says("两个都查一下")
    assert both.values("utter_order_out_for_delivery")["order_id"] == "260317512290374468", both
    assert both.values("utter_order_shipped")["order_id"] == "260317104486627913"


def test_the_other_order_offered_is_answered_after_the_first_pick(buyer):
    customer = buyer("B003")
    customer.says("快递到哪了")
    assert customer.says("牛仔裤那单").values("utter_order_shipped")["order_id"] == "260317104486627913"
    other = customer.says("另外那单呢")
    assert other.values("utter_order_out_for_delivery")["order_id"] == "260317512290374468", other
    assert "260317104486627913" not in other.text


def test_the_other_parcel_is_answered_after_one_was_asked_about_by_name(buyer):
    customer = buyer("B003")
    jeans = customer.says("牛仔裤到哪了")
    assert jeans.values("utter_order_shipped")["order_id"] == "260317104486627913", jeans
    other = customer.says("另外那单呢")
    assert other.values("utter_order_in_question")["items"] == "LED台灯", other
    assert other.values("utter_order_out_for_delivery")["order_id"] == "260317512290374468", other
    assert "260317104486627913" not in other.text


def test_out_for_delivery_and_exception_are_offered_then_the_exception_is_explained(buyer):
    customer = buyer("B002")
    turn = customer.says("我的快递到哪了")
    ids = [c["order_id"] for c in turn.cards]
    assert set(ids) == {"260316981255037716", "260313458820917734"}, turn
    exception = next(b for b in turn.buttons if "260313458820917734" in b["payload"])
    picked = customer.taps(exception)
    assert picked.values("utter_order_exception")["order_id"] == "260313458820917734"
    assert "收件地址不详" in picked.text


def test_the_cup_on_its_way_is_named_by_product(buyer):
    turn = buyer("B006").says("保温杯到哪了")
    assert turn.values("utter_order_shipped")["order_id"] == "260318156627409981", turn
    assert turn.values("utter_order_in_question")["items"] == "保温杯"


def test_tshirts_out_for_delivery_are_named_by_product(buyer):
    turn = buyer("B006").says("买的T恤到哪了")
    assert turn.values("utter_order_out_for_delivery")["order_id"] == "2987765401238854", turn


def test_arrival_of_the_bag_bought_is_its_tracking(buyer):
    turn = buyer("B005").says("我买的斜挎包什么时候能到")
    assert turn.values("utter_arrival_order_in_transit")["order_id"] == "260318290046571183", turn
    assert turn.values("utter_arrival_order_in_transit")["courier"] == "顺丰"


def test_unshipped_hoodie_gets_its_ship_deadline(buyer):
    turn = buyer("B001").says("卫衣怎么还没发货")
    assert turn.values("utter_ship_time_order")["order_id"] == "260319550172638844", turn


def test_wool_sweater_price_drop_is_refunded_once(buyer):
    customer = buyer("B002")
    turn = customer.says("羊毛衫降价了能退差价吗")
    assert turn.values("utter_price_refund")["order_id"] == "260312730019846625", turn
    assert turn.values("utter_price_refund")["amount"] == "70"  # 329 -> 259
    again = customer.says("羊毛衫降价了 退差价")
    assert again.values("utter_price_refund_exists")["amount"] == "70", again


def test_old_tshirt_price_drop_is_outside_the_window(buyer):
    turn = buyer("B005").says("T恤降价了 能退差价吗")
    assert turn.values("utter_price_outside_window")["order_id"] == "2602220937718845120", turn
    assert turn.values("utter_price_outside_window")["window_days"] == "15"


def test_a_product_never_bought_is_said_honestly(buyer):
    turn = buyer("B006").says("雨鞋降价了 能退差价吗")
    assert turn.values("utter_no_order_for_product")["product"] == "雨鞋", turn
    assert "utter_price_refund" not in turn.responses and "utter_price_no_drop" not in turn.responses


def test_wrong_colour_tshirt_is_exchanged_for_the_delivered_tshirt_order(buyer):
    turn = buyer("B001").says("收到的T恤发错颜色了")
    assert turn.responses[0] == "utter_wrong_item_apology", turn
    assert turn.values("utter_wrong_item_exchange")["order_id"] == "260318273645019283"
    assert turn.values("utter_return_recorded")["order_id"] == "260318273645019283"


def test_logged_in_return_is_taken_for_the_order_inside_the_window(buyer):
    customer = buyer("B005")  # the lamp was delivered 2 days ago, the T恤 21 days ago
    turn = customer.says("我要退货")
    assert turn.values("utter_return_recent_order") == {"order_id": "260314617729035584", "items": "LED台灯"}, turn
    assert "utter_ask_return_reason" in turn.responses
    reason = customer.says("不喜欢 不想要了")
    assert "utter_return_non_quality" in reason.responses, reason
    assert reason.values("utter_return_recorded")["order_id"] == "260314617729035584"


def test_anonymous_return_proves_the_phone_then_records(buyer):
    customer = buyer()
    assert "utter_ask_order_id" in customer.says("我要退货").responses
    assert "utter_ask_phone_tail" in customer.says("260315338801726645").responses
    reason_asked = customer.says("4455")
    assert "utter_ask_return_reason" in reason_asked.responses, reason_asked
    done = customer.says("不喜欢 不想要了")
    assert done.values("utter_return_recorded")["order_id"] == "260315338801726645", done


def test_three_parcels_on_the_way_are_all_offered(buyer):
    turn = buyer("B005").says("我的快递到哪了")
    assert {c["order_id"] for c in turn.cards} == {"260318290046571183", "260315904428817632", "2603118845027739461"}, turn
    assert all(card["items"] for card in turn.cards)


def test_an_order_number_typed_after_the_cards_answers_for_that_order(buyer):
    customer = buyer("B003")
    assert customer.says("快递到哪了").cards
    typed = customer.says("260317104486627913")
    assert typed.values("utter_order_shipped")["order_id"] == "260317104486627913", typed
    assert "utter_order_in_question" not in typed.responses


def test_a_return_with_two_delivered_orders_outside_the_window_offers_both_then_answers_honestly(buyer):
    customer = buyer("B003")
    turn = customer.says("我想退货")
    assert {c["order_id"] for c in turn.cards} == {"260309375521804617", "260303208817465529"}, turn
    tshirts = next(b for b in turn.buttons if "260309375521804617" in b["payload"])
    assert tshirts["title"] == "纯棉T恤（260309375521804617）"
    picked = customer.taps(tshirts)
    assert picked.values("utter_return_outside_window")["order_id"] == "260309375521804617", picked
    assert "utter_ask_return_reason" not in picked.responses
