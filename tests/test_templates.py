"""Template lint: every response an action names exists, gets every {variable} it needs,
and every response in the domain is used by a rule, a story, a form or an action."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, List, Set, Tuple

import yaml

from tests.conftest import ROOT, VARIABLE

ACTIONS = sorted((ROOT / "actions").glob("*.py"))


def _module_dicts(tree: ast.Module) -> Dict[str, List[str]]:
    """Module-level constant dicts (e.g. RESPONSE_BY_FADES) -> their string values."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = [v.value for v in node.value.values if isinstance(v, ast.Constant)]
    return found


def uttered_responses() -> List[Tuple[str, str, Set[str]]]:
    """(file, response name or 'prefix*', keyword values passed) for every utter_message call."""
    calls = []
    for path in ACTIONS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_dicts(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "utter_message"):
                continue
            if len(node.keywords) == 1 and node.keywords[0].arg is None:
                continue  # the pass-through in actions/base.py (ReplyDispatcher)
            assert all(k.arg for k in node.keywords), f"{path.name}:{node.lineno}: pass template values by name, not **"
            keywords = {k.arg: k.value for k in node.keywords}
            if set(keywords) == {"json_message"}:
                continue  # a card: values only, labels come from the lexicon
            response = keywords.pop("response", None)
            assert response is not None, f"{path.name}: utter_message without response= (text belongs in domain.yml)"
            assert "text" not in keywords, f"{path.name}: utter_message(text=...) puts reply text in Python"
            values = set(keywords)
            if isinstance(response, ast.Constant):
                names = [response.value]
            elif isinstance(response, ast.JoinedStr):
                names = [response.values[0].value + "*"]
            elif isinstance(response, ast.IfExp):
                names = [response.body.value, response.orelse.value]
            elif isinstance(response, ast.Subscript) and isinstance(response.value, ast.Name):
                names = constants[response.value.id]
            else:
                raise AssertionError(f"{path.name}:{node.lineno}: cannot resolve the response name")
            calls.extend((path.name, name, values) for name in names)
    return calls


def domain_responses() -> Dict[str, List[dict]]:
    with open(ROOT / "domain.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["responses"]


def matching(name: str, responses: Dict[str, List[dict]]) -> List[str]:
    if name.endswith("*"):
        return [r for r in responses if r.startswith(name[:-1])]
    return [name] if name in responses else []


def test_every_response_named_by_an_action_exists_and_gets_its_variables():
    responses = domain_responses()
    calls = uttered_responses()
    assert calls, "no utter_message calls found"
    for file, name, values in calls:
        names = matching(name, responses)
        assert names, f"{file}: response {name} is not in domain.yml"
        for response in names:
            for variant in responses[response]:
                needed = set(VARIABLE.findall(variant.get("text", "")))
                assert needed <= values, f"{file}: {response} needs {sorted(needed - values)}"


def test_every_response_is_used_somewhere():
    responses = domain_responses()
    used: Set[str] = set()
    for _, name, _ in uttered_responses():
        used.update(matching(name, responses))
    dialogue_text = "\n".join(
        p.read_text(encoding="utf-8") for folder in ("data/rules", "data/stories") for p in (ROOT / folder).glob("*.yml")
    )
    used.update(re.findall(r"action: (utter_\w+)", dialogue_text))
    with open(ROOT / "domain.yml", encoding="utf-8") as handle:
        forms = yaml.safe_load(handle)["forms"]
    for form in forms.values():
        used.update(f"utter_ask_{slot}" for slot in form["required_slots"])
    unused = sorted(set(responses) - used)
    assert not unused, f"responses nobody utters: {unused}"


def test_every_template_is_polite_chinese_and_free_of_markup():
    for name, variants in domain_responses().items():
        for variant in variants:
            text = variant["text"]
            assert re.search(r"[\u4e00-\u9fff]", text), name
            assert "<" not in text and ">" not in text, f"{name} contains markup"
            assert not re.search(r"{\s*}", text), name


def test_actions_hold_no_chinese_reply_text():
    for path in ACTIONS + sorted((ROOT / "bot").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"[\u4e00-\u9fff]", source), f"{path} contains Chinese text"


def test_every_template_has_two_or_three_wordings_with_the_same_values_and_buttons():
    for name, variants in domain_responses().items():
        assert 2 <= len(variants) <= 3, f"{name} has {len(variants)} wordings"
        first = variants[0]
        for variant in variants[1:]:
            assert set(VARIABLE.findall(variant["text"])) == set(VARIABLE.findall(first["text"])), name
            assert variant.get("buttons") == first.get("buttons"), name
            assert variant["text"] != first["text"], name


def test_every_return_request_state_has_a_status_template():
    from bot.shop.orders.models import RETURN_STATES

    responses = domain_responses()
    assert all(f"utter_return_status_{state}" in responses for state in RETURN_STATES)


def test_responses_sent_by_rules_and_stories_never_need_a_value_that_can_be_missing():
    """A rule or story sends a response with slot values only: every {variable} must be a slot, and
    a slot that can be empty needs a wording without it (bot/training/checks.py, as for trainers)."""
    from bot.training.checks import template_problems

    with open(ROOT / "domain.yml", encoding="utf-8") as handle:
        domain = yaml.safe_load(handle)
    slots = set(domain.get("slots") or {})
    always = {n for n, spec in (domain.get("slots") or {}).items() if (spec or {}).get("initial_value") not in (None, "")}
    dialogue_text = "\n".join(
        p.read_text(encoding="utf-8") for folder in ("data/rules", "data/stories") for p in (ROOT / folder).glob("*.yml")
    )
    sent = set(re.findall(r"action: (utter_\w+)", dialogue_text))
    for form in domain["forms"].values():
        sent.update(f"utter_ask_{slot}" for slot in form["required_slots"])
    problems = [p for name in sorted(sent) for p in template_problems(name, domain["responses"].get(name, []), slots, always)]
    assert problems == []
