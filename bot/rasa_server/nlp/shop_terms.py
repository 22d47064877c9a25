"""The entity words of the shop: products, colours, sizes and couriers, from catalogue and policy."""

from __future__ import annotations

from typing import Dict, Iterable, List, Set

from bot.shop.lexicon import Lexicon
from bot.shop.orders.models import Product
from bot.shop.policy import ShopPolicy


def size_words(size: str, lexicon: Lexicon) -> List[str]:
    """How buyers write a size: letter sizes alone or with a suffix, numeric ones only with it."""
    words = [size + suffix for suffix in lexicon.size_suffixes]
    if not size.isdigit():
        words.insert(0, size)
    return words


def shop_terms(products: Iterable[Product], lexicon: Lexicon, policy: ShopPolicy) -> Dict[str, Set[str]]:
    products = list(products)
    terms: Dict[str, Set[str]] = {"product": set(), "color": set(), "size": set(), "courier": set()}
    for product in products:
        terms["product"].add(product.name)
        terms["product"].update(product.aliases)
        for size in product.sizes:
            terms["size"].update(size_words(size, lexicon))
    terms["color"].update(lexicon.color_words())
    terms["courier"].update(policy.couriers)
    terms["courier"].update(lexicon.couriers)
    return terms


def read_dictionary_words(lines: Iterable[str]) -> Set[str]:
    """Words of a jieba user dictionary (``word [freq] [tag]`` per line)."""
    words = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line.split()[0])
    return words
