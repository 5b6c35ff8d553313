"""Constants shared with the product without importing the emulator itself."""

DEMO_TOKEN = "api-demo-0000-0000"  # noqa: S105 - public demo token, not a secret
"""The token the product's ``--demo`` mode uses against the embedded emulator."""
