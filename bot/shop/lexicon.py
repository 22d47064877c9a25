"""The shop lexicon (data/shop/lexicon.yml): colour and size words, reason keywords, formats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

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
    order_time_words: Dict[str, List[float]] = field(default_factory=dict)
    order_state_words: Dict[str, List[str]] = field(default_factory=dict)
    order_pick_format: str = "{items} {order_id}"
    order_pick_positions: Dict[str, int] = field(default_factory=dict)  # word -> index among the orders offered
    order_pick_every: List[str] = field(default_factory=list)
    order_pick_other: List[str] = field(default_factory=list)
    places: Dict[str, List[str]] = field(default_factory=dict)
    own_place_words: List[str] = field(default_factory=list)
    order_reference_words: List[str] = field(default_factory=list)
    care_topics: Dict[str, List[str]] = field(default_factory=dict)
    size_order: List[str] = field(default_factory=list)

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
            order_time_words={str(k): [float(x) for x in v] for k, v in (raw.get("order_time_words") or {}).items()},
            order_state_words={str(k): list(v or []) for k, v in (raw.get("order_state_words") or {}).items()},
            order_pick_format=raw.get("order_pick_format", "{items} {order_id}"),
            order_pick_positions={
                str(word): int(index) for index, words in (raw.get("order_pick_positions") or {}).items() for word in words or []
            },
            order_pick_every=list(raw.get("order_pick_every") or []),
            order_pick_other=list(raw.get("order_pick_other") or []),
            places={str(k): list(v or []) for k, v in (raw.get("places") or {}).items()},
            own_place_words=list(raw.get("own_place_words") or []),
            order_reference_words=list(raw.get("order_reference_words") or []),
            care_topics={str(k): list(v or []) for k, v in (raw.get("care_topics") or {}).items()},
            size_order=[str(s) for s in raw.get("size_order") or []],
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
        return self.datetime_format.format(month=moment.month, day=moment.day, hour=moment.hour, minute=moment.minute)

    def format_date(self, moment: datetime) -> str:
        return self.date_format.format(month=moment.month, day=moment.day)

    def size_key(self, size: str) -> str:
        """A size written loosely (200X230, 200 x 230cm, xl with a size suffix) -> a key to compare with the catalogue."""
        key = (self.normalise_size(size) or "").lower().replace("×", "x").replace("*", "x").replace(" ", "")
        return key[:-2] if key.endswith("cm") else key

    def sort_sizes(self, sizes: Iterable[str]) -> List[str]:
        """Letter sizes in the lexicon's order, numeric sizes by number, the rest as given."""
        order = {s: i for i, s in enumerate(self.size_order)}
        sizes = list(dict.fromkeys(sizes))

        def key(pair):
            position, size = pair
            number = re.match(r"\d+(?:\.\d+)?", size)
            if size in order:
                return (0, order[size], position)
            if number:
                return (1, float(number.group(0)), position)
            return (2, 0, position)

        return [size for _, size in sorted(enumerate(sizes), key=key)]

    def places_named(self, text: str) -> List[Tuple[str, str]]:
        """(province, the word the buyer wrote first for it) for each place in the text, in order."""
        text = text or ""
        first: Dict[str, Tuple[int, int, str]] = {}
        for province, words in self.places.items():
            for word in [province, *words]:
                at = text.find(word)
                if at >= 0:
                    key = (at, -len(word), word)
                    if province not in first or key < first[province]:
                        first[province] = key
        return [(p, key[2]) for p, key in sorted(first.items(), key=lambda item: item[1])]

    def means_own_place(self, text: str) -> bool:
        return any(word in (text or "") for word in self.own_place_words)

    def care_topic(self, text: str) -> Optional[str]:
        """The care topic asked about (shrink, pilling, deform, fading, washing), first in the file wins."""
        for topic, words in self.care_topics.items():
            if any(word in (text or "") for word in words):
                return topic
        return None
