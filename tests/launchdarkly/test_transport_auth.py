"""The auth object that carries the access token never shows it."""

from __future__ import annotations

from pydantic import SecretStr

from ld_insights_mcp.launchdarkly.transport import RawTokenAuth

from ..conftest import TOKEN


def test_the_auth_objects_repr_and_str_hide_the_token() -> None:
    auth = RawTokenAuth(SecretStr(TOKEN))
    for shown in (repr(auth), str(auth), repr(vars(auth)) if hasattr(auth, "__dict__") else ""):
        assert TOKEN not in shown
        assert TOKEN[:8] not in shown
