"""Starts the action server, the Rasa server and the gateway; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import PROJECT_ROOT, Settings


class PortTaken(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    command: List[str]
    port: int
    health_path: str
    process: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None


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


def services_for(settings: Settings, model_path: str) -> List[Service]:
    python = sys.executable
    return [
        Service("action server", [python, "-m", "bot", "actions"], settings.action_port, "/health"),
        Service(
            "Rasa server",
            [
                python, "-m", "rasa", "run", "--enable-api", "--model", model_path,
                "--interface", settings.host, "--port", str(settings.rasa_port),
                "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
                "--cors", "*",
            ],
            settings.rasa_port,
            "/status",
        ),
        Service("gateway", [python, "-m", "bot", "gateway"], settings.gateway_port, "/health"),
    ]


def child_environment(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    var_dir = Path(env.get("QKF_VAR_DIR", PROJECT_ROOT / "var"))
    env.setdefault("RASA_TRACKER_DB", str((PROJECT_ROOT / var_dir / "tracker.db").resolve()))
    env["ACTION_PORT"] = str(settings.action_port)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def wait_healthy(settings: Settings, service: Service, timeout: float) -> bool:
    url = f"http://{settings.host}:{service.port}{service.health_path}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            return False
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


def run(settings: Settings, model_path: str = "models", log_dir: Optional[Path] = None) -> int:
    log_dir = log_dir or PROJECT_ROOT / "var" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    services = services_for(settings, model_path)
    try:
        for service in services:
            ensure_port_free(settings.host, service.port, service.name)
    except PortTaken as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    env = child_environment(settings)
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for service in services:
            service.log_path = log_dir / f"{service.name.replace(' ', '_')}.log"
            log = open(service.log_path, "ab")
            service.process = subprocess.Popen(
                service.command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            timeout = 300 if service.name == "Rasa server" else 60
            if not wait_healthy(settings, service, timeout):
                print(f"error: the {service.name} did not start; see {service.log_path}", file=sys.stderr)
                stop_all(services)
                return 1
            print(f"  {service.name} ready on port {service.port}", flush=True)

        base = f"http://{settings.host}"
        print(
            "\nQinkefu is running:\n"
            f"  Rasa server (REST channel): {base}:{settings.rasa_port}/webhooks/rest/webhook\n"
            f"  Action server:              {base}:{settings.action_port}/health\n"
            f"  Demo shop with the widget:  {base}:{settings.gateway_port}/  (log in a demo buyer: ?buyer=B001)\n"
            f"  Product page:               {base}:{settings.gateway_port}/shop/product/P001?buyer=B001\n"
            f"  Agent console:              {base}:{settings.gateway_port}/agent  (accounts: make agent NAME=alice)\n"
            f"  Trainer console:            {base}:{settings.gateway_port}/trainer  (make agent NAME=tina ROLE=trainer)\n"
            f"  Gateway health / ready:     {base}:{settings.gateway_port}/health  /ready\n"
            f"  Logs:                       {log_dir}\n"
            "Press Ctrl-C to stop everything.",
            flush=True,
        )
        while not stopping:
            for service in services:
                if service.process.poll() is not None:
                    print(f"error: the {service.name} stopped; see {service.log_path}", file=sys.stderr)
                    stop_all(services)
                    return 1
            time.sleep(0.5)
    finally:
        stop_all(services)
    print("stopped.")
    return 0
