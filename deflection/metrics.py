"""Prometheus counters for the deflection funnel, on the registry the observability plugin shares."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from deflection.links import Stage


class DeflectionMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.stages = Counter("puente_deflection_stage", "Links reaching each deflection stage",
                              ["stage", "channel"], registry=self.registry)
        self.refused = Counter("puente_deflection_refused", "Links refused, by reason", ["reason"],
                               registry=self.registry)
        self.optouts = Counter("puente_deflection_optouts", "Numbers opted out, by source", ["source"],
                               registry=self.registry)
        self.webhooks_rejected = Counter("puente_deflection_webhook_rejected",
                                         "Webhooks refused for a bad or missing signature", ["provider"],
                                         registry=self.registry)
        self.declined = Counter("puente_deflection_declined", "Offers the caller turned down, by reason",
                                 ["reason"], registry=self.registry)
        self.rate_limited = Counter("puente_deflection_rate_limited", "Link openings refused (429)",
                                    registry=self.registry)

    def stage(self, stage: Stage, channel: str) -> None:
        self.stages.labels(stage=stage.value, channel=channel).inc()
