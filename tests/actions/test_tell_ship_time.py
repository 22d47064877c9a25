from datetime import timedelta

from actions.tell_ship_time import ActionTellShipTime
from tests.conftest import make_tracker, run_action, token_for


def test_anonymous_buyer_gets_the_shop_promise(shop, domain):
    result = run_action(ActionTellShipTime(), make_tracker("什么时候发货", "ask_ship_time"), domain)
    assert result.responses == ["utter_ship_time"]
    assert result.values("utter_ship_time") == {"ship_hours": 48}
    assert "拍下后48个小时内" in result.text


def test_buyer_with_paid_order_gets_that_orders_deadline(shop, domain, repository):
    tracker = make_tracker("我拍了什么时候发", "ask_ship_time", metadata={"buyer_token": token_for("B001")})
    result = run_action(ActionTellShipTime(), tracker, domain)
    # B001 has four orders: the one it is about is named (the hoodie, paid and not shipped).
    assert result.responses == ["utter_order_in_question", "utter_ship_time_order"]
    assert result.values("utter_order_in_question") == {"order_id": "260319550172638844", "items": "卫衣"}
    order = repository.get_order("260319550172638844")
    deadline = (order.paid_at + timedelta(hours=48)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert result.values("utter_ship_time_order") == {
        "order_id": "260319550172638844",
        "deadline": f"{deadline.month}月{deadline.day}日 {deadline.hour:02d}:{deadline.minute:02d}",
    }
    assert result.slot("buyer_id") == "B001"


def test_overdue_paid_order_gets_apology_and_new_promise(shop, domain):
    tracker = make_tracker("怎么还没发", "ask_ship_time", metadata={"buyer_token": token_for("B002")})
    result = run_action(ActionTellShipTime(), tracker, domain)
    assert result.responses == ["utter_order_in_question", "utter_ship_time_overdue"]
    assert result.values("utter_ship_time_overdue")["order_id"] == "260316627739104458"
    assert "非常抱歉" in result.text


def test_forged_token_is_ignored(shop, domain):
    forged = token_for("B001")[:-4] + "0000"
    tracker = make_tracker("什么时候发货", "ask_ship_time", metadata={"buyer_token": forged})
    result = run_action(ActionTellShipTime(), tracker, domain)
    assert result.responses == ["utter_ship_time"]
    assert not result.sets_slot("buyer_id")


def test_someone_elses_order_number_reveals_nothing(shop, domain):
    tracker = make_tracker("260319550172638844什么时候发", "ask_ship_time", {"order_id": "260319550172638844"})
    result = run_action(ActionTellShipTime(), tracker, domain)
    assert result.responses == ["utter_ship_time"]
    assert "260319550172638844" not in result.text


def test_a_presale_question_on_a_product_page_gets_the_shop_promise_not_an_order(shop, domain):
    tracker = make_tracker("今天能发货吗", "ask_ship_time", metadata={"buyer_token": token_for("B001"), "product_id": "P002"})
    result = run_action(ActionTellShipTime(), tracker, domain)
    assert result.responses == ["utter_ship_time"]


def test_a_place_named_adds_the_days_for_that_place(shop, domain):
    result = run_action(ActionTellShipTime(), make_tracker("发内蒙古要多久", "ask_ship_time"), domain)
    assert result.responses == ["utter_ship_time", "utter_arrival_remote"]
    assert result.values("utter_arrival_remote") == {"courier": "韵达", "province": "内蒙古", "days": "5"}
