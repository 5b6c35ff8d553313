"""``make scale-soak`` (deploy/soak.py) leaves nothing running when a piece fails to start:
the real Redis, emulator and first replica it started are stopped again."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from .conftest import ROOT, needs_redis

pytestmark = [needs_redis, pytest.mark.timeout(120)]


def _soak_module() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_soak", ROOT / "deploy" / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy_soak"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_soak_whose_second_replica_fails_to_start_stops_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak = _soak_module()
    scale = soak.scale
    started: list[subprocess.Popen[bytes]] = []

    def recorded(start: Any, fails_at: int = 0) -> Any:
        """``start``, each process it starts recorded; its ``fails_at``-th call fails."""
        calls = 0

        def starting(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            nonlocal calls
            calls += 1
            if calls == fails_at:
                raise RuntimeError("replica2 exited with 1")
            process: subprocess.Popen[bytes] = start(*args, **kwargs)
            started.append(process)
            return process

        return starting

    monkeypatch.setattr(scale, "start_redis", recorded(scale.start_redis))
    monkeypatch.setattr(scale, "start_emulator", recorded(scale.start_emulator))
    monkeypatch.setattr(scale, "start_replica", recorded(scale.start_replica, fails_at=2))
    args = argparse.Namespace(run_dir=str(tmp_path), seconds=1.0, clients=1)
    try:
        with pytest.raises(RuntimeError, match="replica2 exited"):
            anyio.run(soak.run, args)
        running = [p.args for p in started if p.poll() is None]
    finally:
        for process in started:  # this test leaves nothing behind either way
            scale.stop(process, timeout=10)
    assert len(started) == 3  # redis, the emulator, replica1
    assert running == []
