"""Reliability fixtures: the emulator on a real loopback socket, the server pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator, serve_on_loopback

from ..conftest import make_settings


@pytest.fixture
def emulator_url(emulator: Emulator) -> Iterator[str]:
    with serve_on_loopback(emulator) as url:
        yield url


@pytest.fixture
def network_server(emulator_url: str) -> Callable[..., Any]:
    """``network_server(**settings)``: a server reaching the emulator over real TCP."""

    def build(**overrides: Any) -> Any:
        values: dict[str, Any] = {"base_uri": emulator_url, "read_timeout": 2.0}
        values.update(overrides)
        return create_server(make_settings(**values))

    return build
