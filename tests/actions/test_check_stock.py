from actions.check_stock import ActionCheckStock
from bot.shop.orders import RepositoryUnavailable
from bot.reply_details import REPLY_KEY, ReplyDetails
from tests.conftest import make_tracker, run_action


def test_in_stock_sku_names_product_colour_size_and_price(shop, domain):
    tracker = make_tracker("黑色M码的T恤还有吗", "ask_stock", {"product": "T恤", "color": "黑色", "size": "M码"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses == ["utter_stock_available_sku"]
    assert result.values("utter_stock_available_sku") == {"product": "纯棉T恤", "color": "黑色", "size": "M", "price": "79"}
    assert "纯棉T恤（黑色 M）是有现货的呢" in result.text
    assert result.slot("product") == "纯棉T恤"


def test_product_from_page_metadata_lists_colours_and_sizes_in_stock(shop, domain):
    tracker = make_tracker("这件还有货吗", "ask_stock", metadata={"product_id": "P001"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses == ["utter_stock_available_product"]
    values = result.values("utter_stock_available_product")
    assert values["product"] == "纯棉T恤"
    assert "黑色" in values["colors"] and "藏青" not in values["colors"]  # 藏青 S is sold out
    assert values["sizes"].split("、") == ["M", "L", "XXL"]


def test_colour_aliases_and_lowercase_sizes_are_understood(shop, domain):
    tracker = make_tracker("黑的l码有吗", "ask_stock", {"product": "t恤", "color": "黑的", "size": "l码"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.values("utter_stock_available_sku")["color"] == "黑色"
    assert result.values("utter_stock_available_sku")["size"] == "L"


def test_sold_out_sku_gives_restock_date_and_in_stock_alternative(shop, domain, repository):
    tracker = make_tracker("黑色XL有吗", "ask_stock", {"product": "纯棉T恤", "color": "黑色", "size": "XL"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses[:2] == ["utter_stock_out", "utter_stock_restock"]
    assert result.values("utter_stock_out") == {"product": "纯棉T恤", "variant": "黑色 XL"}
    restock = repository.get_product("P001").sku("黑色", "XL").restock_at
    local = restock.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert result.values("utter_stock_restock")["restock_date"] == f"{local.month}月{local.day}日"
    # No other colour in XL: the alternative is another top of the same category, in stock; its
    # price (169) is not close to the T恤's (79), so the reply does not call it "about the same".
    assert result.responses[2] == "utter_stock_alternative_product_other_price"
    assert "差不多" not in result.texts[2]
    alternative = repository.find_product(result.values("utter_stock_alternative_product_other_price")["alternative"])
    assert alternative.category == "上衣" and alternative.in_stock and alternative.id != "P001"


def test_sold_out_colour_offers_other_colours_of_the_same_product(shop, domain):
    tracker = make_tracker("藏青色还有吗", "ask_stock", {"product": "T恤", "color": "藏青"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses == ["utter_stock_out", "utter_stock_alternative_variant"]
    assert "黑色 M" in result.values("utter_stock_alternative_variant")["options"]
    assert "没有现货了呢" in result.text


def test_product_sold_out_everywhere_suggests_same_category_product(shop, domain):
    tracker = make_tracker("帆布包还有吗", "ask_stock", {"product": "帆布包"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses[0] == "utter_stock_out" and result.responses[-1] == "utter_stock_alternative_product_other_price"
    assert result.values("utter_stock_alternative_product_other_price")["alternative"] == "真皮斜挎包"


def test_unknown_variant_lists_what_exists(shop, domain):
    tracker = make_tracker("有粉色的T恤吗", "ask_stock", {"product": "T恤", "color": "粉色"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.responses == ["utter_stock_no_such_variant"]
    assert "没有粉色哦" in result.text


def test_no_product_asks_which_one_and_remembers_the_question(shop, domain):
    result = run_action(ActionCheckStock(), make_tracker("还有货吗", "ask_stock"), domain)
    assert result.responses == ["utter_ask_which_product"]
    assert result.slot("pending_question") == "ask_stock"


def test_remembered_product_is_used_for_a_follow_up(shop, domain):
    tracker = make_tracker("白色M呢", "ask_stock", {"color": "白色", "size": "M"}, slots={"product": "纯棉T恤"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.values("utter_stock_available_sku")["product"] == "纯棉T恤"


def test_database_down_gives_polite_reply(shop, domain, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RepositoryUnavailable("connection refused")

    monkeypatch.setattr(shop.repository, "find_product", broken)
    result = run_action(ActionCheckStock(), make_tracker("T恤有货吗", "ask_stock", {"product": "T恤"}), domain)
    assert result.responses == ["utter_service_unavailable"]
    assert "转人工" in result.text


def test_stock_answers_carry_a_product_card_for_the_widget(shop, domain):
    result = run_action(ActionCheckStock(), make_tracker("帆布包有吗", "ask_stock", {"product": "帆布包"}), domain)
    [card] = result.cards
    assert card["type"] == "product" and card["name"] == "帆布包"
    assert card["in_stock"] is False and card["stock_label"] == "缺货"


def test_in_stock_answer_has_exactly_one_card(shop, domain):
    result = run_action(ActionCheckStock(), make_tracker("这件还有货吗", "ask_stock", metadata={"product_id": "P001"}), domain)
    assert [c["name"] for c in result.cards] == ["纯棉T恤"] and result.cards[0]["stock_label"] == "有货"


def test_reply_names_the_sources_of_its_values_for_the_agent(shop, domain):
    tracker = make_tracker("黑色M码的T恤还有吗", "ask_stock", {"product": "T恤", "color": "黑色", "size": "M码"})
    result = run_action(ActionCheckStock(), tracker, domain)
    assert result.sources("utter_stock_available_sku") == {"product": "products.P001", "price": "skus.P001 黑色/M"}


def test_the_metadata_key_holds_the_template_its_values_and_their_sources(shop, domain):
    tracker = make_tracker("黑色M码的T恤还有吗", "ask_stock", {"product": "T恤", "color": "黑色", "size": "M码"})
    result = run_action(ActionCheckStock(), tracker, domain)
    [reply] = [m for m in result.messages if m.get("response")]
    assert reply[REPLY_KEY] == {
        "template": "utter_stock_available_sku",
        "values": {"product": "纯棉T恤", "color": "黑色", "size": "M", "price": "79"},
        "sources": {"product": "products.P001", "price": "skus.P001 黑色/M"},
    }
    # The values also still reach Rasa as the template's variables; there is no loose "sources".
    assert reply["product"] == "纯棉T恤" and "sources" not in reply


def test_each_reply_of_a_turn_carries_its_own_details(shop, domain):
    tracker = make_tracker("藏青色还有吗", "ask_stock", {"product": "T恤", "color": "藏青"})
    result = run_action(ActionCheckStock(), tracker, domain)
    out, alternative, card = result.messages
    assert ReplyDetails.from_metadata(out) == ReplyDetails(
        "utter_stock_out", {"product": "纯棉T恤", "variant": "藏青"}, {"product": "products.P001", "price": "skus.P001 藏青/*"}
    )
    other = ReplyDetails.from_metadata(alternative)
    assert other.template == "utter_stock_alternative_variant"
    assert other.values["product"] == "纯棉T恤" and "黑色 M" in other.values["options"] and "variant" not in other.values
    assert other.sources == {"product": "products.P001", "price": "skus.P001 藏青/*"}
    assert ReplyDetails.from_metadata(card) is None and card["custom"]["card"]["type"] == "product"
