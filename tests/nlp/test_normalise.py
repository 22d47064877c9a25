"""The text normaliser on messages with no written words: emoji, emoticon codes, punctuation."""

import pytest
import yaml

from bot.rasa_server.nlp.normalise import TextNormaliser


@pytest.fixture(scope="module")
def normaliser():
    with open("data/shop/lexicon.yml", encoding="utf-8") as handle:
        lexicon = yaml.safe_load(handle)
    return TextNormaliser(lexicon["slang"], {}, lexicon["pasted_labels"], lexicon["emoji_only"])


@pytest.mark.parametrize(
    ("message", "reads_as"),
    [
        ("👍", "好的谢谢"),
        ("👌👌", "好的谢谢"),
        ("❤️", "好的谢谢"),  # with its variation selector
        ("😀😀😀🙏", "好的谢谢"),  # the first emoji with a meaning decides
        ("😀😀😀", "在吗"),
        ("😭😭", "在吗"),
        ("/:018", "在吗"),  # a platform emoticon code
        ("[微笑]", "在吗"),
    ],
)
def test_a_message_of_emoji_only_reads_as_what_it_stands_for(normaliser, message, reads_as):
    assert normaliser.normalise(message) == reads_as


@pytest.mark.parametrize(
    ("message", "reads_as"),
    [
        ("T恤还有货吗😀😀", "T恤还有货吗"),  # emoji beside words are dropped, the words decide
        ("👍 好评", "好评"),
        ("？？？", "?"),  # punctuation alone is not an emoji message
        ("https://item.taobao.com/item.htm?id=1", ""),  # nor is a bare link
        ("", ""),
    ],
)
def test_emoji_beside_words_or_no_emoji_keep_the_usual_rules(normaliser, message, reads_as):
    assert normaliser.normalise(message) == reads_as


def test_without_the_lexicon_entry_emoji_only_stays_empty():
    assert TextNormaliser().normalise("👍") == ""
