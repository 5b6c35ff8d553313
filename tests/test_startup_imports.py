"""Start-up loads only what answering ``initialize`` and ``tools/list`` needs: the HTTP
stack and the LaunchDarkly client are loaded by the background warm-up, the emulator's app
(Starlette routes, the seed) only when demo mode builds it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .processes import clean_env

DEFERRED = (
    "httpx",
    "ld_insights_mcp.launchdarkly.client",
    "ld_insights_mcp.launchdarkly.transport",
    "ld_insights_mcp.emulator.app",
    "ld_insights_mcp.emulator.seed",
)

PROBE = """
import json, sys
from ld_insights_mcp.config import Settings
from ld_insights_mcp.surface.server import create_server
create_server(Settings(**json.loads(sys.argv[1])))
print(json.dumps([m for m in json.loads(sys.argv[2]) if m in sys.modules]))
"""


@pytest.mark.parametrize(
    "settings",
    [
        {"access_token": "api-start-up", "base_uri": "http://127.0.0.1:9"},
        {"demo": True},
    ],
    ids=["real", "demo"],
)
def test_building_the_server_loads_no_http_stack_client_or_emulator_app(
    settings: dict[str, object],
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(settings), json.dumps(DEFERRED)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_emulator_package_still_offers_its_names() -> None:
    import ld_insights_mcp.emulator as emulator

    for name in emulator.__all__:
        assert getattr(emulator, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = emulator.no_such_name
