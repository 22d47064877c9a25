"""Edits the same YAML files a trainer using git and the Rasa CLI edits (data/nlu, data/rules,
data/stories, domain.yml), with ruamel.yaml round-trips: untouched parts keep their formatting
and comments, so the diff is reviewable. Every write is validated first and serialised by a
file lock, so two trainers never lose each other's change."""

from __future__ import annotations

import fcntl
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
RESPONSE_NAME = re.compile(r"^utter_[a-z0-9_]{1,60}$")
ACTION_NAME = re.compile(r"^(utter|action)_[a-z0-9_]{1,60}$")
VARIABLE = re.compile(r"{([^{}\s]+)}")
TRAINER_NLU = "data/nlu/trainer.yml"
TRAINER_RULES = "data/rules/trainer.yml"
TRAINER_STORIES = "data/stories/trainer.yml"
MAX_EXAMPLE_CHARS = 200


class DataError(ValueError):
    """A write that was refused; ``errors`` are messages for the trainer."""

    def __init__(self, errors: List[str], conflict: bool = False) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.conflict = conflict


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]  # ruamel types these attributes as None
    yaml.width = 4096  # type: ignore[assignment]
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _examples(block: Any) -> List[str]:
    return [line.strip()[2:].strip() for line in str(block.get("examples", "")).splitlines() if line.strip().startswith("- ")]


def _examples_block(examples: List[str]) -> LiteralScalarString:
    return LiteralScalarString("".join(f"- {e}\n" for e in examples))


def action_names(domain: Dict[str, Any]) -> List[str]:
    """domain.yml lists actions as names or as {name: {send_domain: true}}."""
    return [a if isinstance(a, str) else next(iter(a)) for a in domain.get("actions", []) or []]


class ProjectData:
    def __init__(self, root: Path, fixed_intents: Optional[List[str]] = None) -> None:
        self.root = Path(root)
        self.fixed_intents = set(fixed_intents or [])

    @classmethod
    def with_current_intents_fixed(cls, root: Path) -> "ProjectData":
        """The project as the gateway opens it: the intents there at start are not editable."""
        return cls(root, fixed_intents=list(cls(root).intents()))

    # -- io --------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        lock_path = self.root / ".trainer.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self, relative: str, default_key: Optional[str] = None) -> CommentedMap:
        path = self.root / relative
        if path.exists():
            return _yaml().load(path.read_text(encoding="utf-8")) or CommentedMap()
        data = CommentedMap()
        data["version"] = "3.1"
        if default_key:
            data[default_key] = CommentedSeq()
        return data

    def _save(self, relative: str, data: CommentedMap) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            _yaml().dump(data, handle)
        temporary.replace(path)

    def _nlu_files(self) -> List[Path]:
        return sorted((self.root / "data" / "nlu").glob("*.yml"))

    # -- reading ---------------------------------------------------------------------------
    def domain(self) -> CommentedMap:
        return self._load("domain.yml")

    def intents(self) -> Dict[str, Dict[str, Any]]:
        """Every domain intent with its examples (from all NLU files), responses and rule/story."""
        domain = self.domain()
        found: Dict[str, Dict[str, Any]] = {}
        for name in domain.get("intents", []):
            if isinstance(name, str) and not name.startswith("EXTERNAL_"):
                found[name] = {
                    "name": name,
                    "examples": [],
                    "responses": [],
                    "has_rule": False,
                    "editable": name not in self.fixed_intents,
                }
        for path in self._nlu_files():
            for block in (_yaml().load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
                if "intent" in block and block["intent"] in found:
                    found[block["intent"]]["examples"].extend(_examples(block))
        for relative in ("data/rules", "data/stories"):
            for path in sorted((self.root / relative).glob("*.yml")):
                text = path.read_text(encoding="utf-8")
                for intent in re.findall(r"intent:\s*([A-Za-z0-9_]+)", text):
                    if intent in found:
                        found[intent]["has_rule"] = True
                for intent, action in re.findall(r"intent:\s*([A-Za-z0-9_]+)\s*\n\s*- action:\s*(utter_[A-Za-z0-9_]+)", text):
                    if intent in found and action not in found[intent]["responses"]:
                        found[intent]["responses"].append(action)
        return found

    def all_examples(self) -> Dict[str, str]:
        """example text -> its intent."""
        return {e: name for name, info in self.intents().items() for e in info["examples"]}

    # -- validation ------------------------------------------------------------------------
    def _check_example(self, intent: str, text: str, errors: List[str]) -> str:
        text = (text or "").strip()
        if not text:
            errors.append("empty example")
        elif len(text) > MAX_EXAMPLE_CHARS:
            errors.append(f"example longer than {MAX_EXAMPLE_CHARS} characters: {text[:20]}…")
        elif "\n" in text or text.startswith(("-", "#", "/")):
            errors.append(f"example must be one plain line: {text}")
        else:
            other = self.all_examples().get(text)
            if other is not None:
                errors.append(f"'{text}' is already an example of {other}")
        return text

    # -- writing ---------------------------------------------------------------------------
    def add_intent(self, name: str, examples: List[str]) -> None:
        with self.locked():
            errors: List[str] = []
            if not INTENT_NAME.match(name or ""):
                errors.append(f"invalid intent name '{name}': lower-case letters, digits and _ only")
            if name in self.intents():
                raise DataError([f"intent {name} already exists"], conflict=True)
            cleaned = [self._check_example(name, e, errors) for e in examples]
            if len(set(cleaned)) != len(cleaned):
                errors.append("the same example is given twice")
            if not cleaned:
                errors.append("give at least one example")
            if errors:
                raise DataError(errors)
            domain = self.domain()
            domain["intents"].append(name)
            self._save("domain.yml", domain)
            nlu = self._load(TRAINER_NLU, "nlu")
            block = CommentedMap()
            block["intent"] = name
            block["examples"] = _examples_block(cleaned)
            nlu["nlu"].append(block)
            self._save(TRAINER_NLU, nlu)

    def add_example(self, intent: str, text: str) -> None:
        with self.locked():
            errors: List[str] = []
            if intent not in self.intents():
                raise DataError([f"unknown intent {intent}"])
            text = self._check_example(intent, text, errors)
            if errors:
                raise DataError(errors)
            nlu = self._load(TRAINER_NLU, "nlu")
            block = next((b for b in nlu["nlu"] if b.get("intent") == intent), None)
            if block is None:
                block = CommentedMap()
                block["intent"] = intent
                block["examples"] = _examples_block([])
                nlu["nlu"].append(block)
            block["examples"] = _examples_block(_examples(block) + [text])
            self._save(TRAINER_NLU, nlu)

    def delete_example(self, intent: str, text: str) -> None:
        with self.locked():
            for path in self._nlu_files():
                relative = str(path.relative_to(self.root))
                data = self._load(relative)
                changed = False
                for block in data.get("nlu", []) or []:
                    if block.get("intent") == intent and text in _examples(block):
                        block["examples"] = _examples_block([e for e in _examples(block) if e != text])
                        changed = True
                if changed:
                    self._save(relative, data)
                    return
            raise DataError([f"'{text}' is not an example of {intent}"])

    def set_response(self, name: str, texts: List[str], known_variables: List[str]) -> None:
        with self.locked():
            errors: List[str] = []
            if not RESPONSE_NAME.match(name or ""):
                errors.append(f"invalid response name '{name}': utter_ and lower-case letters, digits, _")
            texts = [t.strip() for t in texts if t and t.strip()]
            if not texts:
                errors.append("give at least one wording")
            for text in texts:
                unknown = sorted(set(VARIABLE.findall(text)) - set(known_variables))
                if unknown:
                    errors.append(f"unknown variable {', '.join(unknown)} (known: {', '.join(known_variables)})")
                if "<" in text or ">" in text:
                    errors.append("no markup in replies")
            if errors:
                raise DataError(errors)
            domain = self.domain()
            domain["responses"][name] = CommentedSeq([CommentedMap([("text", t)]) for t in texts])
            self._save("domain.yml", domain)

    def add_rule(self, intent: str, response: str) -> None:
        with self.locked():
            domain = self.domain()
            errors = []
            if intent not in domain.get("intents", []):
                errors.append(f"unknown intent {intent}")
            if response not in domain.get("responses", {}) and response not in action_names(domain):
                errors.append(f"unknown response or action {response}")
            if errors:
                raise DataError(errors)
            rules = self._load(TRAINER_RULES, "rules")
            rule = CommentedMap()
            rule["rule"] = f"{intent} is answered with {response}"
            rule["steps"] = CommentedSeq([CommentedMap([("intent", intent)]), CommentedMap([("action", response)])])
            rules["rules"] = CommentedSeq([r for r in rules.get("rules", []) if r.get("rule") != rule["rule"]] + [rule])
            self._save(TRAINER_RULES, rules)

    def add_story(self, name: str, steps: List[Dict[str, str]]) -> None:
        with self.locked():
            domain = self.domain()
            errors = []
            if not name or len(name) > 100:
                errors.append("a story needs a name")
            if not steps or "intent" not in steps[0]:
                errors.append("a story starts with an intent")
            for step in steps:
                if "intent" in step and step["intent"] not in domain.get("intents", []):
                    errors.append(f"unknown intent {step['intent']}")
                if (
                    "action" in step
                    and step["action"] not in domain.get("responses", {})
                    and step["action"] not in action_names(domain)
                ):
                    errors.append(f"unknown action {step['action']}")
                if not ({"intent", "action"} & set(step)):
                    errors.append(f"step {step} is neither an intent nor an action")
            if errors:
                raise DataError(errors)
            stories = self._load(TRAINER_STORIES, "stories")
            story = CommentedMap()
            story["story"] = name
            story["steps"] = CommentedSeq([CommentedMap(list(s.items())) for s in steps])
            stories["stories"].append(story)
            self._save(TRAINER_STORIES, stories)
