"""Normalises how buyers really write before NLU: traditional characters, full-width letters and
digits, emoji, slang, pinyin-only messages, and what chat platforms paste into a message (links,
emoticon codes, quick-reply menu labels, order-card field labels, item numbers, dates). Order
numbers (16-19 digits) stay for the entity extractors. The original text stays in the tracker."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any, Dict, Iterable, Optional

PINYIN_ONLY = re.compile(r"^[a-zA-Z\s'?!.,~]+$")
SPACES = re.compile(r"\s+")
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
# Pasted by platforms, not written by the buyer: links, emoticon codes (/:018, [smile-word]),
# corpus-style masks (<url>, <num>, #E-s12), quick-reply menu labels in 【】.
LINK = re.compile(
    r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。！？]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|tv)\b[^\s\u4e00-\u9fff，。！？]*|<url>",
    re.I,
)
EMOTICON = re.compile(r"/:[0-9]{3}|/:[a-z^_<>@!?$&*()~-]{1,8}|#E-[a-z]+(?:<num>|\d+)?|<num>|\[[^\[\]\d\s]{1,4}\]", re.I)
MENU_LABEL = re.compile(r"【[^【】]{1,16}】")
# (the year, month and day characters as escapes: Chinese text lives in data files)
DATE_TIME = re.compile(
    r"\d{4}[-/.\u5e74]\d{1,2}[-/.\u6708]\d{1,2}\u65e5?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?|\b\d{1,2}:\d{2}:\d{2}\b"
)
# Item, product and tracking-like numbers: 6 to 15 digits (order numbers have 16 to 19).
ITEM_NUMBER = re.compile(r"(?<![\d.])\d{6,15}(?![\d.])")
# A letter, digit or Chinese character: something written, not only symbols and punctuation.
WORDS = re.compile(r"[^\W_]")
REPEATED_PUNCTUATION = re.compile(r"([!?。！？~～.,，、…])\1+")


@lru_cache(maxsize=1)
def _traditional_to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


def _is_symbol(char: str) -> bool:
    """Emoji, pictographs and variation selectors: no meaning for the classifier."""
    category = unicodedata.category(char)
    return category in ("So", "Sk", "Cs", "Co") or 0xFE00 <= ord(char) <= 0xFE0F or ord(char) == 0x200D


def build_pinyin_index(texts: Iterable[str]) -> Dict[str, str]:
    """Pinyin (toneless, joined) -> the most frequent Chinese word with that reading."""
    import jieba
    from pypinyin import lazy_pinyin

    counts: Counter = Counter()
    for text in texts:
        for word in jieba.lcut(text):
            if HAN.match(word):
                counts[word] += 1
                for char in word:
                    counts[char] += 1
    index: Dict[str, str] = {}
    best: Dict[str, int] = {}
    for word, count in counts.items():
        key = "".join(lazy_pinyin(word))
        if count > best.get(key, 0):
            index[key], best[key] = word, count
    return index


class TextNormaliser:
    def __init__(
        self,
        slang: Optional[Dict[str, str]] = None,
        pinyin_index: Optional[Dict[str, str]] = None,
        pasted_labels: Iterable[str] = (),
        emoji_only: Optional[Dict[str, Any]] = None,
    ):
        self.slang = sorted((slang or {}).items(), key=lambda kv: -len(kv[0]))
        # A message of emoji or emoticon codes only reads as the words it stands for (lexicon.yml).
        emoji_only = emoji_only or {}
        self.emoji_words = {char: words for words, chars in (emoji_only.get("words") or {}).items() for char in chars}
        self.emoji_otherwise: str = emoji_only.get("otherwise") or ""
        labels = sorted(pasted_labels, key=len, reverse=True)
        # "<order-number label>: <value>": the label goes, the value stays (an order number is kept).
        self.card_label = re.compile("(?:%s)\\s*[:：]" % "|".join(map(re.escape, labels))) if labels else None
        self.pinyin_index = pinyin_index or {}
        self.longest_key = max((len(k) for k in self.pinyin_index), default=0)

    def normalise(self, text: str) -> str:
        if not text:
            return text
        text = _traditional_to_simplified().convert(text)
        text = unicodedata.normalize("NFKC", text)
        written = "".join(" " if _is_symbol(c) else c for c in self.strip_pasted(text))
        if not WORDS.search(written):
            meant = self.emoji_meaning(text)
            if meant is not None:
                return meant
        text = written
        for word, replacement in self.slang:
            text = text.replace(word, replacement)
        text = SPACES.sub(" ", text).strip()
        if PINYIN_ONLY.match(text):
            text = self.pinyin_to_hanzi(text) or text
        return text

    def emoji_meaning(self, text: str) -> Optional[str]:
        """The words a message of emoji or emoticon codes only stands for; None for other text
        with no words (punctuation alone, a bare link or item number)."""
        if not any(_is_symbol(c) for c in text) and not EMOTICON.search(text):
            return None
        for char in text:
            if char in self.emoji_words:
                return self.emoji_words[char]
        return self.emoji_otherwise or None

    def strip_pasted(self, text: str) -> str:
        """Removes what a platform pasted around the buyer's words; keeps order numbers."""
        text = LINK.sub(" ", text)
        text = EMOTICON.sub(" ", text)
        text = MENU_LABEL.sub(" ", text)
        if self.card_label is not None:
            text = self.card_label.sub(" ", text)
        text = DATE_TIME.sub(" ", text)
        text = ITEM_NUMBER.sub(" ", text)
        return REPEATED_PUNCTUATION.sub(r"\1", text)

    def pinyin_to_hanzi(self, text: str) -> Optional[str]:
        """Segments pinyin letters into known words (fewest pieces); None if it is not pinyin."""
        letters = re.sub(r"[^a-z]", "", text.lower())
        if len(letters) < 4 or not self.pinyin_index:
            return None
        size = len(letters)
        pieces: list = [None] * (size + 1)  # fewest words covering letters[:i]
        pieces[0] = []
        for end in range(1, size + 1):
            for start in range(max(0, end - self.longest_key), end):
                if pieces[start] is None:
                    continue
                word = self.pinyin_index.get(letters[start:end])
                if word and (pieces[end] is None or len(pieces[start]) + 1 < len(pieces[end])):
                    pieces[end] = pieces[start] + [word]
        if pieces[size] is None:
            return None
        return "".join(pieces[size])
