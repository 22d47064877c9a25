"""The settings registry (bot/settings.py): every environment variable the code, the Makefile, the
scripts and the YAML files read is declared there once, with its default and meaning; .env.example
is generated from it; values that do not fit their type are refused with the variable's name."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest
import yaml

from bot import settings
from bot.ops.production.profile import ProductionProfile
from bot.settings import PROJECT_ROOT, SECRET_NAMES, VARIABLES, SettingError, Settings, child_environment
from tests.conftest import ROOT

SCANNED = ("bot", "actions", "bench", "scripts", "deploy")
RASA_YAML = ("endpoints.yml", "credentials.yml", "deploy/endpoints.prod.yml")
# Read by shell scripts with the tools' own defaults (pyenv's root, the user's home): not the project's.
NOT_OURS = {"HOME", "PYENV_ROOT"}

NAME = r"([A-Z][A-Z0-9_]*)"
# Reads of the process environment; only bot/settings.py may do them.
ENVIRON_READS = [
    re.compile(r"""os\.environ\.(?:get|setdefault|pop)\(\s*["']""" + NAME + "[\"']"),
    re.compile(r"""os\.environ\[\s*["']""" + NAME + r"""["']\s*\]"""),
    re.compile(r"""getenv\(\s*["']""" + NAME + "[\"']"),
]
# Reads of environment dicts (copies of os.environ, children's environments): declared too.
DICT_READS = [
    re.compile(r"""\benv\.(?:get|setdefault|pop)\(\s*["']""" + NAME + "[\"']"),
    re.compile(r"""\benv\[\s*["']""" + NAME + r"""["']\s*\]"""),
]
# Calls whose keyword arguments are variables set for a child process or this one: declared too.
SETTING_CALLS = re.compile(r"os\.environ\.update\(|dict\(\s*os\.environ\s*,")
KEYWORD = re.compile(r"(?:^|[(,\s])" + NAME + r"\s*=(?!=)")


def call_arguments(source: str, start: int) -> str:
    """The text of a call's arguments, from just after its opening parenthesis to the matching one."""
    depth, end = 1, start
    while depth and end < len(source):
        depth += {"(": 1, ")": -1}.get(source[end], 0)
        end += 1
    return source[start:end - 1]


def python_files() -> Iterator[Path]:
    for folder in SCANNED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def names_used_in_python(path: Path) -> Iterator[Tuple[str, bool]]:
    """(name, read straight from os.environ) for every environment variable the file uses."""
    source = path.read_text(encoding="utf-8")
    for pattern in ENVIRON_READS:
        for match in pattern.finditer(source):
            yield match.group(1), True
    for pattern in DICT_READS:
        for match in pattern.finditer(source):
            yield match.group(1), False
    for match in SETTING_CALLS.finditer(source):
        for keyword in KEYWORD.finditer(call_arguments(source, match.end())):
            yield keyword.group(1), False


def names_used_in_shell(text: str) -> Set[str]:
    return set(re.findall(r"\$\{?" + NAME, text))


def yaml_variables(name: str) -> Set[str]:
    """The ${NAME}s Rasa substitutes in a YAML file (not those its comments mention)."""
    text = re.sub(r"(?m)^\s*#.*$", "", (ROOT / name).read_text(encoding="utf-8"))
    return set(re.findall(r"\$\{" + NAME, text))


def names_used_in_makefile() -> Set[str]:
    used = set()
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            used.add(line.split()[1])
        if not line.startswith("\t"):
            continue
        # Make's own $(...) expressions are not the shell's environment.
        previous = None
        while previous != line:
            previous, line = line, re.sub(r"(?<!\$)\$\([^()]*\)", "", line)
        used |= names_used_in_shell(line.replace("$$", "$"))
        used |= set(re.findall(r"(?:^|[\s;])" + NAME + "=", line))
    return used


# -- completeness ---------------------------------------------------------------------------------

def test_every_variable_the_python_code_uses_is_declared():
    undeclared = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files()
        for name, _ in names_used_in_python(path)
        if name not in VARIABLES
    }
    assert not undeclared, f"declare these in bot/settings.py (VARIABLES): {sorted(undeclared)}"


def test_only_the_registry_reads_the_process_environment():
    direct = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files()
        if path != ROOT / "bot" / "settings.py"
        for name, from_environ in names_used_in_python(path)
        if from_environ
    }
    assert not direct, f"read these through bot.settings (get, Settings.from_env): {sorted(direct)}"


def test_the_scanner_sees_reads_and_writes(tmp_path):
    """The patterns above find what they are meant to find (else the two tests pass for nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        'os.environ.get("A_READ", "1"); os.getenv("B_READ"); os.environ["C_READ"]; env.get("D_USE")\n'
        'dict(\n    os.environ, E_SET=str(f(1)),\n    F_SET="x=1" == y,\n)\nos.environ.update(G_SET="1")\n',
        encoding="utf-8",
    )
    found = dict(names_used_in_python(sample))
    assert found == {"A_READ": True, "B_READ": True, "C_READ": True, "D_USE": False, "E_SET": False,
                     "F_SET": False, "G_SET": False}


def test_every_variable_of_the_yaml_files_scripts_and_makefile_is_declared():
    used = {}
    for name in RASA_YAML:
        used[name] = yaml_variables(name)
    for script in sorted((ROOT / "scripts").glob("*.sh")) + [ROOT / ".ci" / "run"]:
        used[str(script.relative_to(ROOT))] = names_used_in_shell(script.read_text(encoding="utf-8")) - NOT_OURS
    used["Makefile"] = names_used_in_makefile()
    assert "QKF_DEMO_SHOP" in used["Makefile"] and "RASA_TRACKER_DB" in used["Makefile"]
    assert "ACTION_PORT" in used["endpoints.yml"] and "CI" in used["scripts/ensure_debian_packages.sh"]
    undeclared = {f"{where}: {name}" for where, names in used.items() for name in names if name not in VARIABLES}
    assert not undeclared, f"declare these in bot/settings.py (VARIABLES): {sorted(undeclared)}"


def test_the_compose_services_set_only_declared_variables():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    ours = {name: service for name, service in compose["services"].items() if service.get("image") == "qinkefu:latest"}
    assert len(ours) == 9  # prepare, the model server, the event consumer, 2 Rasa replicas, 2 action servers, 2 gateways
    undeclared = {f"{name}: {variable}" for name, service in ours.items()
                  for variable in service["environment"] if variable not in VARIABLES}
    assert not undeclared, sorted(undeclared)


def test_the_variables_rasa_reads_from_endpoints_yml_always_reach_it():
    """An unset ${NAME} would make Rasa create a file literally named after it: each has a default
    every child process gets, or is a secret make run generates."""
    needed = yaml_variables("endpoints.yml")
    assert needed and all(VARIABLES[name].exported or name in SECRET_NAMES for name in needed)
    env = child_environment(base={})
    assert all(env.get(name) for name in needed - set(SECRET_NAMES))


def test_the_production_profile_sets_declared_variables_and_every_derived_one(tmp_path):
    profile = ProductionProfile.from_env({"PROD_VAR_DIR": str(tmp_path)})
    env = profile.environment()
    assert set(env) <= set(VARIABLES), set(env) - set(VARIABLES)
    derived = {name for name, declared in VARIABLES.items() if declared.derived}
    assert derived <= set(env), derived - set(env)
    assert settings.check(env) == []
    for stage in profile.stages("models/qinkefu.tar.gz"):
        for service in stage:
            assert set(service.env) <= set(VARIABLES), service.name


# -- the registry itself ----------------------------------------------------------------------------

def test_each_declaration_is_complete_and_each_default_fits_its_type():
    sections = {key for key, _, _ in settings.SECTIONS}
    for name, declared in VARIABLES.items():
        assert declared.name == name and re.fullmatch(NAME, name)
        assert declared.type in settings.TYPES and declared.section in sections, name
        assert declared.meaning.strip() and "\n" not in declared.meaning, name
        assert not (declared.derived and declared.default is not None), name
        for reference in re.findall(r"\$\{" + NAME + r"\}", declared.default or ""):
            assert reference in VARIABLES, f"{name} refers to {reference}"
    assert settings.check({}) == []


def test_secrets_have_no_default():
    for name in SECRET_NAMES:
        assert VARIABLES[name].type == "secret" and VARIABLES[name].default is None
    for declared in VARIABLES.values():
        assert declared.type != "secret" or declared.default is None, declared.name
        assert (declared.default or "") not in settings.KNOWN_DEFAULT_SECRETS, declared.name


def test_defaults(tmp_path):
    embedded = Settings.from_env({"QKF_VAR_DIR": str(tmp_path)})  # no generated secrets there
    assert (embedded.rasa_port, embedded.action_port, embedded.gateway_port) == (5005, 5055, 8000)
    assert embedded.host == "127.0.0.1" and embedded.rasa_url == "http://127.0.0.1:5005"
    assert embedded.rasa_replica_urls == ("http://127.0.0.1:5005",)
    assert embedded.orders_db_url == f"sqlite:///{tmp_path / 'shop.db'}"
    assert embedded.gateway_db_url == f"sqlite:///{tmp_path / 'gateway.db'}"
    assert embedded.uploads_dir == tmp_path / "uploads" and embedded.var_dir == tmp_path
    assert embedded.policy_file == PROJECT_ROOT / "data" / "shop" / "policy.yml"
    assert embedded.demo_shop is False and embedded.extra_origins == () and embedded.redis_url == ""
    assert (embedded.rate_burst, embedded.rate_per_second, embedded.ip_rate_burst, embedded.ip_rate_per_second) == (5, 1, 30, 5)
    assert embedded.buyer_token_secret == "" and embedded.rasa_max_in_flight == 4
    assert Settings.from_env({}).orders_db_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'shop.db'}"

    production = ProductionProfile.from_env({})
    assert (production.rasa_port, production.action_port, production.gateway_port) == (5005, 5055, 8000)
    assert production.rasa_replicas == [5101, 5102] and production.action_replicas == [5201, 5202]
    assert production.gateway_replicas == [8101, 8102] and production.var_dir == PROJECT_ROOT / "var" / "prod"
    assert production.redis_url == "redis://127.0.0.1:6379/0" and production.lock_lifetime_seconds == 10
    assert production.database_url("shop") == "postgresql://postgres@127.0.0.1:5432/qinkefu_shop"


def test_an_empty_value_means_the_default_and_references_follow_their_variable():
    env = {"GATEWAY_PORT": "", "QKF_HOST": "10.0.0.5", "RASA_PORT": "6005"}
    assert settings.get("GATEWAY_PORT", env) == 8000
    assert settings.get("RASA_URL", env) == "http://10.0.0.5:6005"
    assert settings.get("RASA_REPLICA_URLS", env) == ("http://10.0.0.5:6005",)
    assert settings.get("GATEWAY_ALLOWED_ORIGINS", {"GATEWAY_ALLOWED_ORIGINS": " http://a , ,http://b"}) == ("http://a", "http://b")
    assert settings.get("QKF_DEMO_SHOP", {"QKF_DEMO_SHOP": "Yes"}) is True
    assert settings.get("BUYER_TOKEN_SECRET", {}) is None


def test_child_environment_fills_the_defaults_and_lets_the_environment_win(tmp_path):
    env = child_environment(base={"PATH": "/bin"})
    assert env["PATH"] == "/bin" and env["ACTION_PORT"] == "5055" and env["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert env["RASA_TRACKER_DB"] == str(PROJECT_ROOT / "var" / "tracker.db")
    moved = child_environment({"QKF_VAR_DIR": str(tmp_path)}, base={"ACTION_PORT": "6055"})
    assert moved["ACTION_PORT"] == "6055" and moved["RASA_TRACKER_DB"] == str(tmp_path / "tracker.db")
    assert "BUYER_TOKEN_SECRET" not in moved
    with_secrets = child_environment({"QKF_VAR_DIR": str(tmp_path)}, base={}, local_secrets=True)
    assert all(len(with_secrets[name]) >= 32 for name in SECRET_NAMES)
    assert (tmp_path / "secrets.env").is_file()
    with pytest.raises(SettingError, match="NOT_A_SETTING"):
        child_environment({"NOT_A_SETTING": "1"}, base={})


# -- validation --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, value, why",
    [
        ("GATEWAY_PORT", "80a", "not a whole number"),
        ("RASA_PORT", "70000", "not a port"),
        ("QKF_DEMO_SHOP", "maybe", "not a flag"),
        ("PROD_RASA_REPLICAS", "0", "less than 1"),
        ("GATEWAY_RATE_PER_SECOND", "0", "not greater than 0"),
        ("UPLOADS_RETENTION_DAYS", "a week", "not a number"),
        ("ORDERS_DB_URL", "var/shop.db", "not a URL"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_with_its_name(name, value, why):
    with pytest.raises(SettingError) as refused:
        settings.get(name, {name: value})
    assert str(refused.value).startswith(f"{name}={value!r}: {why}"), refused.value
    with pytest.raises(SettingError, match=name):
        Settings.from_env({name: value})


def test_every_bad_value_is_named_at_once():
    with pytest.raises(SettingError) as refused:
        ProductionProfile.from_env({"REDIS_PORT": "redis", "PROD_GATEWAY_REPLICAS": "two"})
    assert "REDIS_PORT" in str(refused.value) and "PROD_GATEWAY_REPLICAS" in str(refused.value)
    with pytest.raises(SettingError, match="is not a setting"):
        settings.get("GATEWAY_PROT")


def run_cli(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_the_command_line_refuses_a_bad_value_naming_it(tmp_path):
    done = run_cli("seed", GATEWAY_PORT="eighty", QKF_VAR_DIR=str(tmp_path))
    assert done.returncode == 2 and "error: GATEWAY_PORT='eighty': not a whole number" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "shop.db").exists()
    check = run_cli("settings", "check", GATEWAY_RATE_BURST="0")
    assert check.returncode == 2 and "GATEWAY_RATE_BURST" in check.stderr
    assert run_cli("settings", "get", "ACTION_PORT").stdout == "5055\n"
    assert run_cli("settings", "get", "RASA_TRACKER_DB", QKF_VAR_DIR=str(tmp_path)).stdout == f"{tmp_path / 'tracker.db'}\n"
    refused = run_cli("settings", "get", "RASA_AUTH_TOKEN", RASA_AUTH_TOKEN="x" * 40)
    assert refused.returncode == 2 and "x" * 40 not in refused.stdout + refused.stderr
    shown = run_cli("settings", "exec", "--", sys.executable, "-c",
                    "import os; print(os.environ['ACTION_PORT'], os.environ['TF_CPP_MIN_LOG_LEVEL'])", ACTION_PORT="6055")
    assert shown.returncode == 0 and shown.stdout == "6055 2\n", shown.stderr


# -- .env.example ------------------------------------------------------------------------------------

def test_env_example_is_generated_from_the_registry():
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == settings.env_example(), (
        ".env.example differs from bot/settings.py: run `.venv/bin/python -m bot settings env-example > .env.example`"
    )
    assert run_cli("settings", "env-example").stdout == settings.env_example()


def test_env_example_lists_every_variable_with_its_default():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    listed = dict(line[2:].split("=", 1) for line in lines if re.match(r"# [A-Z][A-Z0-9_]*=", line))
    assert listed == {name: declared.default or "" for name, declared in VARIABLES.items()}
    # Commented out: copying the file to .env changes nothing until a line is uncommented.
    assert settings.read_env_file(ROOT / ".env.example") == {}
