"""The bundle's entry point: ``uv run main.py`` starts the server on stdio.

uv installs the project (``pyproject.toml``, locked by ``uv.lock``) before running this file, so
``ld_insights_mcp`` is the installed package. The app passes each field of the extension's
settings as the environment variable the manifest names. A field left blank arrives empty and
is removed here, so its setting takes its default (an empty ``LD_BASE_URI`` is not a URL and
would stop the server). Without a token and without demo data, the message names the
extension's own settings: a bundle's user has no command line to pass ``--demo`` on.
"""

import json
import os
import sys
from pathlib import Path

MANIFEST = Path(__file__).with_name("manifest.json")


def _missing_token(titles: dict[str, str]) -> str | None:
    """The message for a start without a token or demo data, in the settings' own words."""
    from pydantic import ValidationError

    from ld_insights_mcp.config import Settings

    try:
        settings = Settings()
    except ValidationError:  # the server names the setting itself
        return None
    if settings.demo or (settings.access_token and settings.access_token.get_secret_value()):
        return None
    return (
        "ld-insights-mcp: no LaunchDarkly access token: in this extension's settings, fill in "
        f'"{titles["access_token"]}" (a personal or service access token; it starts with '
        f'api-), or turn on "{titles["demo"]}" to try it on built-in data.'
    )


def main() -> int:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for name in manifest["server"]["mcp_config"]["env"]:
        if not os.environ.get(name, "unset").strip():
            del os.environ[name]
    titles = {key: field["title"] for key, field in manifest["user_config"].items()}
    message = _missing_token(titles)
    if message is not None:
        print(message, file=sys.stderr)
        return 2
    from ld_insights_mcp.cli import main as serve

    return serve()


sys.exit(main())
