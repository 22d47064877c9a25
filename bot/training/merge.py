"""Three-way merge of a training document the trainer edited in the console (stored in the gateway
database) with the shipped file of a newer release: what the release changed since the text the
trainer's edit was based on is taken, what the trainer changed is kept.

The documents are Rasa YAML (domain.yml, data/nlu|rules|stories/*.yml), merged as structures:
- mappings key by key (domain: intents' settings, slots, responses, forms; a removed key stays
  removed unless the other side changed it);
- lists whose items have a name key by that name: NLU blocks by ``intent`` / ``synonym`` / ``lookup``
  / ``regex``, rules and stories by their name, domain lists (intents, entities, actions) by the item
  or, for a name with its settings, that name; the release's order first, then what only the trainer added;
- an NLU ``examples`` block line by line, like a list;
- anything else (a response's wordings, a rule's steps, a scalar) as a whole: when both sides
  changed it differently the trainer's version is kept and the path is reported as a conflict.
"""

from __future__ import annotations

import io
from typing import Any, Hashable, List, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

NAME_KEYS = ("intent", "synonym", "lookup", "regex", "rule", "story")
_MISSING: Any = object()


def round_trip_yaml() -> YAML:
    """ruamel.yaml as the trainer's documents are read and written: untouched parts keep their
    formatting and comments."""
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]  # ruamel types these attributes as None
    yaml.width = 4096  # type: ignore[assignment]
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def merge_documents(base: str, ours: str, theirs: str) -> Tuple[str, List[str]]:
    """``ours`` (the trainer's text, edited from ``base``, the shipped text then) merged with
    ``theirs`` (the shipped text now). Returns the merged text and the paths where both changed the
    same thing differently (the trainer's version kept there)."""
    if ours == base or ours == theirs:
        return theirs, []
    if theirs == base:
        return ours, []
    yaml = round_trip_yaml()
    conflicts: List[str] = []
    merged = _merge(yaml.load(base), yaml.load(ours), yaml.load(theirs), "", conflicts)
    out = io.StringIO()
    yaml.dump(merged, out)
    return out.getvalue(), conflicts


def _merge(base: Any, ours: Any, theirs: Any, path: str, conflicts: List[str]) -> Any:
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    if isinstance(ours, dict) and isinstance(theirs, dict):
        base_map = base if isinstance(base, dict) else {}
        return _merge_keyed(base_map, ours, theirs, path, conflicts, CommentedMap)
    if isinstance(ours, list) and isinstance(theirs, list):
        old, mine, new = (_keyed(items) for items in (base if isinstance(base, list) else [], ours, theirs))
        if old is not None and mine is not None and new is not None:
            return CommentedSeq(_merge_keyed(old, mine, new, path, conflicts, dict).values())
    if _is_examples(ours) and _is_examples(theirs):
        old_lines, my_lines, new_lines = (
            {line: line for line in example_lines(text)} for text in (base if _is_examples(base) else "", ours, theirs)
        )
        merged = _merge_keyed(old_lines, my_lines, new_lines, path, conflicts, dict)
        return LiteralScalarString("".join(f"- {line}\n" for line in merged.values()))
    conflicts.append(path or "/")
    return ours


def _merge_keyed(base: Any, ours: Any, theirs: Any, path: str, conflicts: List[str], kind: Any) -> Any:
    """Mappings (or keyed lists as dicts) merged key by key; the release's order, then the trainer's
    additions."""
    merged = kind()
    order = list(theirs) + [key for key in ours if key not in theirs]
    for key in order:
        old, mine, new = base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING)
        where = f"{path}/{_label(key)}"
        if mine is _MISSING:
            if old is _MISSING:
                merged[key] = new  # added by the release
            elif new != old:
                conflicts.append(where)  # the trainer removed what the release changed: the release's kept
                merged[key] = new
            continue  # removed by the trainer
        if new is _MISSING:
            if old is _MISSING:
                merged[key] = mine  # added by the trainer
            elif mine != old:
                conflicts.append(where)  # the release removed what the trainer changed: the trainer's kept
                merged[key] = mine
            continue  # removed by the release
        merged[key] = _merge(old if old is not _MISSING else None, mine, new, where, conflicts)
    return merged


def _item_key(item: Any) -> Optional[Hashable]:
    if isinstance(item, dict):
        for name in NAME_KEYS:
            if name in item and isinstance(item[name], (str, int)):
                return (name, item[name])
        if len(item) == 1 and isinstance(next(iter(item.values())), (dict, type(None))):
            return ("single", next(iter(item)))  # a name and its settings ({action_x: {send_domain: true}})
        return None
    if isinstance(item, (str, int, float, bool)):
        return ("scalar", item)
    return None


def _keyed(items: Sequence[Any]) -> Optional[dict]:
    """A list as key -> item when every item has a key and no key repeats; else None."""
    keyed: dict = {}
    for item in items:
        key = _item_key(item)
        if key is None or key in keyed:
            return None
        keyed[key] = item
    return keyed


def _label(key: Any) -> str:
    return str(key[1]) if isinstance(key, tuple) else str(key)


def _is_examples(value: Any) -> bool:
    return isinstance(value, str) and all(line.strip().startswith("- ") for line in value.splitlines() if line.strip())


def example_lines(text: str) -> List[str]:
    """The examples of an NLU ``examples: |`` block ("- text" lines)."""
    return [line.strip()[2:].strip() for line in text.splitlines() if line.strip().startswith("- ")]
