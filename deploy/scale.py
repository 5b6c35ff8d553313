"""The compose topology on a bare machine: Redis and nginx from the system's packages, an
emulator (or LaunchDarkly) upstream, N replicas as processes; pid files and logs under a run
directory (``build/scale/`` for ``make scale-up``).

    python deploy/scale.py up [--replicas 3] [--port 8080]     # make scale-up
    python deploy/scale.py load [--calls 1000] [--clients 100]  # the load command
    python deploy/scale.py down                                 # make scale-down

Without LD_ACCESS_TOKEN the upstream is the emulator (demo data) on a loopback port.
The tests (tests/scale) start the same pieces through these functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
RUN_DIR = ROOT / "build" / "scale"
DEMO_TOKEN = "api-demo-0000-0000"  # noqa: S105 - the emulator's public demo token
STATE_KEY = "scale-demo-request-state-key-0000000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on port {port}")
        time.sleep(0.05)


def _spawn(
    command: Sequence[str], run_dir: Path, name: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = (run_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own commands
        list(command),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        start_new_session=True,
        cwd=run_dir,
    )
    (run_dir / f"{name}.pid").write_text(str(process.pid))
    return process


def start_redis(run_dir: Path, port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(run_dir),
        "--protected-mode",
        "yes",
    ]
    process = _spawn(command, run_dir, "redis")
    wait_for_port(port, process, "redis-server")
    return process


def start_emulator(run_dir: Path, port: int, latency: float = 0.0) -> subprocess.Popen[bytes]:
    # the tests' emulator (tests/support, not installed): demo data, added latency
    command = [sys.executable, "-m", "tests.support", "--port", str(port)]
    command += ["--latency", str(latency)]
    process = _spawn(command, run_dir, "emulator", {**os.environ, "PYTHONPATH": str(ROOT)})
    wait_for_port(port, process, "the emulator")
    return process


def replica_env(base_uri: str, token: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "LAUNCHDARKLY_"))}
    env.update({"LD_BASE_URI": base_uri, "LD_ACCESS_TOKEN": token})
    env.setdefault("LD_INSIGHTS_REQUEST_STATE_KEYS", STATE_KEY)
    if redis_url:
        env["LD_INSIGHTS_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("ld-insights-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ld_insights_mcp"]


def start_replica(
    run_dir: Path, name: str, port: int, env: Mapping[str, str], args: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    command = [
        *server_command(),
        "--transport",
        "streamable-http",
        "--port",
        str(port),
        "--log-format",
        "json",
        *args,
    ]
    process = _spawn(command, run_dir, name, {**env, "LD_INSIGHTS_REPLICA_ID": name})
    wait_for_port(port, process, name)
    return process


def render_nginx(listen: int, replicas: Sequence[tuple[str, int]], run_dir: Path) -> str:
    """deploy/nginx.conf for loopback: these replicas (name as in ``LD_INSIGHTS_REPLICA_ID``,
    port), this port, files under ``run_dir``."""
    text = NGINX_TEMPLATE.read_text()
    names = [name for name, _ in replicas]
    address = {name: f"127.0.0.1:{port}" for name, port in replicas}
    routes = "".join(f"        ~^{name}\\. {name};\n" for name in names)
    servers = "".join(
        f"        server {address[name]} max_fails=2 fail_timeout=5s;\n" for name in names
    )
    pinned = "".join(
        f"    upstream {name} {{\n"
        f"        server {address[name]} max_fails=2 fail_timeout=5s;\n"
        + "".join(f"        server {address[o]} backup;\n" for o in names if o != name)
        + "    }\n"
        for name in names
    )
    for marker, block in (("routes", routes), ("replicas", servers), ("pinned", pinned)):
        text = re.sub(
            rf"( *# -- {marker} begin\n).*?( *# -- {marker} end\n)",
            lambda m, block=block: m.group(1) + block + m.group(2),
            text,
            flags=re.S,
        )
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    temp = run_dir / "nginx-temp"
    temp.mkdir(parents=True, exist_ok=True)
    temp.chmod(0o777)
    paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + paths, 1)
    head = f"pid {run_dir / 'nginx.pid'};\nerror_log {run_dir / 'nginx-error.log'} warn;\n"
    return head + text


def start_nginx(
    run_dir: Path, listen: int, replicas: Sequence[tuple[str, int]]
) -> subprocess.Popen[bytes]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    conf = run_dir / "nginx.conf"
    conf.write_text(render_nginx(listen, replicas, run_dir))
    command = [binary, "-p", str(run_dir), "-c", str(conf), "-g", "daemon off;"]
    process = _spawn(command, run_dir, "nginx-master")
    wait_for_port(listen, process, "nginx")
    return process


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


# --- load ------------------------------------------------------------------------------


@dataclass
class LoadResult:
    calls: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float | int]:
        lat = sorted(self.latencies) or [0.0]
        return {
            "calls": self.calls,
            "errors": len(self.errors),
            "calls_per_second": round(self.calls / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
        }


DEFAULT_CALLS: tuple[tuple[str, dict[str, object]], ...] = (
    ("list_insight_groups", {}),
    ("list_insight_groups", {"limit": 5}),
    ("get_insight_group", {"key": "ios-team"}),
    ("list_metric_groups", {"project_key": "mobile-app"}),
)


async def run_load(
    url: str,
    *,
    calls: int,
    clients: int,
    plan: Sequence[tuple[str, Any]] = DEFAULT_CALLS,
    on_progress: object = None,
) -> LoadResult:
    """``calls`` tool calls over ``clients`` concurrent MCP clients (2026-07-28, no session),
    each call counted as an error if it raises or answers ``isError``."""
    import anyio
    from mcp import Client

    result = LoadResult()
    counter = iter(range(calls))
    started = time.perf_counter()

    async def client_loop() -> None:
        async with Client(url, cache=None) as client:  # type: ignore[call-arg]
            for n in counter:
                name, arguments = plan[n % len(plan)]
                if callable(arguments):  # per-call arguments, e.g. a unique key
                    arguments = arguments(n)
                begun = time.perf_counter()
                try:
                    answer = await client.call_tool(name, dict(arguments))
                except Exception as exc:
                    result.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                else:
                    if answer.is_error:
                        text = answer.content[0].text if answer.content else ""  # type: ignore[union-attr]
                        result.errors.append(f"{name}: {text}"[:300])
                    else:
                        result.latencies.append(time.perf_counter() - begun)
                result.calls += 1
                if callable(on_progress):
                    on_progress(result.calls)

    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(client_loop)
    result.seconds = time.perf_counter() - started
    return result


def scrape(port: int) -> str:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def cache_figures(replica_ports: Sequence[int]) -> dict[str, float]:
    """Cache reads (hit, coalesced, miss) summed over the replicas' /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {"hit": 0.0, "coalesced": 0.0, "miss": 0.0}
    for port in replica_ports:
        for family in text_string_to_metric_families(scrape(port)):
            if family.name == "ld_insights_cache_reads":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        totals[sample.labels["result"]] += sample.value
    return totals


# --- command line ----------------------------------------------------------------------


def _up(args: argparse.Namespace) -> None:
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if any(run_dir.glob("*.pid")):
        sys.exit(f"already running (pid files in {run_dir}); run `make scale-down` first")
    start_redis(run_dir, args.redis_port)
    token = os.environ.get("LD_ACCESS_TOKEN")
    if token:
        base = os.environ.get("LD_BASE_URI", "https://app.launchdarkly.com")
    else:
        start_emulator(run_dir, args.emulator_port)
        token, base = DEMO_TOKEN, f"http://127.0.0.1:{args.emulator_port}"
    env = replica_env(base, token, f"redis://127.0.0.1:{args.redis_port}/0")
    ports = [args.port + 1 + i for i in range(args.replicas)]
    for i, port in enumerate(ports, start=1):
        start_replica(run_dir, f"replica{i}", port, env)
    start_nginx(run_dir, args.port, [(f"replica{i}", p) for i, p in enumerate(ports, start=1)])
    (run_dir / "topology.json").write_text(json.dumps({"nginx": args.port, "replicas": ports}))
    print(
        f"nginx on http://127.0.0.1:{args.port}/mcp; replicas on {ports}; Redis on "
        f"{args.redis_port}; logs and pid files in {run_dir}"
    )


def _down(args: argparse.Namespace) -> None:
    run_dir = Path(args.run_dir)
    for pid_file in sorted(run_dir.glob("*.pid")):
        if pid_file.name == "nginx.pid":  # written by nginx itself; the master's is ours
            pid_file.unlink(missing_ok=True)
            continue
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(600):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (ProcessLookupError, ValueError):
            pass
        pid_file.unlink(missing_ok=True)
    print(f"stopped everything started from {run_dir}")


def _load(args: argparse.Namespace) -> None:
    import anyio

    topology = json.loads((Path(args.run_dir) / "topology.json").read_text())
    before = cache_figures(topology["replicas"])
    url = f"http://127.0.0.1:{topology['nginx']}/mcp"
    result = anyio.run(lambda: run_load(url, calls=args.calls, clients=args.clients))
    after = cache_figures(topology["replicas"])
    delta = {k: after[k] - before[k] for k in after}
    reads = sum(delta.values())
    summary = {
        **result.summary(),
        "upstream_reads": delta["miss"],
        "upstream_reads_saved": delta["hit"] + delta["coalesced"],
        "saved_ratio": round((reads - delta["miss"]) / reads, 3) if reads else 0.0,
    }
    print(json.dumps(summary))
    for error in result.errors[:5]:
        print("error:", error, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="deploy/scale.py", description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", default=str(RUN_DIR))
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start Redis, the emulator, replicas and nginx")
    up.add_argument("--replicas", type=int, default=3)
    up.add_argument("--port", type=int, default=8080, help="nginx; replicas on the next ports")
    up.add_argument("--redis-port", type=int, default=6390)
    up.add_argument("--emulator-port", type=int, default=8777)
    commands.add_parser("down", help="stop what `up` started")
    load = commands.add_parser("load", help="tool calls through nginx; prints the figures")
    load.add_argument("--calls", type=int, default=1000)
    load.add_argument("--clients", type=int, default=100)
    args = parser.parse_args(argv)
    {"up": _up, "down": _down, "load": _load}[args.command](args)


if __name__ == "__main__":
    main()
