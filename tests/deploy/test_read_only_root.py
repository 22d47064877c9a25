"""The processes run as the production overlay runs them, on a read-only root: the migrations Job,
the action server, the model server, the Rasa server (which pulls its model from the model server),
the gateway and the event consumer, each started with its container's command,
arguments and environment from the rendered manifests, in a mount namespace where `/` is
read-only and only the pod's volumes are writable (emptyDir /tmp, $HOME, the uploads volume), as
`readOnlyRootFilesystem: true` makes it in the cluster. Cluster addresses become this machine's
PostgreSQL, Redis and RabbitMQ (a virtual host and user of the test's own); secrets are random.
Then the probes' routes answer, Rasa has its model, the gateway is ready, a turn goes through Rasa,
its tracker store, lock store and action server, and its events reach conversation_events.

No container runtime is involved (none runs here): this checks what the processes write, not the
image. It needs root (for the mount namespace), PostgreSQL, Redis and RabbitMQ; it is skipped otherwise
(fails under CI=true, where they are there)."""

from __future__ import annotations

import os
import secrets
import shlex
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
from bot.ops.production.event_broker import create_user_and_vhost, delete_user_and_vhost
from tests.conftest import ROOT
from tests.deploy.manifests import PROJECT_DIR, PYTHON, Object, environment, pod_labels, pod_spec, render, workloads
from tests.events.broker import new_broker, require_rabbitmq
from tests.servers import free_port, require_model

pytestmark = pytest.mark.slow

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
# In a new mount namespace: `/` read-only (its other mounts, /proc, /dev, /dev/shm, keep theirs),
# /tmp an empty tmpfs, as the pod's emptyDir. A checkout under /tmp (a CI clone) is kept in sight
# (read-only too): held on a folder of /dev/shm while the tmpfs covers /tmp, then moved back.
_KEEP_CHECKOUT = (
    f"held=$(mktemp -d -p /dev/shm qkf-checkout-XXXXXX) && mount -n --bind {shlex.quote(str(ROOT))} $held && "
    if str(ROOT).startswith("/tmp/")
    else ""
)
_RESTORE_CHECKOUT = (
    f" && mkdir -p {shlex.quote(str(ROOT))} && mount -n --move $held {shlex.quote(str(ROOT))} && rmdir $held"
    f" && mount -n -o remount,bind,ro {shlex.quote(str(ROOT))}"
    if _KEEP_CHECKOUT
    else ""
)
READ_ONLY = (
    "mount --rbind / / && mount -o remount,bind,ro / && "
    + _KEEP_CHECKOUT
    + "mount -t tmpfs -o size=1g tmpfs /tmp"
    + _RESTORE_CHECKOUT
    + ' && exec "$@"'
)


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
    return pod_labels(workload).get("app.kubernetes.io/component", "")


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
    require_rabbitmq()
    require_model()
    from bot.ops.production.databases import drop_database, ensure_database

    objects = render("production")
    tag = uuid.uuid4().hex[:8]
    databases = {purpose: f"{POSTGRES_SERVER}/qkfk8s{tag}_{purpose}" for purpose in ("tracker", "shop", "gateway")}
    # /dev/shm: a mount of its own, writable in the namespace like the pod's volumes
    state = Path("/dev/shm") / f"qkf-read-only-{tag}"
    ports = {
        "rasa": free_port(),
        "action-server": free_port(),
        "gateway": free_port(),
        "model-server": free_port(),
        "events": free_port(),
    }
    broker = new_broker(f"qkfk8s{tag}")
    given = {
        **{name: secrets.token_urlsafe(32) for name in settings.SECRET_NAMES},
        "EVENT_BROKER_PASSWORD": broker.password,
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
        "MODEL_SERVER_URL": f"http://127.0.0.1:{ports['model-server']}",
        "MODEL_SERVER_PORT": str(ports["model-server"]),
        "TRACKER_PG_HOST": "127.0.0.1",
        "TRACKER_PG_USER": "postgres",
        "TRACKER_PG_DB": f"qkfk8s{tag}_tracker",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_LOCK_PREFIX": f"qkfk8s{tag}",
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
        "GATEWAY_REDIS_CHANNEL": f"qkfk8s{tag}-socketio",
        "EVENTS_PORT": str(ports["events"]),
        "EVENT_BROKER_HOST": broker.host,
        "EVENT_BROKER_VHOST": broker.vhost,
        "EVENT_BROKER_USERNAME": broker.username,
    }
    pods: List[Pod] = []
    try:
        for url in databases.values():
            ensure_database(url)
        create_user_and_vhost(broker)
        pods = [
            Pod(objects, name, state, overrides, given)
            for name in ("migrate", "action-server", "model-server", "rasa", "gateway", "events", "training-worker")
        ]
        migrate, actions, model_server, rasa, gateway, events, worker = pods

        done = migrate.run()
        assert done.returncode == 0, done.stdout + done.stderr

        actions.start()
        wait_for(lambda: requests.get(f"http://127.0.0.1:{ports['action-server']}/health", timeout=2).ok, actions, 120, "/health")
        events.start()
        wait_for(lambda: requests.get(f"http://127.0.0.1:{ports['events']}/ready", timeout=2).ok, events, 120, "/ready")

        # The model server: its artifacts on its volume; the image's model becomes the active one.
        model_server.start()
        wait_for(
            lambda: requests.get(f"http://127.0.0.1:{ports['model-server']}/health", timeout=2).ok, model_server, 120, "/health"
        )
        assert (Path(model_server.env["MODEL_SERVER_DIR"]) / "active").read_text().strip() == "initial"

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
        status = requests.get(f"http://127.0.0.1:{ports['rasa']}/status", params={"token": given["RASA_AUTH_TOKEN"]}, timeout=10)
        assert status.json()["model_file"] == "initial.tar.gz", status.text  # pulled from the model server
        # Rasa published the turn's events; the consumer stored them.
        wait_for(lambda: stored_events(databases["gateway"], f"read-only-{tag}") >= 4, events, 60, "the turn's events stored")
        # The training worker's Job with nothing queued: it reads the queue and exits.
        ran = worker.run()
        assert ran.returncode == 0 and "Read-only file system" not in ran.stdout + ran.stderr, ran.stdout + ran.stderr
        for pod in (actions, model_server, rasa, gateway, events):
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
        delete_user_and_vhost(broker)
        shutil.rmtree(state, ignore_errors=True)


def stored_events(url: str, sender_id: str) -> int:
    import sqlalchemy as sa

    from bot.db_schema import conversation_events

    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.count()).where(conversation_events.c.sender_id == sender_id)
            return conn.execute(query).scalar_one()
    finally:
        engine.dispose()
