"""The HTTP transports: the ASGI app, its security and connection limits, the session cap
and replica-tagged session ids."""
