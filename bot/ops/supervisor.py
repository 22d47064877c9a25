"""Starts services (the embedded profile: action server, Rasa server, gateway), waits until each is
healthy, prints where they are, restarts one that stops (with a growing delay) while the others go
on, and stops them all on Ctrl-C / SIGTERM or when one keeps crashing (RestartPolicy)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional, TextIO

from bot.settings import PROJECT_ROOT, Settings, child_environment, local_secrets_file


class PortTaken(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    command: List[str]
    port: Optional[int]  # None: a background process without an HTTP port (healthy while it runs)
    health_path: str
    env: Dict[str, str] = field(default_factory=dict)  # on top of the common environment
    start_timeout: float = 60
    process: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None
    host: Optional[str] = None  # where it listens, when not the stage's host


def ensure_port_free(host: str, port: int, name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortTaken(
                f"port {port} on {host} is already taken, so the {name} cannot start. "
                f"Stop whatever uses it or choose another port (see .env.example)."
            ) from error


def rasa_command(model_path: str, host: str, port: int, endpoints: str) -> List[str]:
    """Rasa with its HTTP API behind RASA_AUTH_TOKEN (bot.rasa_server adds --auth-token) and no
    CORS: only the gateway and the trainer jobs talk to it, never a browser."""
    return [
        sys.executable,
        "-m",
        "bot.rasa_server",
        "run",
        "--enable-api",
        "--model",
        model_path,
        "--interface",
        host,
        "--port",
        str(port),
        "--credentials",
        "credentials.yml",
        "--endpoints",
        endpoints,
    ]


# Rasa answers / (no token needed) only once its model is loaded.
RASA_HEALTH_PATH = "/"


def services_for(settings: Settings, model_path: str) -> List[Service]:
    python = sys.executable
    return [
        Service("action server", [python, "-m", "bot", "actions"], settings.action_port, "/health"),
        Service(
            "Rasa server",
            rasa_command(model_path, settings.host, settings.rasa_port, "endpoints.yml"),
            settings.rasa_port,
            RASA_HEALTH_PATH,
            start_timeout=300,
        ),
        Service("gateway", [python, "-m", "bot", "gateway"], settings.gateway_port, "/health"),
        # Trains what the trainer console queues and loads the model into the Rasa server.
        Service("training worker", [python, "-m", "bot", "training-worker"], None, ""),
    ]


def wait_healthy(host: str, service: Service, timeout: float) -> bool:
    url = f"http://{service.host or host}:{service.port}{service.health_path}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is None or service.process.poll() is not None:
            return False
        if service.port is None:
            return True
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop_all(services: List[Service]) -> None:
    for service in reversed(services):
        if service.process and service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    for service in services:
        if service.process:
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()


def start(service: Service, env: Dict[str, str], log_dir: Path) -> None:
    service.log_path = log_dir / f"{service.name.replace(' ', '_')}.log"
    log = open(service.log_path, "ab")
    service.process = subprocess.Popen(
        service.command, cwd=PROJECT_ROOT, env={**env, **service.env}, stdout=log, stderr=subprocess.STDOUT
    )


def start_stage(host: str, stage: List[Service], env: Dict[str, str], log_dir: Path) -> Optional[Service]:
    """Starts a stage's services together; returns the first that did not become healthy."""
    for service in stage:
        start(service, env, log_dir)
    for service in stage:
        if not wait_healthy(host, service, service.start_timeout):
            return service
        print(f"  {service.name} {'ready' if service.port else 'running'}{where_port(service)}", flush=True)
    return None


@dataclass
class RestartPolicy:
    """A service that stops is started again after ``first_delay`` seconds, doubling with each
    restart still inside the window (at most ``max_delay``); one that needs more than
    ``max_restarts`` restarts within ``window_seconds`` is crashing for a reason a restart does not
    cure, and everything stops."""

    max_restarts: int = 5
    window_seconds: float = 300
    first_delay: float = 1
    max_delay: float = 30

    def delay(self, recent_restarts: int) -> float:
        return min(self.first_delay * 2**recent_restarts, self.max_delay)


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def where_port(service: Service) -> str:
    return f" on port {service.port}" if service.port is not None else ""


def answers_health(host: str, service: Service, timeout: float = 1) -> bool:
    if service.port is None:
        return service.process is not None and service.process.poll() is None
    try:
        url = f"http://{service.host or host}:{service.port}{service.health_path}"
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except OSError:
        return False


@dataclass
class _Watch:
    restarts: Deque[float] = field(default_factory=deque)  # when it was restarted, inside the window
    restart_at: Optional[float] = None  # stopped: start it again then
    starting_since: Optional[float] = None  # restarted: not healthy yet


class Supervisor:
    """Watches started services: restarts one that stops (and one that, restarted, is not healthy
    within its start_timeout), logging which and why; the others keep running."""

    def __init__(
        self,
        host: str,
        services: List[Service],
        env: Dict[str, str],
        log_dir: Path,
        policy: Optional[RestartPolicy] = None,
        out: Optional[TextIO] = None,
    ) -> None:
        self.host, self.services, self.env, self.log_dir = host, services, env, log_dir
        self.policy = policy or RestartPolicy()
        self.out = out
        self.watches = {service.name: _Watch() for service in services}

    def say(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} supervisor: {text}", file=self.out or sys.stderr, flush=True)

    def check(self) -> Optional[str]:
        """One look at every service; returns why to give up, or None."""
        now = time.monotonic()
        for service in self.services:
            watch = self.watches[service.name]
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    start(service, self.env, self.log_dir)
                    watch.restart_at, watch.starting_since = None, now
                    pid = service.process.pid if service.process else "?"
                    self.say(f"the {service.name} started again (pid {pid})")
                continue
            code = service.process.poll() if service.process else -signal.SIGKILL
            if code is None:
                if watch.starting_since is not None:
                    if answers_health(self.host, service):
                        self.say(f"the {service.name} is {'ready' if service.port else 'running'} again{where_port(service)}")
                        watch.starting_since = None
                    elif now - watch.starting_since > service.start_timeout and service.process:
                        self.say(f"the {service.name} was not ready within {service.start_timeout:.0f} s; stopping it")
                        service.process.kill()
                        service.process.wait()
                continue
            while watch.restarts and now - watch.restarts[0] > self.policy.window_seconds:
                watch.restarts.popleft()
            if len(watch.restarts) >= self.policy.max_restarts:
                return (
                    f"the {service.name} stopped ({exit_reason(code)}) after {len(watch.restarts)} restarts within "
                    f"{self.policy.window_seconds:.0f} s; giving up; see {service.log_path}"
                )
            delay = self.policy.delay(len(watch.restarts))
            watch.restarts.append(now)
            watch.restart_at, watch.starting_since = now + delay, None
            self.say(
                f"the {service.name} stopped ({exit_reason(code)}); restarting it in {delay:g} s "
                f"(restart {len(watch.restarts)} of at most {self.policy.max_restarts} in "
                f"{self.policy.window_seconds:.0f} s); see {service.log_path}"
            )
        return None

    def watch(self, stopping: Callable[[], bool], interval: float = 0.5) -> int:
        """Until ``stopping()``: 0; when a service keeps crashing: 1 (the caller stops everything)."""
        while not stopping():
            gave_up = self.check()
            if gave_up:
                print(f"error: {gave_up}", file=self.out or sys.stderr, flush=True)
                return 1
            time.sleep(interval)
        return 0


def run_services(
    host: str,
    stages: List[List[Service]],
    env: Dict[str, str],
    log_dir: Path,
    banner: str,
    policy: Optional[RestartPolicy] = None,
) -> int:
    """Starts the stages in order (a stage's services together, all healthy before the next
    stage), prints the banner, and keeps everything running, restarting a service that stops
    (RestartPolicy), until Ctrl-C / SIGTERM or until one keeps crashing."""
    services = [service for stage in stages for service in stage]
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for service in services:
            if service.port is not None:
                ensure_port_free(host, service.port, service.name)
    except PortTaken as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for stage in stages:
            failed = start_stage(host, stage, env, log_dir)
            if failed is not None:
                print(f"error: the {failed.name} did not start; see {failed.log_path}", file=sys.stderr)
                stop_all(services)
                return 1
            if stopping:
                return 0
        print(banner + f"\n  Logs: {log_dir}\nPress Ctrl-C to stop everything.", flush=True)
        if Supervisor(host, services, env, log_dir, policy).watch(lambda: stopping):
            return 1
    finally:
        stop_all(services)
    print("stopped.")
    return 0


def run(settings: Settings, model_path: str = "models", log_dir: Optional[Path] = None) -> int:
    """The embedded profile: one process each, SQLite files under var/ (their schema is upgraded
    first, here, not by the services)."""
    from bot.db_migrate import upgrade_databases

    upgrade_databases(settings.orders_db_url, settings.gateway_db_url)
    base = f"http://{settings.host}"
    demo = (
        f"  Demo shop with the widget:  {base}:{settings.gateway_port}/  (log in a demo buyer: ?buyer=B001)\n"
        f"  Product page:               {base}:{settings.gateway_port}/shop/product/P001?buyer=B001\n"
        if settings.demo_shop
        else "  Demo shop:                  off (QKF_DEMO_SHOP=1 turns it on; make run does)\n"
    )
    banner = (
        "\nQinkefu is running:\n"
        f"  Rasa server (REST channel): {base}:{settings.rasa_port}/webhooks/rest/webhook\n"
        f"  Action server:              {base}:{settings.action_port}/health\n"
        + demo
        + f"  Secrets:                    {local_secrets_file()} (this machine's, generated)\n"
        f"  Agent console:              {base}:{settings.gateway_port}/agent  (accounts: make agent NAME=alice)\n"
        f"  Trainer console:            {base}:{settings.gateway_port}/trainer  (make agent NAME=tina ROLE=trainer)\n"
        f"  Gateway health / ready:     {base}:{settings.gateway_port}/health  /ready"
    )
    return run_services(
        settings.host,
        [[service] for service in services_for(settings, model_path)],
        # This machine's generated secrets unless set, and the registry's defaults for what Rasa
        # reads from endpoints.yml (ACTION_PORT, RASA_TRACKER_DB).
        child_environment(local_secrets=True),
        log_dir or settings.var_dir / "logs",
        banner,
    )
