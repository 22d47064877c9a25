"""Validation a trainer runs before training: Rasa's own `rasa data validate` plus the project's
checks (enough examples, no example in two intents, every intent answered, template variables)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from bot.training.project_data import VARIABLE, ProjectData, problem
from bot.training.rasa_env import rasa_env

MIN_EXAMPLES = 10
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def finding(level: str, code: str, message: str, **params: Any) -> Dict[str, Any]:
    """A validation finding: its level ("error" | "warning") and a problem() (code, params, message)."""
    return {"level": level, **problem(code, message, **params)}


def project_checks(data: ProjectData) -> List[Dict[str, Any]]:
    problems: List[Dict[str, Any]] = []
    intents = data.intents()
    seen: Dict[str, str] = {}
    for name, info in intents.items():
        if len(info["examples"]) < MIN_EXAMPLES and name not in ("affirm", "deny"):
            problems.append(
                finding(
                    "error",
                    "too_few_examples",
                    f"{name}: {len(info['examples'])} examples, at least {MIN_EXAMPLES} needed",
                    intent=name,
                    count=len(info["examples"]),
                    min=MIN_EXAMPLES,
                )
            )
        if not info["has_rule"]:
            problems.append(finding("error", "intent_unanswered", f"{name}: no rule or story answers this intent", intent=name))
        for example in info["examples"]:
            if example in seen and seen[example] != name:
                problems.append(
                    finding(
                        "error",
                        "example_in_two_intents",
                        f"'{example}' is in both {seen[example]} and {name}",
                        text=example,
                        intent=seen[example],
                        other=name,
                    )
                )
            seen[example] = name
    domain = data.domain()
    slots = set(domain.get("slots", {}) or {})
    slot_specs = domain.get("slots", {}) or {}
    always_filled = {name for name, spec in slot_specs.items() if (spec or {}).get("initial_value") not in (None, "")}
    for info in intents.values():
        for response in info["responses"]:
            problems.extend(template_problems(response, domain.get("responses", {}).get(response, []), slots, always_filled))
    return problems


def template_problems(response: str, variants: List[dict], slots: set, always_filled: set) -> List[Dict[str, Any]]:
    """A response sent by a rule gets its values only from slots. A variable no slot supplies is an
    error; so is one whose slot may be empty (no initial value) when every wording needs it: the
    buyer would read "None" (the bot sends another wording, or offers a human). Add a wording
    without the variable for conversations where the slot is empty."""
    problems: List[Dict[str, Any]] = []
    needed = [set(VARIABLE.findall(str(v.get("text", "")))) for v in variants]
    for variables in needed:
        unknown = variables - slots
        if unknown:
            problems.append(
                finding(
                    "error",
                    "template_variable_unknown",
                    f"{response} is sent by a rule but needs values no slot supplies: {', '.join(sorted(unknown))}",
                    response=response,
                    variables=sorted(unknown),
                )
            )
    maybe_empty = set.union(set(), *needed) & (slots - always_filled)
    for variable in sorted(maybe_empty):
        if all(variable in variables for variables in needed):
            problems.append(
                finding(
                    "error",
                    "template_variable_maybe_empty",
                    f"{response} needs {{{variable}}} in every wording, but the slot {variable} is empty until "
                    f"the buyer gives it: add a wording without {{{variable}}}",
                    response=response,
                    variable=variable,
                )
            )
    return problems


def rasa_validate(data: ProjectData) -> List[Dict[str, Any]]:
    """`rasa data validate` on the project as it would be trained (exported into a directory)."""
    with tempfile.TemporaryDirectory(prefix="qkf-validate-") as directory:
        result = subprocess.run(
            [sys.executable, "-m", "bot.rasa_server", "data", "validate"],
            cwd=data.export(Path(directory) / "project"),
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
            detail = line.split("UserWarning:", 1)[1].strip()
            problems.append(finding("warning", "rasa_warning", detail, detail=detail))
        elif " ERROR " in line:
            detail = line.split(" ERROR ", 1)[1].strip()
            problems.append(finding("error", "rasa_error", detail, detail=detail))
    if result.returncode != 0 and not any(p["level"] == "error" for p in problems):
        problems.append(finding("error", "rasa_validate_failed", "rasa data validate failed"))
    return problems


def validate(data: ProjectData) -> Dict[str, Any]:
    problems = project_checks(data) + rasa_validate(data)
    return {"ok": not any(p["level"] == "error" for p in problems), "problems": problems}
