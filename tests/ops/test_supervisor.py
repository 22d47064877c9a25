"""The supervisor's restart policy with small real child processes (an HTTP server in `python -c`
that writes its pid to a file, or, with port 0, a background process without one, like the training
worker): one that dies comes back while the other keeps running, one that keeps crashing stops
everything, and SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from tests.servers import free_port

# Serves / (the health path) on its port; writes its pid; exits with code 3 after LIFETIME seconds
# when that is set (a service that keeps crashing).
CHILD = """
import http.server, os, sys, threading
port, pid_file, lifetime = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
with open(pid_file, "a") as f:
    f.write(f"{os.getpid()}\\n")
if lifetime:
    threading.Timer(lifetime, lambda: os._exit(3)).start()
if port:
    http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
threading.Event().wait()
"""

# Runs bot.ops.supervisor.run_services over two children, with a small restart policy.
SUPERVISOR = """
import json, sys
from pathlib import Path
from bot.ops.supervisor import RestartPolicy, Service, run_services
spec = json.loads(sys.argv[1])
services = [Service(s["name"], s["command"], s["port"] or None, "/", start_timeout=20) for s in spec["services"]]
policy = RestartPolicy(max_restarts=3, window_seconds=60, first_delay=0.2, max_delay=1)
sys.exit(run_services("127.0.0.1", [services], {"PATH": "/usr/bin:/bin"}, Path(spec["logs"]), "running", policy))
"""


class Children:
    def __init__(self, tmp_path: Path, lifetimes: List[float], without_port: int = -1) -> None:
        import json

        self.pid_files = [tmp_path / f"child{i}.pids" for i in range(len(lifetimes))]
        self.ports = [0 if i == without_port else free_port() for i in range(len(lifetimes))]
        spec = {
            "logs": str(tmp_path / "logs"),
            "services": [
                {
                    "name": f"sleeper {i + 1}",
                    "command": [sys.executable, "-c", CHILD, str(port), str(pid_file), str(lifetime)],
                    "port": port,
                }
                for i, (port, pid_file, lifetime) in enumerate(zip(self.ports, self.pid_files, lifetimes, strict=True))
            ],
        }
        self.output = tmp_path / "supervisor.out"
        self.process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, json.dumps(spec)],
            stdout=self.output.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def pids(self, index: int) -> List[int]:
        path = self.pid_files[index]
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, condition, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            assert self.process.poll() is None or condition(), self.text()
            time.sleep(0.1)
        raise AssertionError(f"timed out; supervisor said:\n{self.text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for index in range(len(self.pid_files)):
            for pid in self.pids(index):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by the supervisor) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.fixture
def children(request, tmp_path):
    made = []

    def make(lifetimes, without_port=-1):
        made.append(Children(tmp_path, lifetimes, without_port))
        return made[-1]

    yield make
    for running in made:
        running.stop()


def test_a_killed_service_comes_back_and_the_others_keep_running(children):
    running = children([0, 0])
    running.wait_for(lambda: "running" in running.text())
    first, other = running.pids(0)[0], running.pids(1)[0]

    os.kill(first, signal.SIGKILL)
    running.wait_for(lambda: "sleeper 1 is ready again" in running.text())

    assert len(running.pids(0)) == 2 and alive(running.pids(0)[1]), running.text()
    assert running.pids(1) == [other] and alive(other), "the other service was touched"
    assert "the sleeper 1 stopped (killed by SIGKILL); restarting it in 0.2 s" in running.text()
    assert running.process.poll() is None, "the supervisor stopped"

    # SIGTERM (like Ctrl-C) stops everything, with exit code 0.
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=30) == 0, running.text()
    assert not alive(running.pids(0)[1]) and not alive(other)
    assert running.text().rstrip().endswith("stopped.")


def test_a_background_service_without_a_port_is_watched_and_restarted_too(children):
    running = children([0, 0], without_port=1)
    running.wait_for(lambda: "running" in running.text())
    assert "sleeper 2 running" in running.text()
    running.wait_for(lambda: running.pids(1))  # "running" as soon as it is spawned: its pid comes a moment later
    worker = running.pids(1)[0]
    os.kill(worker, signal.SIGKILL)
    running.wait_for(lambda: "sleeper 2 is running again" in running.text())
    assert len(running.pids(1)) == 2 and alive(running.pids(1)[1]), running.text()
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=30) == 0, running.text()


def test_a_service_that_keeps_crashing_stops_everything(children):
    running = children([1.5, 0])  # sleeper 1 exits with code 3 each time, 1.5 s after starting
    assert running.process.wait(timeout=60) == 1, running.text()
    text = running.text()
    # Restarted with a growing delay, then the supervisor gave up and stopped the other one too.
    for delay in ("0.2 s", "0.4 s", "0.8 s"):
        assert f"the sleeper 1 stopped (exit code 3); restarting it in {delay}" in text, text
    assert "the sleeper 1 stopped (exit code 3) after 3 restarts within 60 s; giving up" in text, text
    assert len(running.pids(0)) == 4
    assert running.pids(1) and not alive(running.pids(1)[0])
    assert "sleeper 2 stopped" not in text
