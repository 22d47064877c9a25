"""deploy/Dockerfile and .dockerignore, checked statically (no Docker engine runs on the development
machines, so the image is never built here): a non-root user, a health check, nothing of this
machine's state or secrets in the build context, the same pinned install as `make setup`, the ports
of the settings registry; and deploy/healthcheck.py against real HTTP servers."""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import sys
import threading
import urllib.parse
from contextlib import contextmanager
from typing import Dict, Iterator, List, Tuple

from bot.settings import VARIABLES
from tests.conftest import ROOT
from tests.deploy.manifests import PROJECT_DIR, PYTHON

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions() -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> List[List[Tuple[str, str]]]:
    result: List[List[Tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def final(keyword: str) -> List[str]:
    return [rest for key, rest in stages()[-1] if key == keyword]


def build_arguments() -> Dict[str, str]:
    return dict(rest.split("=", 1) for key, rest in instructions() if key == "ARG" and "=" in rest)


# -- the Dockerfile ---------------------------------------------------------------------------------


def test_the_image_runs_as_a_non_root_user():
    users = final("USER")
    assert users, "no USER in the final stage: the processes would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    # The user is created in the image and owns nothing of the code (COPY without --chown).
    assert any(f"--uid {user}" in run for run in final("RUN"))
    assert not any("--chown" in copy for copy in final("COPY"))


def test_the_image_has_a_health_check_that_the_image_carries():
    (check,) = final("HEALTHCHECK")
    assert "NONE" not in check.upper() and "CMD" in check
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert command[0] == PYTHON and command[1] == f"{PROJECT_DIR}/deploy/healthcheck.py"
    assert not ignored("deploy/healthcheck.py")


def test_the_install_is_the_pinned_one_of_make_setup():
    build_runs = " ".join(rest for key, rest in stages()[0] if key == "RUN")
    assert "scripts/setup_venv.sh" in build_runs and "npm ci" in build_runs
    assert not re.search(r"pip3? install", build_runs), "install only through scripts/setup_venv.sh"
    setup = (ROOT / "scripts" / "setup_venv.sh").read_text(encoding="utf-8")
    assert "-r requirements.txt -c constraints.txt" in setup
    for needed in ("requirements.txt", "constraints.txt", "scripts/setup_venv.sh", "package-lock.json", "pyproject.toml"):
        assert not ignored(needed), needed
    # The trained model and the NLU build outputs Rasa loads are checked before the install.
    assert "models/qinkefu.tar.gz" in build_runs and "build/sentence_encoder" in build_runs


def test_base_images_are_pinned_by_tag():
    arguments = build_arguments()
    for key, rest in instructions():
        if key == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], image)
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), image


def test_exposed_ports_are_the_registry_defaults_and_the_workdir_is_the_manifests():
    exposed = {int(port) for line in final("EXPOSE") for port in line.split()}
    assert exposed == {int(VARIABLES[name].default or 0) for name in ("RASA_PORT", "ACTION_PORT", "GATEWAY_PORT")}
    assert final("WORKDIR") == [PROJECT_DIR]
    # Environment set in the image: only PATH (to the virtualenv) or declared settings.
    for line in final("ENV"):
        for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", line):
            assert name == "PATH" or name in VARIABLES, name
    assert f"{PROJECT_DIR}/.venv/bin" in " ".join(final("ENV"))


# -- .dockerignore -----------------------------------------------------------------------------------


def dockerignore_rules() -> List[Tuple[bool, re.Pattern]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        rules.append((negated, re.compile(regex + "$")))
    return rules


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern decides; a pattern matching a folder covers its files."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negated, regex in dockerignore_rules():
        if any(regex.match(candidate) for candidate in candidates):
            result = not negated
    return result


def test_the_build_context_leaves_out_this_machines_state_and_secrets():
    for path in (
        ".env",
        ".env.production",
        ".venv/bin/python",
        "var/secrets.env",
        "var/shop.db",
        "node_modules/socket.io-client/package.json",
        ".git/config",
        "test-output/screenshots/a.png",
        "build/embedding_cache/shard.npz",
        "models/20260101-old.tar.gz",
        "bot/__pycache__/settings.cpython-310.pyc",
        "deploy/kubernetes/overlays/production/secrets.env",
    ):
        assert ignored(path), f"{path} would be copied into the image"
    for path in (
        "bot/settings.py",
        "actions/base.py",
        "domain.yml",
        "config.yml",
        "data/shop/policy.yml",
        "deploy/endpoints.prod.yml",
        ".env.example",
        # Today the image carries the trained model and the NLU build outputs Rasa loads.
        "models/qinkefu.tar.gz",
        "build/spacy_zh/meta.json",
        "build/sentence_encoder/manifest.json",
        # The training worker's evaluation.
        "tests/nlu/test_nlu.yml",
    ):
        assert not ignored(path), f"{path} is needed in the image"


def test_the_ignore_matcher_follows_dockers_rules():
    assert ignored("var") and ignored("var/deep/file") and not ignored("variables.py")
    assert ignored("models/x.tar.gz") and not ignored("models/qinkefu.tar.gz")


# -- deploy/healthcheck.py ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def http_server(routes: Dict[str, Tuple[int, bytes]]) -> Iterator[Tuple[int, List[str]]]:
    seen: List[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            status, body = routes.get(urllib.parse.urlsplit(self.path).path, (404, b""))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def healthcheck(*args: str, **env: str) -> int:
    base = {
        "PATH": "/usr/bin:/bin",
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "GATEWAY_PORT": str(free_port()),
        "EVENTS_PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), *args],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode


def test_the_health_check_passes_when_the_containers_process_answers():
    assert healthcheck() == 1  # nothing listens
    with http_server({"/health": (200, b"{}")}) as (port, _):
        assert healthcheck(GATEWAY_PORT=str(port)) == 0
        assert healthcheck(ACTION_PORT=str(port)) == 0
        assert healthcheck(EVENTS_PORT=str(port)) == 0  # the event consumer's container
    with http_server({"/": (200, b"Hello from Rasa")}) as (port, _):
        assert healthcheck(RASA_PORT=str(port)) == 0
    with http_server({"/health": (503, b"{}")}) as (port, _):
        assert healthcheck(GATEWAY_PORT=str(port)) == 1


def test_rasa_is_ready_only_with_a_model_loaded():
    token = "t" * 40
    with http_server({"/status": (200, json.dumps({"model_file": "qinkefu.tar.gz"}).encode())}) as (port, seen):
        assert healthcheck("rasa-model", RASA_PORT=str(port), RASA_AUTH_TOKEN=token) == 0
        assert seen == [f"/status?token={token}"]
    with http_server({"/status": (200, json.dumps({"model_file": None}).encode())}) as (port, _):
        assert healthcheck("rasa-model", RASA_PORT=str(port), RASA_AUTH_TOKEN=token) == 1
    with http_server({"/status": (401, b"{}")}) as (port, _):
        assert healthcheck("rasa-model", RASA_PORT=str(port)) == 1
    assert healthcheck("something-else") == 2


def test_the_compose_file_runs_the_image_with_the_registry_of_variables():
    """deploy/docker-compose.yml builds this Dockerfile; its commands name python in the image."""
    import yaml

    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["x-qinkefu"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert compose["x-qinkefu"]["environment"]["UPLOADS_DIR"] == "/srv/uploads"
    # The image creates /srv/uploads for its user, so compose's named volume is writable by it.
    assert any("/srv/uploads" in run for run in final("RUN"))
    # The same for the model server's volume.
    model_server = compose["services"]["model-server"]
    assert model_server["volumes"] == ["models:/srv/models"] and model_server["environment"]["MODEL_SERVER_DIR"] == "/srv/models"
    assert any("/srv/models" in run for run in final("RUN"))
    # The user may not write into the project folder: run-prod --prepare-only makes its folder elsewhere.
    assert not compose["services"]["prepare"]["environment"]["PROD_VAR_DIR"].startswith(PROJECT_DIR)
