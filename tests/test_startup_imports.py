"""Start-up loads only what answering ``initialize`` and ``tools/list`` needs: the HTTP
stack, the LaunchDarkly client, its wire models and the metrics (prometheus_client)
are loaded by the background warm-up or the first call, the emulator's app (Starlette routes,
the seed) only when demo mode builds it; a stdio start loads neither the HTTP transport nor
sign-in."""

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
    "ld_insights_mcp.launchdarkly.models",
    "ld_insights_mcp.launchdarkly.evidence_models",
    "prometheus_client",
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


STDIO_DEFERRED = (
    *DEFERRED,
    "ld_insights_mcp.transports.http",
    "ld_insights_mcp.transports.ops",
    "ld_insights_mcp.auth.options",
)

STDIO_PROBE = """
import json, sys
from ld_insights_mcp.cli import main
status = main(json.loads(sys.argv[1]))
loaded = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps([status, loaded]), file=sys.stderr)
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


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        (["--base-uri", "http://127.0.0.1:9"], {"LD_ACCESS_TOKEN": "api-start-up"}),
        (["--demo"], {}),
    ],
    ids=["real", "demo"],
)
def test_a_stdio_start_loads_no_http_transport_sign_in_client_or_emulator_app(
    arguments: list[str], env: dict[str, str]
) -> None:
    """The whole command, served over stdio until its input ends (no request, so no
    warm-up): what it loaded on the way."""
    done = subprocess.run(
        [sys.executable, "-c", STDIO_PROBE, json.dumps(arguments), json.dumps(STDIO_DEFERRED)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(**env),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.splitlines()[-1]) == [0, []]


def test_the_emulator_package_still_offers_its_names() -> None:
    import ld_insights_mcp.emulator as emulator

    for name in emulator.__all__:
        assert getattr(emulator, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = emulator.no_such_name
