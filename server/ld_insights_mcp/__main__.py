"""``python -m ld_insights_mcp``."""

import sys

from ld_insights_mcp.cli import main

sys.exit(main())
