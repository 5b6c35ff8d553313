"""Real redis-server and nginx (system packages) on loopback ports in temp dirs, the
emulator as the upstream, replicas as subprocesses. Skipped, saying why, without the
binaries."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ld_insights_mcp.emulator import DEMO_TOKEN
from tests.support import Emulator, serve_on_loopback

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("deploy_scale", ROOT / "deploy" / "scale.py")
assert _spec is not None
assert _spec.loader is not None
scale = importlib.util.module_from_spec(_spec)
sys.modules["deploy_scale"] = scale
_spec.loader.exec_module(scale)

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed: apt-get install redis-server (CI installs it)",
)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed: apt-get install nginx (CI installs it)"
)


@dataclass
class Redis:
    run_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = scale.start_redis(self.run_dir, self.port)

    def stop(self) -> None:
        if self.process is not None:
            scale.stop(self.process)
            self.process = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = Redis(tmp_path, scale.free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def upstream() -> Iterator[tuple[Emulator, str]]:
    """One emulator on a loopback port, shared by every replica of the test."""
    emulator = Emulator(token=DEMO_TOKEN)
    with serve_on_loopback(emulator) as url:
        yield emulator, url


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)


@dataclass
class Replicas:
    run_dir: Path
    base_uri: str
    redis_url: str | None
    started: list[Replica] = field(default_factory=list)

    def start(self, count: int = 1, *args: str, **env: str) -> list[Replica]:
        new = []
        for _ in range(count):
            name = f"replica{len(self.started) + 1}"
            port = scale.free_port()
            environment = scale.replica_env(self.base_uri, DEMO_TOKEN, self.redis_url, **env)
            process = scale.start_replica(self.run_dir, name, port, environment, args)
            replica = Replica(name, port, process, self.run_dir / f"{name}.log")
            self.started.append(replica)
            new.append(replica)
        return new

    def stop_all(self) -> None:
        for replica in self.started:
            scale.stop(replica.process, timeout=20)


@pytest.fixture
def replicas(tmp_path: Path, redis: Redis, upstream: tuple[Emulator, str]) -> Iterator[Replicas]:
    group = Replicas(tmp_path, upstream[1], redis.url)
    try:
        yield group
    finally:
        group.stop_all()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[[list[Replica]], str]]:
    if NGINX is None:
        pytest.skip("nginx is not installed: apt-get install nginx")
    started: list[subprocess.Popen[bytes]] = []

    def start(behind: list[Replica]) -> str:
        port = scale.free_port()
        started.append(scale.start_nginx(tmp_path, port, [(r.name, r.port) for r in behind]))
        return f"http://127.0.0.1:{port}/mcp"

    try:
        yield start
    finally:
        for process in started:
            scale.stop(process, timeout=10)


def upstream_requests(emulator: Emulator, operation: str) -> int:
    return sum(1 for r in emulator.requests if r.operation_id == operation)


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics answer, parsed by the Prometheus text parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)
