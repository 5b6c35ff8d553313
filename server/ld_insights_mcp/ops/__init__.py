"""Running the HTTP transports in production: shared state, health, metrics, limits, logs."""
