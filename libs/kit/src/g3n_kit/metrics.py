"""Prometheus metrics shared by every g3n process (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "g3n_events_consumed_total", "Kafka records received by a consumer", ["group", "topic"]
)
EVENTS_APPLIED = Counter("g3n_events_applied_total", "Events whose effect was committed", ["group", "topic"])
EVENTS_DUPLICATE = Counter(
    "g3n_events_duplicate_total", "Events skipped because the inbox had them", ["group", "topic"]
)
EVENTS_DEAD_LETTERED = Counter(
    "g3n_events_dead_lettered_total", "Events sent to the dead-letter topic", ["group", "topic", "reason"]
)
EVENTS_UNMATCHED = Counter(
    "g3n_events_unmatched_total",
    "Events applied with no business effect (e.g. no promo code match)",
    ["group", "event_type", "reason"],
)
CONSUMER_RETRIES = Counter(
    "g3n_consumer_transient_errors_total", "Batches retried after a transient error", ["group"]
)
CONSUMER_LAG = Gauge("g3n_consumer_lag", "High watermark minus position", ["group", "topic", "partition"])
OUTBOX_BACKLOG = Gauge("g3n_outbox_backlog", "Outbox messages not yet published")
OUTBOX_PUBLISHED = Counter("g3n_outbox_published_total", "Outbox messages published", ["topic"])
HTTP_LATENCY = Histogram(
    "g3n_http_request_seconds",
    "HTTP request latency",
    ["operation", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
