"""The gateway's static files: no function or CSS rule block is copied between them (what both staff
consoles need lives once, in staff.js / staff.css), and both console pages load the shared files
before their own, from routes the gateway serves. Plain text parsing: no servers, no browser."""

from __future__ import annotations

import difflib
import re
from itertools import combinations
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Tuple

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "bot" / "gateway"
STATIC = GATEWAY / "static"
TEMPLATES = GATEWAY / "templates"
CONSOLES = ("agent", "trainer", "analytics")

# Two functions of the same name whose texts are at least this alike count as one copied function
# (the consoles' two string lookups, one with a fallback argument, were 0.89 alike).
SAME_NAME_LIKENESS = 0.85
# Shorter function texts (white space folded) are too common to be copies.
MIN_FUNCTION_CHARS = 40
# A block with this many declarations is a copy under any selector; a smaller one only under the
# same selector (console prefixes agent- / trainer- / staff- made equal: .agent-btn ~ .trainer-btn).
MIN_DECLARATIONS = 4
CONSOLE_PREFIX = re.compile(r"\b(?:agent|trainer|analytics|staff)-")
# Pairs that stay apart on purpose: (file, file, function name) -> why.
ALLOWED = {
    ("staff.js", "widget.js", "t"): "the widget is one script embedded in shop pages and loads no staff file; "
    "its three-line string lookup (without a fallback argument) is not worth a second request on a buyer's page",
}


class Definition(NamedTuple):
    file: str
    name: str
    text: str  # parameters and body, white space folded


# ---------------------------------------------------------------------------------------- JS
def _skip_literal(source: str, i: int) -> int:
    """Index after the string, template literal or comment starting at ``i`` (``i`` if none)."""
    char = source[i]
    if char in "'\"`":
        j = i + 1
        while j < len(source) and source[j] != char:
            j += 2 if source[j] == "\\" else 1
        return j + 1
    if source.startswith("//", i):
        end = source.find("\n", i)
        return len(source) if end < 0 else end
    if source.startswith("/*", i):
        end = source.find("*/", i + 2)
        return len(source) if end < 0 else end + 2
    return i


def _code(source: str, i: int) -> Iterator[int]:
    """The indices from ``i`` on of characters outside strings, template literals and comments.
    (Regular expression literals are read as code: those in the static files keep their brackets
    balanced and hold no quotes.)"""
    while i < len(source):
        skipped = _skip_literal(source, i)
        if skipped != i:
            i = skipped
            continue
        yield i
        i += 1


def _balanced_end(source: str, i: int) -> int:
    """Index after the bracket group that opens at ``i`` ((…), {…} or […])."""
    depth = 0
    for j in _code(source, i):
        if source[j] in "([{":
            depth += 1
        elif source[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced brackets")


def _expression_end(source: str, i: int) -> int:
    """Index of the ``;`` (or of the bracket closing the enclosing group) that ends the expression at ``i``."""
    depth = 0
    for j in _code(source, i):
        if source[j] in "([{":
            depth += 1
        elif source[j] in ")]}" and depth:
            depth -= 1
        elif source[j] in ";)]}":
            return j
    return len(source)


FUNCTION = re.compile(r"\b(?:async\s+)?function\s+([A-Za-z_$][\w$]*)\s*\(")
ARROW = re.compile(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(\(|[A-Za-z_$][\w$]*\s*=>)")


def js_functions(file: str, source: str) -> Iterator[Definition]:
    """``function name(…) {…}`` and ``const name = (…) => …`` definitions, at any depth; the text
    is the parameters and the body, so that both forms of one function compare equal."""
    for match in FUNCTION.finditer(source):
        params_end = _balanced_end(source, match.end() - 1)
        body_start = source.index("{", params_end)
        text = source[match.end() - 1 : params_end] + " " + source[body_start : _balanced_end(source, body_start)]
        yield Definition(file, match.group(1), " ".join(text.split()))
    for match in ARROW.finditer(source):
        start = match.start(2)
        if match.group(2) == "(":
            params_end = _balanced_end(source, start)
            params = source[start:params_end]
            arrow = re.compile(r"\s*=>\s*").match(source, params_end)
            if not arrow:
                continue  # `const x = (a + b)`: not a function
        else:
            arrow = re.compile(r"([\w$]+)\s*=>\s*").match(source, start)
            params = f"({arrow.group(1)})"
        body = arrow.end()
        end = _balanced_end(source, body) if source[body] == "{" else _expression_end(source, body)
        yield Definition(file, match.group(1), " ".join(f"{params} {source[body:end]}".split()))


# ---------------------------------------------------------------------------------------- CSS
def css_blocks(source: str) -> Iterator[Tuple[str, Tuple[str, ...]]]:
    """(selector, sorted declarations) of every rule block, inside @media blocks too."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    for match in re.finditer(r"([^{}]+)\{([^{}]*)\}", source):
        selector = " ".join(match.group(1).split())
        if re.fullmatch(r"(?:from|to|[\d.]+%)(?:\s*,\s*(?:from|to|[\d.]+%))*", selector):
            continue  # keyframe steps such as `0%, 60%, 100%` or `to`
        declarations = tuple(sorted(" ".join(d.split()) for d in match.group(2).split(";") if d.strip()))
        yield re.sub(r"\s*,\s*", ", ", selector), declarations


# ---------------------------------------------------------------------------------------- checks
def copied_functions(sources: Dict[str, str]) -> List[str]:
    found = [d for file, text in sources.items() for d in js_functions(file, text) if len(d.text) >= MIN_FUNCTION_CHARS]
    problems = []
    for a, b in combinations(found, 2):
        if a.file == b.file or (a.name == b.name and (*sorted((a.file, b.file)), a.name) in ALLOWED):
            continue
        if a.text == b.text:
            problems.append(f"{a.file}:{a.name} and {b.file}:{b.name} are the same function")
        elif a.name == b.name and difflib.SequenceMatcher(None, a.text, b.text).ratio() >= SAME_NAME_LIKENESS:
            problems.append(f"{a.file}:{a.name} and {b.file}:{b.name} are nearly the same function")
    return problems


def copied_rules(sources: Dict[str, str]) -> List[str]:
    """Blocks with the same declarations in two files: under the same selector (console prefixes
    made equal), or, for blocks of MIN_DECLARATIONS or more, under any selector."""
    places: Dict[Tuple[str, ...], List[Tuple[str, str]]] = {}
    for file, text in sources.items():
        for selector, declarations in css_blocks(text):
            places.setdefault(declarations, []).append((file, selector))
    problems = []
    for declarations, where in places.items():
        if len({file for file, _ in where}) < 2:
            continue
        kinds: Dict[str, set] = {}
        for file, selector in where:
            kinds.setdefault(CONSOLE_PREFIX.sub("console-", selector), set()).add(file)
        if len(declarations) >= MIN_DECLARATIONS or any(len(files) > 1 for files in kinds.values()):
            problems.append(f"{{{'; '.join(declarations)}}} stands in " + ", ".join(f"{f} ({s})" for f, s in where))
    return problems


def static_sources(suffix: str) -> Dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(STATIC.glob(f"*{suffix}"))}


# ---------------------------------------------------------------------------------------- tests
def test_no_function_is_copied_between_the_static_scripts():
    sources = static_sources(".js")
    assert {"staff.js", "agent.js", "trainer.js", "widget.js"} <= set(sources)
    assert copied_functions(sources) == []
    defined = {(d.file, d.name) for file, text in sources.items() for d in js_functions(file, text)}
    for first, second, name in ALLOWED:
        assert {(first, name), (second, name)} <= defined, f"the allowance for {name} is no longer needed"


def test_no_css_rule_block_is_copied_between_the_stylesheets():
    sources = static_sources(".css")
    assert {"staff.css", "agent.css", "trainer.css", "widget.css"} <= set(sources)
    assert copied_rules(sources) == []


def test_the_parsers_find_copies():
    """The checks above are only worth something if they notice a copy (as the consoles once had)."""
    helper = "function el(tag, attrs) {\n  const node = document.createElement(tag);\n  node.className = attrs.class;\n  return node;\n}\n"
    near = helper.replace("attrs.class", "attrs.className")
    arrow = "const t = (key) => {\n  const value = state.strings[key];\n  return typeof value === 'string' && value ? value : key;\n};\n"
    assert copied_functions({"a.js": helper, "b.js": helper})
    assert copied_functions({"a.js": helper, "b.js": near})
    assert copied_functions({"a.js": arrow, "b.js": arrow.replace("const t = (key) =>", "function t(key)")})
    assert copied_functions({"a.js": arrow, "b.js": "(() => {\n" + arrow + "})();"})
    assert copied_functions({"a.js": "const s = (x) => `${x}`.trim();\nconst pad = (n) => String(n).padStart(2, '0').slice(-2).toUpperCase();", "b.js": "const pad = (n) => String(n).padStart(2, '0').slice(-2).toUpperCase();"})
    assert not copied_functions({"a.js": helper, "b.js": helper.replace("function el", "function other").replace("className = attrs.class", "id = attrs.id; node.title = 'x'")})
    button = ".x-btn {\n  display: inline-flex;\n  min-height: 36px;\n  padding: 6px 14px;\n  border: 1px solid #6b7280;\n}\n"
    assert copied_rules({"a.css": button, "b.css": button.replace(".x-btn", ".y-btn")})
    primary = ".agent-btn-primary { border-color: #c2410c; background: #c2410c; color: #fff; }"
    assert copied_rules({"a.css": primary, "b.css": primary.replace("agent-", "trainer-")})
    assert copied_rules({"a.css": primary, "b.css": primary.replace("agent-btn", "trainer-badge")}) == []
    assert copied_rules({"a.css": "html,\nbody { margin: 0; }", "b.css": "html, body {\n  margin: 0;\n}"})
    assert copied_rules({"a.css": "html, body { margin: 0; }", "b.css": "html, body { height: 100%; }"}) == []
    assert copied_rules({"a.css": "@media (max-width: 800px) {\n  .a { w: 0; x: 1; y: 2; z: 3; }\n}", "b.css": ".b { z: 3; y: 2; x: 1; w: 0; }"})


@pytest.mark.parametrize("console", CONSOLES)
def test_each_console_page_loads_the_shared_files_before_its_own(console):
    page = (TEMPLATES / f"{console}.html").read_text(encoding="utf-8")
    styles = [href for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) if "/vendor/" not in href]
    scripts = [src for src in re.findall(r'<script src="([^"]+)"', page) if "/vendor/" not in src]
    assert styles == [f"/{console}/static/staff.css", f"/{console}/static/{console}.css"]
    assert scripts == [f"/{console}/static/staff.js", f"/{console}/static/{console}.js"]
    assert all(tag.endswith("defer></script>") for tag in re.findall(r"<script [^>]*></script>", page))  # order kept


def test_every_file_a_console_page_names_is_served():
    from bot.gateway.app import create_app

    served = {"/" + route.path for route in create_app(name="static_files_check").router.routes}
    for console in CONSOLES:
        page = (TEMPLATES / f"{console}.html").read_text(encoding="utf-8")
        for url in re.findall(r'(?:href|src)="(/[^"]+)"', page):
            assert url in served, url
            if "/vendor/" not in url:
                assert (STATIC / url.rsplit("/", 1)[1]).is_file(), url
