from actions.handle_inform import ActionHandleInform
from tests.conftest import make_tracker, run_action


def test_product_named_after_stock_question_answers_it(shop, domain):
    tracker = make_tracker("T恤", "inform", {"product": "T恤"}, slots={"pending_question": "ask_stock"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_stock_available_product"]
    assert result.slot("pending_question") is None


def test_product_named_after_fading_question_answers_it(shop, domain):
    tracker = make_tracker("羽绒被", "inform", {"product": "羽绒被"}, slots={"pending_question": "ask_fading"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_fading_dry_clean_only"]


def test_bare_order_number_asks_what_about_it_without_details(shop, domain):
    tracker = make_tracker("260318273645019283", "inform", {"order_id": "260318273645019283"})
    result = run_action(ActionHandleInform(), tracker, domain)
    assert result.responses == ["utter_inform_order"]
    assert "纯棉T恤" not in result.text


def test_bare_product_asks_what_about_it(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("牛仔裤", "inform", {"product": "牛仔裤"}), domain)
    assert result.responses == ["utter_inform_product"]
    assert result.slot("product") == "牛仔裤"


def test_nothing_understood_apologises(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("嗯那个", "inform"), domain)
    assert result.responses == ["utter_default"]


def test_bare_height_and_weight_start_the_size_form(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("身高160 体重95斤", "inform"), domain)
    assert result.responses == []
    assert {"event": "followup", "name": "size_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in result.events
    ]


def test_a_bed_width_is_not_a_body_measurement(shop, domain):
    result = run_action(ActionHandleInform(), make_tracker("1.8米的床", "inform"), domain)
    assert result.responses == ["utter_default"]
