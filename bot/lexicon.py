"""The shop lexicon (data/shop/lexicon.yml): colour and size words, reason keywords, formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml


@dataclass(frozen=True)
class Lexicon:
    colors: Dict[str, List[str]]
    couriers: List[str]
    size_suffixes: List[str]
    return_reasons: Dict[str, List[str]]
    exchange_words: List[str]
    cheaper_elsewhere: List[str]
    list_separator: str
    datetime_format: str
    date_format: str

    @classmethod
    def load(cls, path: Path) -> "Lexicon":
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        return cls(
            colors={k: list(v or []) for k, v in raw["colors"].items()},
            couriers=list(raw.get("couriers", [])),
            size_suffixes=sorted(raw.get("size_suffixes", []), key=len, reverse=True),
            return_reasons={k: list(v) for k, v in raw["return_reasons"].items()},
            exchange_words=list(raw.get("exchange_words", [])),
            cheaper_elsewhere=list(raw.get("cheaper_elsewhere", [])),
            list_separator=raw.get("list_separator", ", "),
            datetime_format=raw["datetime_format"],
            date_format=raw["date_format"],
        )

    def color_words(self) -> Dict[str, str]:
        """Every way of writing a colour -> the canonical colour."""
        words = {}
        for canonical, aliases in self.colors.items():
            words[canonical] = canonical
            for alias in aliases:
                words[alias] = canonical
        return words

    def normalise_color(self, text: Optional[str]) -> Optional[str]:
        if not text:
            return None
        text = text.strip()
        return self.color_words().get(text, text)

    def normalise_size(self, text: Optional[str]) -> Optional[str]:
        if not text:
            return None
        size = text.strip()
        for suffix in self.size_suffixes:
            if size.endswith(suffix) and len(size) > len(suffix):
                size = size[: -len(suffix)]
                break
        return size.upper() if size.isascii() else size

    def return_reason(self, text: str) -> Optional[str]:
        """'quality' / 'non_quality' when the text names a reason; quality words win."""
        for reason in ("quality", "non_quality"):
            if any(word in text for word in self.return_reasons.get(reason, [])):
                return reason
        return None

    def wants_exchange(self, text: str) -> bool:
        return any(word in text for word in self.exchange_words)

    def compares_with_cheaper_shop(self, text: str) -> bool:
        return any(word in text for word in self.cheaper_elsewhere)

    def join(self, values: Iterable[str]) -> str:
        return self.list_separator.join(values)

    def format_datetime(self, moment: datetime) -> str:
        return self.datetime_format.format(
            month=moment.month, day=moment.day, hour=moment.hour, minute=moment.minute
        )

    def format_date(self, moment: datetime) -> str:
        return self.date_format.format(month=moment.month, day=moment.day)
