"""The shop's letter-size chart (data/shop/size_chart.yml) and size recommendations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import yaml


@dataclass(frozen=True)
class SizeRow:
    size: str
    label: str
    max_height: float
    max_weight: float


@dataclass(frozen=True)
class SizeChart:
    rows: List[SizeRow]

    @classmethod
    def load(cls, path: Path) -> "SizeChart":
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        rows = [
            SizeRow(str(r["size"]), str(r["label"]), float(r["max_height"]), float(r["max_weight"])) for r in raw["letter_sizes"]
        ]
        return cls(sorted(rows, key=lambda r: (r.max_height, r.max_weight)))

    def recommend(self, height_cm: float, weight_jin: float) -> Optional[SizeRow]:
        """Smallest size covering both; None when the buyer is beyond the chart."""
        for row in self.rows:
            if height_cm <= row.max_height and weight_jin <= row.max_weight:
                return row
        return None
