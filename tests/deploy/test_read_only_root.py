"""The processes run as the production overlay runs them, on a read-only root: the migrations Job,
the action server, the Rasa server and the gateway, each started with its container's command,
arguments and environment from the rendered manifests, in a mount namespace where `/` is
read-only and only the pod's volumes are writable (emptyDir /tmp, $HOME, the uploads volume), as
`readOnlyRootFilesystem: true` makes it in the cluster. Cluster addresses become this machine's
PostgreSQL and Redis; secrets are random. Then the probes' routes answer, Rasa has its model, the
gateway is ready and a turn goes through Rasa, its tracker store, lock store and action server.

No container runtime is involved (none runs here): this checks what the processes write, not the
image. It needs root (for the mount namespace), PostgreSQL and Redis; it is skipped otherwise
(fails under CI=true, where they are there)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import requests

from bot import settings
from tests.conftest import ROOT
from tests.deploy.manifests import PROJECT_DIR, PYTHON, Object, environment, pod_spec, render, workloads
from tests.servers import free_port, require_model

pytestmark = pytest.mark.slow

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
# In a new mount namespace: `/` read-only (its other mounts, /proc, /dev, /dev/shm, keep theirs),
# /tmp an empty tmpfs, as the pod's emptyDir.
READ_ONLY = 'mount --rbind / / && mount -o remount,bind,ro / && mount -t tmpfs -o size=1g tmpfs /tmp && exec "$@"'


def require_what_it_needs() -> None:
    from bot.ops.production.databases import ensure_redis

    problem: Optional[str] = None
    if os.geteuid() != 0 or not shutil.which("unshare"):
        problem = "a read-only root needs a mount namespace: run as root with util-linux's unshare"
    else:
        try:
            ensure_redis("127.0.0.1", 6379)
            import sqlalchemy as sa

            engine = sa.create_engine(f"{POSTGRES_SERVER}/postgres", future=True)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("select 1"))
            finally:
                engine.dispose()
        except Exception as error:  # noqa: BLE001 - ServiceMissing, or any database connection error
            problem = f"PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are needed: {error}"
    if problem:
        if settings.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


def component(objects: List[Object], name: str) -> Object:
    (workload,) = [w for w in workloads(objects) if pod_spec(w)["containers"] and _label(w) == name]
    return workload


def _label(workload: Object) -> str:
    return workload["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component", "")


class Pod:
    """One container of the manifests, started here: its paths mapped to a state folder."""

    def __init__(self, objects: List[Object], name: str, state: Path, overrides: Dict[str, str], secrets_: Dict[str, str]):
        self.workload = component(objects, name)
        (self.container,) = pod_spec(self.workload)["containers"]
        self.name = name
        self.state = state / name
        self.paths = {PYTHON: sys.executable, f"{PROJECT_DIR}/deploy/": f"{ROOT}/deploy/"}
        volumes = {volume["name"]: volume for volume in pod_spec(self.workload)["volumes"]}
        maps = {item["metadata"]["name"]: item for item in objects if item["kind"] == "ConfigMap"}
        for mount in self.container.get("volumeMounts", []):
            local = self.state / mount["mountPath"].strip("/").replace("/", "-")
            local.mkdir(parents=True, exist_ok=True)
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                for key, value in maps[volume["configMap"]["name"]]["data"].items():
                    (local / key).write_text(value, encoding="utf-8")
            if mount["mountPath"] == "/tmp":
                continue  # the namespace's own tmpfs
            self.paths[mount["mountPath"]] = str(local)
        env = {}
        for key, entry in environment(objects, self.container).items():
            env[key] = secrets_[key] if "valueFrom" in entry else self.local(entry["value"])
        env.update(overrides)
        # $HOME: the pod's volume where the manifests mount one, else a folder of the read-only root.
        home = self.paths.get("/home/qinkefu", "/root")
        self.env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", **env}
        self.process: Optional[subprocess.Popen] = None

    def local(self, text: str) -> str:
        for container_path in sorted(self.paths, key=len, reverse=True):
            text = text.replace(container_path, self.paths[container_path])
        return text

    def command(self, replace: Optional[Dict[str, str]] = None) -> List[str]:
        words = [self.local(word) for word in self.container["command"] + self.container.get("args", [])]
        return [(replace or {}).get(word, word) for word in words]

    def read_only(self, command: List[str]) -> List[str]:
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY, "sh", *command]

    def start(self, replace: Optional[Dict[str, str]] = None) -> None:
        log = open(self.state / "log.txt", "ab")
        self.process = subprocess.Popen(
            self.read_only(self.command(replace)), env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def run(self, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.read_only(self.command()), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )

    def probe(self, kind: str) -> bool:
        """The container's exec probe, run the same way (read-only root)."""
        command = [self.local(word) for word in self.container[kind]["exec"]["command"]]
        return subprocess.run(self.read_only(command), env=self.env, cwd=ROOT, capture_output=True, timeout=60).returncode == 0

    def log(self) -> str:
        path = self.state / "log.txt"
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_for(check, pod: Pod, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert pod.process is None or pod.process.poll() is None, f"{pod.name} exited:\n{pod.log()}"
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"{pod.name}: {what} not within {timeout} s:\n{pod.log()}")


def test_the_processes_run_on_a_read_only_root_with_the_manifests_commands_and_environment():
    require_what_it_needs()
    require_model()
    from bot.ops.production.databases import drop_database, ensure_database

    objects = render("production")
    tag = uuid.uuid4().hex[:8]
    databases = {purpose: f"{POSTGRES_SERVER}/qkfk8s{tag}_{purpose}" for purpose in ("tracker", "shop", "gateway")}
    # /dev/shm: a mount of its own, writable in the namespace like the pod's volumes
    state = Path("/dev/shm") / f"qkf-read-only-{tag}"
    ports = {"rasa": free_port(), "action-server": free_port(), "gateway": free_port()}
    given = {
        **{name: secrets.token_urlsafe(32) for name in settings.SECRET_NAMES},
        "TRACKER_PG_PASSWORD": "",
        "ORDERS_DB_URL": databases["shop"],
        "GATEWAY_DB_URL": databases["gateway"],
    }
    # The cluster's addresses (Services, PostgreSQL, Redis) on this machine.
    overrides = {
        "QKF_HOST": "127.0.0.1",
        "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['action-server']}/webhook",
        "ACTION_PORT": str(ports["action-server"]),
        "GATEWAY_PORT": str(ports["gateway"]),
        "RASA_PORT": str(ports["rasa"]),
        "TRACKER_PG_HOST": "127.0.0.1",
        "TRACKER_PG_USER": "postgres",
        "TRACKER_PG_DB": f"qkfk8s{tag}_tracker",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_LOCK_PREFIX": f"qkfk8s{tag}",
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
        "GATEWAY_REDIS_CHANNEL": f"qkfk8s{tag}-socketio",
    }
    pods: List[Pod] = []
    try:
        for url in databases.values():
            ensure_database(url)
        pods = [Pod(objects, name, state, overrides, given) for name in ("migrate", "action-server", "rasa", "gateway")]
        migrate, actions, rasa, gateway = pods

        done = migrate.run()
        assert done.returncode == 0, done.stdout + done.stderr

        actions.start()
        wait_for(lambda: requests.get(f"http://127.0.0.1:{ports['action-server']}/health", timeout=2).ok, actions, 120, "/health")

        rasa.start({"5005": str(ports["rasa"]), "0.0.0.0": "127.0.0.1"})
        wait_for(lambda: requests.get(f"http://127.0.0.1:{ports['rasa']}/", timeout=2).ok, rasa, 420, "/")
        wait_for(lambda: rasa.probe("readinessProbe"), rasa, 60, "the readiness probe (model loaded)")

        gateway.start()
        wait_for(lambda: requests.get(f"http://127.0.0.1:{ports['gateway']}/health", timeout=2).ok, gateway, 120, "/health")
        ready = requests.get(f"http://127.0.0.1:{ports['gateway']}/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["rasa"] is True, ready.text

        # A turn: Rasa's tracker store (PostgreSQL), lock store (Redis) and an action call.
        reply = requests.post(
            f"http://127.0.0.1:{ports['rasa']}/webhooks/rest/webhook",
            json={"sender": f"read-only-{tag}", "message": "这件T恤还有货吗"},
            timeout=60,
        )
        assert reply.status_code == 200 and reply.json(), reply.text
        for pod in (actions, rasa, gateway):
            assert pod.process and pod.process.poll() is None, f"{pod.name} stopped:\n{pod.log()}"
            assert "Read-only file system" not in pod.log(), pod.log()
    finally:
        for pod in reversed(pods):
            pod.stop()
        for url in databases.values():
            try:
                drop_database(url)
            except Exception:  # noqa: BLE001 - best effort
                pass
        shutil.rmtree(state, ignore_errors=True)
