"""A trainer's document merged with a newer release's shipped file (bot/training/merge.py): what
each side changed is in the result; where both changed one thing, the trainer's version and a
conflict."""

from ruamel.yaml import YAML

from bot.training.merge import merge_documents

BASE_DOMAIN = """version: "3.1"
intents:
  - greet
  - ask_stock
slots:
  pending_question:
    type: text
    influence_conversation: false
    mappings:
      - type: custom
responses:
  utter_greet:
    - text: 亲，您好~
  utter_ask_stock:
    - text: 亲，有货的呢
actions:
  - action_check_stock
"""

# The trainer added an intent, its response and changed the greeting.
TRAINER_DOMAIN = BASE_DOMAIN.replace("  - ask_stock\n", "  - ask_stock\n  - ask_invoice\n").replace(
    "    - text: 亲，您好~\n", "    - text: 亲，您好，欢迎光临~\n"
).replace("actions:\n", "  utter_ask_invoice:\n    - text: 亲，可以开电子发票的呢~\nactions:\n")

# The release added a slot, an action and an intent, and reworded the stock answer.
RELEASE_DOMAIN = (
    BASE_DOMAIN.replace("  - ask_stock\n", "  - ask_stock\n  - ask_gift\n")
    .replace("responses:\n", "  offered_orders:\n    type: list\n    influence_conversation: false\n    mappings:\n      - type: custom\nresponses:\n")
    .replace("亲，有货的呢", "亲，这款有货的呢，放心拍~")
    .replace("  - action_check_stock\n", "  - action_check_stock\n  - action_tell_gift\n")
)


def load(text):
    return YAML(typ="safe").load(text)


def test_a_release_and_a_trainer_both_keep_their_changes_to_the_domain():
    merged, conflicts = merge_documents(BASE_DOMAIN, TRAINER_DOMAIN, RELEASE_DOMAIN)
    domain = load(merged)
    assert conflicts == []
    assert domain["intents"] == ["greet", "ask_stock", "ask_gift", "ask_invoice"]
    assert set(domain["slots"]) == {"pending_question", "offered_orders"}
    assert domain["responses"]["utter_greet"] == [{"text": "亲，您好，欢迎光临~"}]  # the trainer's
    assert domain["responses"]["utter_ask_stock"] == [{"text": "亲，这款有货的呢，放心拍~"}]  # the release's
    assert domain["responses"]["utter_ask_invoice"] == [{"text": "亲，可以开电子发票的呢~"}]
    assert domain["actions"] == ["action_check_stock", "action_tell_gift"]


def test_both_rewording_one_response_keeps_the_trainers_and_reports_it():
    trainer = BASE_DOMAIN.replace("亲，有货的呢", "亲，有货哦，今天拍今天发")
    merged, conflicts = merge_documents(BASE_DOMAIN, trainer, RELEASE_DOMAIN)
    assert load(merged)["responses"]["utter_ask_stock"] == [{"text": "亲，有货哦，今天拍今天发"}]
    assert conflicts == ["/responses/utter_ask_stock"]
    assert "offered_orders" in load(merged)["slots"]


BASE_NLU = """version: "3.1"
nlu:
  - intent: ask_stock
    examples: |
      - 有货吗
      - 还有吗
  - intent: greet
    examples: |
      - 在吗
"""


def test_examples_are_merged_line_by_line():
    trainer = BASE_NLU.replace("      - 还有吗\n", "      - 这件还有货吗\n")  # edited one example
    release = BASE_NLU.replace("      - 在吗\n", "      - 在吗\n      - 你好\n").replace(
        "nlu:\n", "nlu:\n  - synonym: 牛仔裤\n    examples: |\n      - 裤子\n"
    )
    merged, conflicts = merge_documents(BASE_NLU, trainer, release)
    blocks = {b.get("intent") or b.get("synonym"): b["examples"] for b in load(merged)["nlu"]}
    assert conflicts == []
    assert blocks["ask_stock"] == "- 有货吗\n- 这件还有货吗\n"
    assert blocks["greet"] == "- 在吗\n- 你好\n"
    assert blocks["牛仔裤"] == "- 裤子\n"


def test_unchanged_sides_take_the_other_text_as_it_is():
    assert merge_documents(BASE_NLU, BASE_NLU, "changed: 1\n") == ("changed: 1\n", [])
    assert merge_documents(BASE_NLU, "mine: 1\n", BASE_NLU) == ("mine: 1\n", [])
