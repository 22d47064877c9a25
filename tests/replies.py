"""Recognise the bot's replies: does a text contain one of a response's wordings, filled with
the expected values? Lets end-to-end tests assert what the buyer reads whatever wording was drawn."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, List, Pattern

import yaml

from tests.conftest import ROOT

VARIABLE = re.compile(r"{([^{}\s]+)}")


@lru_cache(maxsize=1)
def responses() -> Dict[str, List[dict]]:
    with open(ROOT / "domain.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["responses"]


def _pattern(text: str, known: Dict[str, str]) -> Pattern:
    """Known values are matched literally, the other variables as any text."""
    parts, seen, last = [], set(), 0
    for match in VARIABLE.finditer(text):
        parts.append(re.escape(text[last:match.start()]))
        name = match.group(1)
        if name in known:
            parts.append(re.escape(known[name]))
        else:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = match.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts))


def said(text: str, response: str, **values: object) -> bool:
    """True when ``text`` contains a wording of ``response`` whose variables equal ``values``."""
    known = {k: str(v) for k, v in values.items()}
    for variant in responses()[response]:
        pattern = _pattern(variant["text"], known)
        if any(pattern.fullmatch(line.strip()) for line in text.splitlines()):
            return True
    return False


def any_response(text: str) -> List[str]:
    """Names of the responses the text's lines are wordings of."""
    return [name for name in responses() if said(text, name)]
