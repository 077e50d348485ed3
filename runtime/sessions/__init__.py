"""Sessions: the orchestrator every mode depends on (rules now; store and service next)."""

from runtime.sessions.rules import (
    EDGES,
    CostEstimate,
    InvalidTransitionError,
    check_edge,
    cost_estimate,
    egress_gb_per_hour,
)

__all__ = [
    "EDGES",
    "CostEstimate",
    "InvalidTransitionError",
    "check_edge",
    "cost_estimate",
    "egress_gb_per_hour",
]
