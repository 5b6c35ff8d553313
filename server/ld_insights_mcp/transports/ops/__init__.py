"""Running the HTTP transports in production: /healthz, /readyz, /metrics and JSON logs."""
