import pytest

from actions.answer_fading import ActionAnswerFading
from tests.conftest import make_tracker, run_action


@pytest.mark.parametrize(
    "name, response, phrase",
    [
        ("T恤", "utter_fading_first_wash", "第一次洗的时候会有点未染上的颜色褪下来"),
        ("羽绒被", "utter_fading_dry_clean_only", "只能干洗"),
        ("雨鞋", "utter_fading_colorfast", "不会掉色"),
        ("LED台灯", "utter_fading_not_washable", "不需要水洗"),
    ],
)
def test_reply_depends_on_material_and_care(shop, domain, repository, name, response, phrase):
    result = run_action(ActionAnswerFading(), make_tracker(f"{name}会掉色吗", "ask_fading", {"product": name}), domain)
    product = repository.find_product(name)
    assert result.responses == [response]
    assert result.values(response) == {"product": product.name, "material": product.material, "care": product.care}
    assert phrase in result.text and product.material in result.text


def test_without_product_asks_which_and_remembers(shop, domain):
    result = run_action(ActionAnswerFading(), make_tracker("会掉色吗", "ask_fading"), domain)
    assert result.responses == ["utter_fading_which_product"]
    assert result.slot("pending_question") == "ask_fading"
