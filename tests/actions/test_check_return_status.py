from actions.check_return_status import ActionCheckReturnStatus
from tests.conftest import make_tracker, run_action, token_for

RECENT = "260318273645019283"  # B001


def test_buyer_sees_status_of_latest_request(shop, domain, repository):
    request = repository.create_return_request(RECENT, "B001", "quality", "refund", "seller")
    tracker = make_tracker("退货进度怎么样了", "ask_return_status", metadata={"buyer_token": token_for("B001")})
    result = run_action(ActionCheckReturnStatus(), tracker, domain)
    assert result.responses == ["utter_return_request_found", "utter_return_status_requested"]
    assert result.values("utter_return_request_found") == {"request_id": request.id, "order_id": RECENT}
    assert "正在等待审核" in result.text


def test_buyer_without_requests_is_told_so(shop, domain):
    tracker = make_tracker("退款到哪了", "ask_return_status", metadata={"buyer_token": token_for("B003")})
    result = run_action(ActionCheckReturnStatus(), tracker, domain)
    assert result.responses == ["utter_no_return_request"]


def test_anonymous_buyer_must_identify_first(shop, domain, repository):
    repository.create_return_request(RECENT, "B001", "quality", "refund", "seller")
    result = run_action(ActionCheckReturnStatus(), make_tracker("退货进度", "ask_return_status"), domain)
    assert result.responses == ["utter_need_identity"]
    named = make_tracker("260318273645019283退货进度", "ask_return_status", {"order_id": RECENT})
    result = run_action(ActionCheckReturnStatus(), named, domain)
    assert result.responses == ["utter_need_identity"]
    assert RECENT not in result.text
