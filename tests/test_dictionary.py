"""The jieba shop dictionary keeps every catalogue and lexicon word whole."""

import jieba

from bot.shop.lexicon import Lexicon
from bot.rasa_server.nlp.build_spacy import load_jieba_dictionaries
from bot.rasa_server.nlp.shop_terms import read_dictionary_words, shop_terms
from bot.shop.orders.demo_shop import load_demo_shop
from bot.shop.policy import ShopPolicy
from tests.conftest import ROOT


def terms():
    return shop_terms(
        load_demo_shop(ROOT / "data/shop/demo_shop.yml").products,
        Lexicon.load(ROOT / "data/shop/lexicon.yml"),
        ShopPolicy.load(ROOT / "data/shop/policy.yml"),
    )


def test_every_entity_word_is_in_the_dictionary_in_both_cases():
    words = read_dictionary_words((ROOT / "data/dictionary/shop.txt").read_text(encoding="utf-8").splitlines())
    missing = []
    for label, values in terms().items():
        for value in values:
            for variant in {value, value.lower()}:
                if variant not in words:
                    missing.append((label, variant))
    assert not missing, f"add to data/dictionary/shop.txt: {sorted(missing)}"


def test_segmentation_keeps_shop_words_whole():
    load_jieba_dictionaries(ROOT / "data/dictionary")
    assert "顺丰" in jieba.lcut("能发顺丰吗")
    assert "雾霾蓝" in jieba.lcut("雾霾蓝的卫衣有吗")
    assert "xl码" in jieba.lcut("有xl码吗")
    assert "LED台灯" in jieba.lcut("LED台灯会掉色吗")
