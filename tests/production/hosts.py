"""Test hosts on one machine: network namespaces joined by a bridge in the root namespace, each
reached over a veth pair (the machine notes: `ip netns add` and veth work here as root). The root
namespace is the data services' host: PostgreSQL, Redis and RabbitMQ keep listening on 127.0.0.1
(not restarted, not reconfigured) and a forwarder (tests/production/forward.py) serves them on the
bridge address. Names carry a per-run tag; `remove()` takes everything away again."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import uuid
from typing import Dict, List, Optional

import pytest

from tests.conftest import ROOT

DATA_PORTS = (5432, 6379, 5672)  # PostgreSQL, Redis, RabbitMQ on 127.0.0.1


def ip(*args: str, namespace: Optional[str] = None) -> None:
    command = ["ip", "netns", "exec", namespace, "ip", *args] if namespace else ["ip", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def require_network_namespaces() -> None:
    """Skips when this machine gives no rights for network namespaces (never under CI=true: fails)."""
    probe = f"qkprobe{uuid.uuid4().hex[:6]}"
    try:
        if not shutil.which("ip"):
            raise RuntimeError("the ip command (Debian's iproute2) is not installed")
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except (RuntimeError, OSError) as error:
        message = f"the cross-host fault test needs network namespaces (root, ip netns add, veth): {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class Hosts:
    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.bridge = f"qkb{self.tag}"
        self.subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        self.data_host = f"{self.subnet}.1"  # the root namespace's address on the bridge
        self.namespaces: Dict[str, str] = {}  # host name -> namespace
        self.links: Dict[str, str] = {}  # host name -> the root side of its veth
        self.addresses: Dict[str, str] = {}
        self.forwarder: Optional[subprocess.Popen] = None

    def create(self, names: List[str]) -> "Hosts":
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.data_host}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for index, name in enumerate(names):
            namespace, link = f"qk{self.tag}h{index}", f"qkv{self.tag}{index}"
            address = f"{self.subnet}.{10 + index}"
            ip("netns", "add", namespace)
            self.namespaces[name] = namespace
            ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            self.links[name] = link
            ip("link", "set", link, "master", self.bridge)
            ip("link", "set", link, "up")
            ip("addr", "add", f"{address}/24", "dev", "eth0", namespace=namespace)
            ip("link", "set", "eth0", "up", namespace=namespace)
            ip("link", "set", "lo", "up", namespace=namespace)
            self.addresses[name] = address
        routes = [f"{port}:127.0.0.1:{port}" for port in DATA_PORTS]
        self.forwarder = subprocess.Popen(
            [sys.executable, "-m", "tests.production.forward", self.data_host, *routes],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.forwarder.stdout is not None and self.forwarder.stdout.readline().strip() == "ready"
        return self

    def command_prefix(self, name: str) -> List[str]:
        """Runs a command on that host (`ip netns exec` execs it: the pid stays the service's)."""
        return ["ip", "netns", "exec", self.namespaces[name]]

    def cut(self, name: str) -> None:
        """The host's cable is pulled: nothing reaches it or leaves it; its processes keep running."""
        ip("link", "set", self.links[name], "down")

    def reconnect(self, name: str) -> None:
        ip("link", "set", self.links[name], "up")

    def remove(self) -> None:
        """Everything this run made (call after its processes were stopped)."""
        if self.forwarder and self.forwarder.poll() is None:
            self.forwarder.kill()
            self.forwarder.wait()
        for namespace in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
        for link in [*self.links.values(), self.bridge]:
            subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30)
