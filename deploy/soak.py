"""A bounded soak of the replicated topology (``make scale-soak``, about 5 minutes).

Redis, the emulator (50 ms per request), 3 replicas and nginx as in ``make scale-up`` (in
``build/scale-soak/``), then clients for ``--seconds``: half in 2025-handshake sessions
(the SDK's client in legacy mode), half in the 2026-07-28 protocol, each making varied reads
(groups, scores, charts, evidence over changing windows) through nginx. Meanwhile:

- Redis is stopped (SIGSTOP) for 0.6 s, then resumed;
- replica3 is killed (SIGKILL), then started again 5 s later;
- replica2 is stopped (SIGTERM) and started again once it exited.

Every 10 s it samples Redis (``used_memory``, keys, the largest tag set) and replica1 (series
in ``/metrics``, RSS). It passes when: the only failed calls were in flight on the killed
replica (from the signal until the process was gone); no call took longer than the call
budget; a SIGTERM exits 0; after warm-up, Redis memory, its keys, the largest tag set and
replica1's series stay flat (the mean of the last third of the samples over the first's). A
2025 session whose replica went away gets 404 and starts a new session, as the protocol says
(counted, not a failure). Prints the figures and writes them to ``soak.json``; exits 1 if a
check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # deploy/scale.py, beside this file

RUN_DIR = scale.ROOT / "build" / "scale-soak"
CALL_BUDGET = 20.0
SESSION_LOST = ("Session terminated", "Session not found")
SCOPE = {"project_key": "mobile-app", "environment_key": "production"}
GROUPS = (
    "ios-team",
    "android-team",
    "checkout-squad",
    "payments-api",
    "ml-features",
    "ingest-team",
)
CHARTS = ("deployment_frequency", "lead_time", "release_frequency", "flag_status", "stale_flags")


def varied_read(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One read, its arguments drawn so the cache sees a steady stream of new keys."""
    days = rng.randint(1, 90)
    pick = rng.randrange(8)
    if pick == 0:
        return "get_insight_group", {"key": rng.choice(GROUPS)}
    if pick == 1:
        return "list_insight_groups", {"limit": rng.randint(1, 20)}
    if pick == 2:
        return "get_insight_scores", dict(SCOPE)
    if pick == 3:
        kind = rng.choice(CHARTS)
        window = {} if kind in ("flag_status", "stale_flags") else {"days": days}  # snapshots
        return "get_insight_chart", {"kind": kind, **window, **SCOPE}
    if pick == 4:
        return "list_deployments", {"days": days, "limit": rng.randint(1, 50), **SCOPE}
    if pick == 5:
        return "list_pull_requests", {"days": days, "limit": rng.randint(1, 50), **SCOPE}
    if pick == 6:
        return "list_flag_events", {"days": days, "limit": rng.randint(1, 50), **SCOPE}
    return "list_metric_groups", {"project_key": "mobile-app", "limit": rng.randint(1, 50)}


@dataclass
class Call:
    began: float
    ended: float
    tool: str
    mode: str
    error: str | None = None


@dataclass
class Soak:
    started: float = field(default_factory=time.monotonic)
    calls: list[Call] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)
    samples: list[dict[str, float]] = field(default_factory=list)
    sessions_reopened: int = 0

    def at(self) -> float:
        return time.monotonic() - self.started


async def client_loop(soak: Soak, url: str, mode: str, seed: int, stop_at: float) -> None:
    """Calls until ``stop_at``; a 2025 session lost with its replica is started again and the
    call made once more (what the protocol asks of a client on 404)."""
    from mcp import Client

    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    kwargs: dict[str, Any] = {"cache": None, **({"mode": "legacy"} if mode == "2025" else {})}
    while soak.at() < stop_at:
        try:
            async with Client(url, **kwargs) as client:
                while soak.at() < stop_at:
                    tool, arguments = varied_read(rng)
                    if not await _one(soak, client, tool, arguments, mode):
                        soak.sessions_reopened += 1
                        break  # the session is gone: a new one, and this call again
                    await anyio.sleep(rng.uniform(0.05, 0.2))
        except Exception as exc:  # opening or closing a session failed (a replica died)
            if not any(lost in str(exc) for lost in SESSION_LOST):
                soak.calls.append(Call(soak.at(), soak.at(), "(session)", mode, repr(exc)[:200]))
            await anyio.sleep(0.2)


async def _one(soak: Soak, client: Any, tool: str, arguments: dict[str, Any], mode: str) -> bool:
    """One call, recorded; False when the session was lost (the call is made again)."""
    began = soak.at()
    error: str | None = None
    try:
        with anyio.fail_after(CALL_BUDGET + 15):
            result = await client.call_tool(tool, arguments)
        if result.is_error:
            error = " ".join(getattr(c, "text", "") for c in result.content)[:200]
    except Exception as exc:
        if mode == "2025" and any(lost in str(exc) for lost in SESSION_LOST):
            return False
        error = f"{type(exc).__name__}: {exc}"[:200]
    soak.calls.append(Call(began, soak.at(), tool, mode, error))
    return True


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def sample(soak: Soak, redis_url: str, replica_port: int, pid: Callable[[], int]) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                metrics = (await http.get(f"http://127.0.0.1:{replica_port}/metrics")).text
                series = sum(1 for line in metrics.splitlines() if line and line[0] != "#")
                tags = [k async for k in redis.scan_iter("ld-insights:tags:*", count=500)]
                largest = max([await redis.zcard(t) for t in tags], default=0)
                memory = (await redis.info("memory"))["used_memory"]
                soak.samples.append(
                    {
                        "t": round(soak.at()),
                        "redis_used_memory": memory,
                        "redis_keys": await redis.dbsize(),
                        "largest_tag_set": largest,
                        "replica1_series": series,
                        "replica1_rss_kb": await anyio.to_thread.run_sync(_rss_kb, pid()),
                    }
                )
                await anyio.sleep(10)
    finally:
        await redis.aclose()


def _flat(values: list[float]) -> float:
    """Mean of the last third over mean of the first third (1.0: flat)."""
    third = max(1, len(values) // 3)
    first, last = statistics.mean(values[:third]), statistics.mean(values[-third:])
    return round(last / first, 2) if first else 0.0


def _fresh(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in run_dir.glob("*.log"):
        old.unlink()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = Path(args.run_dir)
    _fresh(run_dir)
    seconds, warmup = args.seconds, args.seconds * 0.2
    redis_port, emulator_port, nginx_port = (scale.free_port() for _ in range(3))
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = scale.replica_env(
        f"http://127.0.0.1:{emulator_port}",
        scale.DEMO_TOKEN,
        redis_url,
        LD_INSIGHTS_CACHE_TTL="15",
        LD_INSIGHTS_CALL_BUDGET=str(CALL_BUDGET),
    )
    names = [f"replica{i}" for i in (1, 2, 3)]
    ports = {name: scale.free_port() for name in names}
    # everything started, by name (a restarted replica replaces its entry): all of it is
    # stopped at the end, also when a start fails
    procs: dict[str, subprocess.Popen[bytes]] = {}
    soak = Soak()
    url = f"http://127.0.0.1:{nginx_port}/mcp"

    async def restart(name: str) -> None:
        procs[name] = await anyio.to_thread.run_sync(
            lambda: scale.start_replica(run_dir, name, ports[name], env)
        )

    async def incidents() -> None:
        await anyio.sleep(seconds * 0.3)
        soak.events["redis_sigstop"] = soak.at()
        os.kill(procs["redis"].pid, signal.SIGSTOP)
        await anyio.sleep(0.6)
        os.kill(procs["redis"].pid, signal.SIGCONT)
        await anyio.sleep(seconds * 0.2)
        soak.events["replica3_sigkill"] = soak.at()
        procs["replica3"].kill()
        await anyio.to_thread.run_sync(procs["replica3"].wait)
        soak.events["replica3_gone"] = soak.at()
        await anyio.sleep(5)
        await restart("replica3")
        await anyio.sleep(seconds * 0.2)
        soak.events["replica2_sigterm"] = soak.at()
        procs["replica2"].send_signal(signal.SIGTERM)
        code = await anyio.to_thread.run_sync(lambda: procs["replica2"].wait(timeout=120))
        soak.events["replica2_exited"] = soak.at()
        soak.events["replica2_exit_code"] = code
        await restart("replica2")

    try:
        procs["redis"] = scale.start_redis(run_dir, redis_port)
        procs["emulator"] = scale.start_emulator(run_dir, emulator_port, latency=0.05)
        for name in names:
            procs[name] = scale.start_replica(run_dir, name, ports[name], env)
        procs["nginx"] = scale.start_nginx(run_dir, nginx_port, [(n, ports[n]) for n in names])
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(
                sample, soak, redis_url, ports["replica1"], lambda: procs["replica1"].pid
            )
            tasks.start_soon(incidents)
            async with anyio.create_task_group() as clients:
                for n in range(args.clients):
                    mode = "2025" if n % 2 == 0 else "2026"
                    clients.start_soon(client_loop, soak, url, mode, n, seconds)
            tasks.cancel_scope.cancel()
    finally:
        for process in reversed(procs.values()):  # nginx first, Redis last
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
            scale.stop(process, timeout=60)
    return report(soak, warmup)


def report(soak: Soak, warmup: float) -> dict[str, Any]:
    killed = soak.events.get("replica3_sigkill", -1.0)
    gone = soak.events.get("replica3_gone", killed)
    failed = [c for c in soak.calls if c.error is not None]
    # in flight on the killed replica: begun before it was gone, ended after the signal
    in_flight_at_kill = [c for c in failed if c.began <= gone and c.ended >= killed]
    other_failures = [c for c in failed if c not in in_flight_at_kill]
    durations = sorted(c.ended - c.began for c in soak.calls if c.error is None)
    steady = [s for s in soak.samples if s["t"] >= warmup]
    figures: dict[str, Any] = {
        "calls": len(soak.calls),
        "calls_2025_sessions": sum(1 for c in soak.calls if c.mode == "2025"),
        "calls_2026": sum(1 for c in soak.calls if c.mode == "2026"),
        "failed": len(failed),
        "failed_in_flight_on_killed_replica": len(in_flight_at_kill),
        "failed_otherwise": len(other_failures),
        "sessions_restarted_after_404": soak.sessions_reopened,
        "p50_ms": round(statistics.median(durations) * 1000, 1) if durations else 0,
        "p99_ms": round(durations[int(len(durations) * 0.99)] * 1000, 1) if durations else 0,
        "longest_s": round(max(c.ended - c.began for c in soak.calls), 2) if soak.calls else 0,
        "call_budget_s": CALL_BUDGET,
        "events_s": {k: round(v, 1) for k, v in soak.events.items()},
        "flat_after_warmup": {
            key: _flat([s[key] for s in steady])
            for key in ("redis_used_memory", "redis_keys", "largest_tag_set", "replica1_series")
        },
        "samples": soak.samples,
        "failures": [f"{c.began:.1f}-{c.ended:.1f} s {c.tool}: {c.error}" for c in failed][:20],
    }
    flat = figures["flat_after_warmup"]
    figures["checks"] = {
        "only_calls_in_flight_on_the_killed_replica_failed": not other_failures,
        "no_call_longer_than_its_budget": figures["longest_s"] <= CALL_BUDGET,
        "redis_memory_flat": flat["redis_used_memory"] <= 1.25,
        "redis_keys_flat": flat["redis_keys"] <= 1.5,
        "tag_sets_flat": flat["largest_tag_set"] <= 1.5,
        "series_flat": flat["replica1_series"] <= 1.1,
        "sigterm_exit_0": soak.events.get("replica2_exit_code") == 0,
    }
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="deploy/soak.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--run-dir", default=str(RUN_DIR))
    args = parser.parse_args(argv)
    figures = anyio.run(run, args)
    Path(args.run_dir, "soak.json").write_text(json.dumps(figures, indent=2))
    shown = {k: v for k, v in figures.items() if k != "samples"}
    print(json.dumps(shown, indent=2))
    for row in figures["samples"]:
        print(json.dumps(row))
    if not all(figures["checks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
