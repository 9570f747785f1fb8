"""Metrics (Prometheus), health/readiness, and event publishing to MQTT."""
