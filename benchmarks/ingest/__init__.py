"""``make bench-ingest``: usage ingest over REST and gRPC on the full stack (docs/metering.md)."""
