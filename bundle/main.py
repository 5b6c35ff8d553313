"""The bundle's entry point: ``uv run main.py`` starts the server on stdio.

uv installs the project (``pyproject.toml``, locked by ``uv.lock``) before running this file, so
``ld_insights_mcp`` is the installed package.
"""

import sys

from ld_insights_mcp.cli import main

sys.exit(main())
