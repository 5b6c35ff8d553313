"""``python -m ld_insights_mcp``."""

import sys

from .cli import main

sys.exit(main())
