"""Validation a trainer runs before training: Rasa's own `rasa data validate` plus the project's
checks (enough examples, no example in two intents, every intent answered, template variables)."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Dict, List

from bot.training.project_data import VARIABLE, ProjectData
from bot.training.rasa_env import rasa_env

MIN_EXAMPLES = 10
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def project_checks(data: ProjectData) -> List[Dict[str, str]]:
    problems: List[Dict[str, str]] = []
    intents = data.intents()
    seen: Dict[str, str] = {}
    for name, info in intents.items():
        if len(info["examples"]) < MIN_EXAMPLES and name not in ("affirm", "deny"):
            problems.append(
                {"level": "error", "message": f"{name}: {len(info['examples'])} examples, at least {MIN_EXAMPLES} needed"}
            )
        if not info["has_rule"]:
            problems.append({"level": "error", "message": f"{name}: no rule or story answers this intent"})
        for example in info["examples"]:
            if example in seen and seen[example] != name:
                problems.append({"level": "error", "message": f"'{example}' is in both {seen[example]} and {name}"})
            seen[example] = name
    domain = data.domain()
    slots = set(domain.get("slots", {}) or {})
    slot_specs = domain.get("slots", {}) or {}
    always_filled = {name for name, spec in slot_specs.items() if (spec or {}).get("initial_value") not in (None, "")}
    for info in intents.values():
        for response in info["responses"]:
            problems.extend(template_problems(response, domain.get("responses", {}).get(response, []), slots, always_filled))
    return problems


def template_problems(response: str, variants: List[dict], slots: set, always_filled: set) -> List[Dict[str, str]]:
    """A response sent by a rule gets its values only from slots. A variable no slot supplies is an
    error; so is one whose slot may be empty (no initial value) when every wording needs it: the
    buyer would read "None" (the bot sends another wording, or offers a human). Add a wording
    without the variable for conversations where the slot is empty."""
    problems: List[Dict[str, str]] = []
    needed = [set(VARIABLE.findall(str(v.get("text", "")))) for v in variants]
    for variables in needed:
        unknown = variables - slots
        if unknown:
            problems.append(
                {
                    "level": "error",
                    "message": f"{response} is sent by a rule but needs values no slot supplies: {', '.join(sorted(unknown))}",
                }
            )
    maybe_empty = set.union(set(), *needed) & (slots - always_filled)
    for variable in sorted(maybe_empty):
        if all(variable in variables for variables in needed):
            problems.append(
                {
                    "level": "error",
                    "message": f"{response} needs {{{variable}}} in every wording, but the slot {variable} is empty until "
                    f"the buyer gives it: add a wording without {{{variable}}}",
                }
            )
    return problems


def rasa_validate(data: ProjectData) -> List[Dict[str, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", "data", "validate"],
        cwd=data.root,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    problems = []
    for line in ANSI.sub("", result.stdout + result.stderr).splitlines():
        # Responses sent by actions and the shop's external event intents are expected there.
        expected = "is not used in any story or rule" in line or "'EXTERNAL_" in line
        if "UserWarning:" in line and not expected:
            problems.append({"level": "warning", "message": line.split("UserWarning:", 1)[1].strip()})
        elif " ERROR " in line:
            problems.append({"level": "error", "message": line.split(" ERROR ", 1)[1].strip()})
    if result.returncode != 0 and not any(p["level"] == "error" for p in problems):
        problems.append({"level": "error", "message": "rasa data validate failed"})
    return problems


def validate(data: ProjectData) -> Dict[str, object]:
    problems = project_checks(data) + rasa_validate(data)
    return {"ok": not any(p["level"] == "error" for p in problems), "problems": problems}
