"""The shop lexicon (data/shop/lexicon.yml): colour and size words, reason keywords, formats."""

from __future__ import annotations

from dataclasses import dataclass
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import yaml


@dataclass(frozen=True)
class Lexicon:
    colors: Dict[str, List[str]]
    couriers: List[str]
    size_suffixes: List[str]
    return_reasons: Dict[str, List[str]]
    exchange_words: List[str]
    missing_item_words: List[str]
    height_units: Dict[str, float]
    weight_units: Dict[str, float]
    cheaper_elsewhere: List[str]
    list_separator: str
    card_labels: Dict[str, Any]
    surcharge_format: str
    item_format: str
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
            missing_item_words=list(raw.get("missing_item_words", [])),
            height_units={str(k): float(v) for k, v in raw.get("height_units", {}).items()},
            weight_units={str(k): float(v) for k, v in raw.get("weight_units", {}).items()},
            cheaper_elsewhere=list(raw.get("cheaper_elsewhere", [])),
            list_separator=raw.get("list_separator", ", "),
            card_labels=raw.get("card_labels", {}),
            surcharge_format=raw["surcharge_format"],
            item_format=raw["item_format"],
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

    def reports_missing_item(self, text: str) -> bool:
        return any(word in text for word in self.missing_item_words)

    def body_measurements(self, text: str) -> Dict[str, float]:
        """Height in cm and weight in jin (500 g) from the buyer's words, units from the lexicon."""
        found: Dict[str, float] = {}
        spans = []
        for key, units in (("weight_jin", self.weight_units), ("height_cm", self.height_units)):
            alternatives = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
            match = re.search(rf"(\d+(?:\.\d+)?)\s*({alternatives})", text) if alternatives else None
            if match:
                found[key] = float(match.group(1)) * units[match.group(2)]
                spans.append(match.span())
        bare = [
            float(m.group(0))
            for m in re.finditer(r"\d+(?:\.\d+)?", text)
            if not any(start <= m.start() < end for start, end in spans)
        ]
        for number in bare:
            if "height_cm" not in found and 130 <= number <= 210:
                found["height_cm"] = number
            elif "weight_jin" not in found and 30 <= number <= 300:
                # Without a unit, small numbers are kilograms and larger ones jin.
                found["weight_jin"] = number * 2 if number < 80 else number
        return found

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
