"""What a server process shares between its sessions, and with other replicas through Redis:
the read cache's store, the rate-limit gates, the metrics that count them."""
