"""Edits the same YAML documents a trainer using git and the Rasa CLI edits (data/nlu, data/rules,
data/stories, domain.yml), with ruamel.yaml round-trips: untouched parts keep their formatting
and comments, so the diff is reviewable. Where the documents live is the store's business
(bot/training/documents.py): the checkout's files for the command line, the gateway database for
the console. Every write is validated first and made as one edit of the store; an edit that lost
a race with another one is run again on the new text, so two trainers never lose each other's
change."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.training.documents import Documents, DocumentStore, EditConflict, FileDocuments, export_project
from bot.training.merge import example_lines, round_trip_yaml

INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
RESPONSE_NAME = re.compile(r"^utter_[a-z0-9_]{1,60}$")
ACTION_NAME = re.compile(r"^(utter|action)_[a-z0-9_]{1,60}$")
VARIABLE = re.compile(r"{([^{}\s]+)}")
TRAINER_NLU = "data/nlu/trainer.yml"
TRAINER_RULES = "data/rules/trainer.yml"
TRAINER_STORIES = "data/stories/trainer.yml"
MAX_EXAMPLE_CHARS = 200
EDIT_ATTEMPTS = 5  # an edit that keeps losing races this often is refused (edit_conflict)


def problem(code: str, message: str, **params: Any) -> Dict[str, Any]:
    """One refusal or validation finding: a ``code`` the consoles map to their own language
    (gateway_strings.yml, trainer.errors), its ``params``, and an English ``message`` for the
    terminal and the logs."""
    return {"code": code, "params": params, "message": message}


class DataError(ValueError):
    """A write that was refused. ``problems`` are problem() dicts; ``errors`` their English messages
    (the command line prints those); the console gets each problem's code and params."""

    def __init__(self, problems: List[Dict[str, Any]], conflict: bool = False) -> None:
        self.problems = problems
        self.errors = [p["message"] for p in problems]
        super().__init__("; ".join(self.errors))
        self.conflict = conflict


def _examples(block: Any) -> List[str]:
    return example_lines(str(block.get("examples", "")))


def _examples_block(examples: List[str]) -> LiteralScalarString:
    return LiteralScalarString("".join(f"- {e}\n" for e in examples))


def action_names(domain: Dict[str, Any]) -> List[str]:
    """domain.yml lists actions as names or as {name: {send_domain: true}}."""
    return [a if isinstance(a, str) else next(iter(a)) for a in domain.get("actions", []) or []]


class ProjectData:
    """The project's training data. ``root`` is the project the process ships with (config.yml,
    data/, domain.yml); ``store`` holds the documents (default: the files of ``root``)."""

    def __init__(
        self, root: Path, store: Optional[DocumentStore] = None, fixed_intents: Optional[List[str]] = None, author: str = ""
    ) -> None:
        self.root = Path(root)
        self.store: DocumentStore = store if store is not None else FileDocuments(self.root)
        self.docs: Documents = self.store  # inside an edit: that edit's view
        self.fixed_intents = set(fixed_intents or [])
        self.author = author

    @classmethod
    def with_current_intents_fixed(cls, root: Path, store: Optional[DocumentStore] = None) -> "ProjectData":
        """The project as the gateway opens it: the intents the shipped project has are not editable."""
        return cls(root, store, fixed_intents=list(cls(root).intents()))

    def by(self, author: str) -> "ProjectData":
        """The same project, its edits recorded as ``author``'s."""
        found = copy.copy(self)
        found.author = author
        return found

    def export(self, target: Path) -> Path:
        """A complete training project in ``target``: the shipped files with the stored documents over them."""
        return export_project(self.root, self.store.stored(), target)

    # -- io --------------------------------------------------------------------------------
    def _edited(self, change: Callable[["ProjectData"], None]) -> None:
        """Runs ``change`` on a view of one edit of the store; again, holding the store's edit lock,
        on the new text when another edit changed what it read."""
        for attempt in range(EDIT_ATTEMPTS):
            try:
                with self.store.edit(self.author, exclusive=attempt > 0) as view:
                    bound = copy.copy(self)
                    bound.docs = view
                    change(bound)
                return
            except EditConflict:
                continue
        raise DataError([problem("edit_conflict", "the data kept changing during this edit: try again")], conflict=True)

    def _load(self, relative: str, default_key: Optional[str] = None) -> CommentedMap:
        text = self.docs.read(relative)
        if text is not None:
            return round_trip_yaml().load(text) or CommentedMap()
        data = CommentedMap()
        data["version"] = "3.1"
        if default_key:
            data[default_key] = CommentedSeq()
        return data

    def _save(self, relative: str, data: CommentedMap) -> None:
        text = io.StringIO()
        round_trip_yaml().dump(data, text)
        self.docs.write(relative, text.getvalue())

    def _nlu_files(self) -> List[str]:
        return self.docs.paths("data/nlu")

    # -- reading ---------------------------------------------------------------------------
    def domain(self) -> CommentedMap:
        return self._load("domain.yml")

    def intent_names(self) -> List[str]:
        """The domain's intents a buyer's message can have (not the shop's EXTERNAL_ events)."""
        return [n for n in self.domain().get("intents", []) if isinstance(n, str) and not n.startswith("EXTERNAL_")]

    def intents(self) -> Dict[str, Dict[str, Any]]:
        """Every domain intent with its examples (from all NLU files), responses and rule/story."""
        domain = self.domain()
        found: Dict[str, Dict[str, Any]] = {
            name: {
                "name": name,
                "examples": [],
                "responses": [],
                "has_rule": False,
                "actions": [],
                "editable": name not in self.fixed_intents,
            }
            for name in self.intent_names()
        }
        for path in self._nlu_files():
            for block in self._load(path).get("nlu", []) or []:
                if "intent" in block and block["intent"] in found:
                    found[block["intent"]]["examples"].extend(_examples(block))
        for relative in ("data/rules", "data/stories"):
            for path in self.docs.paths(relative):
                text = self.docs.read(path) or ""
                for intent in re.findall(r"intent:\s*([A-Za-z0-9_]+)", text):
                    if intent in found:
                        found[intent]["has_rule"] = True
                for intent, action in re.findall(
                    r"intent:\s*([A-Za-z0-9_]+)\s*\n\s*- action:\s*((?:utter|action)_[A-Za-z0-9_]+)", text
                ):
                    kind = "responses" if action.startswith("utter_") else "actions"
                    if intent in found and action not in found[intent][kind]:
                        found[intent][kind].append(action)
        templates = domain.get("responses", {}) or {}
        for info in found.values():
            info["wordings"] = {
                name: [str(v.get("text", "")) for v in templates.get(name, []) or [] if isinstance(v, dict) and v.get("text")]
                for name in info["responses"]
            }
        return found

    def all_examples(self) -> Dict[str, str]:
        """example text -> its intent."""
        return {e: name for name, info in self.intents().items() for e in info["examples"]}

    # -- validation ------------------------------------------------------------------------
    def _check_example(self, intent: str, text: str, errors: List[Dict[str, Any]], replacing: str = "") -> str:
        text = (text or "").strip()
        if not text:
            errors.append(problem("example_empty", "empty example"))
        elif len(text) > MAX_EXAMPLE_CHARS:
            errors.append(
                problem(
                    "example_too_long",
                    f"example longer than {MAX_EXAMPLE_CHARS} characters: {text[:20]}…",
                    text=text[:20],
                    max=MAX_EXAMPLE_CHARS,
                )
            )
        elif "\n" in text or text.startswith(("-", "#", "/")):
            errors.append(problem("example_not_plain", f"example must be one plain line: {text}", text=text))
        elif text != replacing:
            other = self.all_examples().get(text)
            if other is not None:
                errors.append(problem("example_duplicate", f"'{text}' is already an example of {other}", text=text, intent=other))
        return text

    # -- writing ---------------------------------------------------------------------------
    def add_intent(self, name: str, examples: List[str]) -> None:
        self._edited(lambda project: project._add_intent(name, examples))

    def _add_intent(self, name: str, examples: List[str]) -> None:
        errors: List[Dict[str, Any]] = []
        if not INTENT_NAME.match(name or ""):
            errors.append(
                problem("intent_name_invalid", f"invalid intent name '{name}': lower-case letters, digits and _ only", name=name)
            )
        if name in self.intents():
            raise DataError([problem("intent_exists", f"intent {name} already exists", name=name)], conflict=True)
        cleaned = [self._check_example(name, e, errors) for e in examples]
        if len(set(cleaned)) != len(cleaned):
            errors.append(problem("example_repeated", "the same example is given twice"))
        if not cleaned:
            errors.append(problem("examples_missing", "give at least one example"))
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
        self._edited(lambda project: project._add_example(intent, text))

    def _add_example(self, intent: str, text: str) -> None:
        errors: List[Dict[str, Any]] = []
        if intent not in self.intents():
            raise DataError([problem("intent_unknown", f"unknown intent {intent}", intent=intent)])
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
        self._edited(lambda project: project._replace_example(intent, text, None))

    def edit_example(self, intent: str, old: str, new: str) -> None:
        """Rewrites one example where it is (its file, its place in the list), validated like a new one."""
        self._edited(lambda project: project._edit_example(intent, old, new))

    def _edit_example(self, intent: str, old: str, new: str) -> None:
        errors: List[Dict[str, Any]] = []
        new = self._check_example(intent, new, errors, replacing=old)
        if errors:
            raise DataError(errors)
        if new != old:
            self._replace_example(intent, old, new)

    def _replace_example(self, intent: str, old: str, new: Optional[str]) -> None:
        """``old`` becomes ``new`` in the NLU file that has it (None: removed)."""
        for relative in self._nlu_files():
            data = self._load(relative)
            for block in data.get("nlu", []) or []:
                if block.get("intent") == intent and old in _examples(block):
                    kept = [(new if e == old else e) for e in _examples(block)]
                    block["examples"] = _examples_block([e for e in kept if e is not None])
                    self._save(relative, data)
                    return
        raise DataError([problem("example_not_found", f"'{old}' is not an example of {intent}", text=old, intent=intent)])

    def set_response(self, name: str, texts: List[str], known_variables: List[str]) -> None:
        self._edited(lambda project: project._set_response(name, texts, known_variables))

    def _set_response(self, name: str, texts: List[str], known_variables: List[str]) -> None:
        errors: List[Dict[str, Any]] = []
        if not RESPONSE_NAME.match(name or ""):
            errors.append(
                problem(
                    "response_name_invalid",
                    f"invalid response name '{name}': utter_ and lower-case letters, digits, _",
                    name=name,
                )
            )
        texts = [t.strip() for t in texts if t and t.strip()]
        if not texts:
            errors.append(problem("wordings_missing", "give at least one wording"))
        for text in texts:
            unknown = sorted(set(VARIABLE.findall(text)) - set(known_variables))
            if unknown:
                errors.append(
                    problem(
                        "variable_unknown",
                        f"unknown variable {', '.join(unknown)} (known: {', '.join(known_variables)})",
                        variables=unknown,
                        known=list(known_variables),
                    )
                )
            if "<" in text or ">" in text:
                errors.append(problem("markup_in_reply", "no markup in replies"))
        if errors:
            raise DataError(errors)
        domain = self.domain()
        domain["responses"][name] = CommentedSeq([CommentedMap([("text", t)]) for t in texts])
        self._save("domain.yml", domain)

    def add_rule(self, intent: str, response: str) -> None:
        self._edited(lambda project: project._add_rule(intent, response))

    def _add_rule(self, intent: str, response: str) -> None:
        domain = self.domain()
        errors = []
        if intent not in domain.get("intents", []):
            errors.append(problem("intent_unknown", f"unknown intent {intent}", intent=intent))
        if response not in domain.get("responses", {}) and response not in action_names(domain):
            errors.append(problem("response_unknown", f"unknown response or action {response}", name=response))
        if errors:
            raise DataError(errors)
        rules = self._load(TRAINER_RULES, "rules")
        rule = CommentedMap()
        rule["rule"] = f"{intent} is answered with {response}"
        rule["steps"] = CommentedSeq([CommentedMap([("intent", intent)]), CommentedMap([("action", response)])])
        rules["rules"] = CommentedSeq([r for r in rules.get("rules", []) if r.get("rule") != rule["rule"]] + [rule])
        self._save(TRAINER_RULES, rules)

    def add_story(self, name: str, steps: List[Dict[str, str]]) -> None:
        self._edited(lambda project: project._add_story(name, steps))

    def _add_story(self, name: str, steps: List[Dict[str, str]]) -> None:
        domain = self.domain()
        errors = []
        if not name or len(name) > 100:
            errors.append(problem("story_name_missing", "a story needs a name"))
        if not steps or "intent" not in steps[0]:
            errors.append(problem("story_start_intent", "a story starts with an intent"))
        for step in steps:
            if "intent" in step and step["intent"] not in domain.get("intents", []):
                errors.append(problem("intent_unknown", f"unknown intent {step['intent']}", intent=step["intent"]))
            if (
                "action" in step
                and step["action"] not in domain.get("responses", {})
                and step["action"] not in action_names(domain)
            ):
                errors.append(problem("response_unknown", f"unknown action {step['action']}", name=step["action"]))
            if not ({"intent", "action"} & set(step)):
                errors.append(problem("story_step_invalid", f"step {step} is neither an intent nor an action"))
        if errors:
            raise DataError(errors)
        stories = self._load(TRAINER_STORIES, "stories")
        story = CommentedMap()
        story["story"] = name
        story["steps"] = CommentedSeq([CommentedMap(list(s.items())) for s in steps])
        stories["stories"].append(story)
        self._save(TRAINER_STORIES, stories)
