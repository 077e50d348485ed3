"""Sessions: the orchestrator every mode depends on (rules, store, service, handlers)."""

from runtime.sessions.handlers import SessionHandlers
from runtime.sessions.rules import EDGES, CostEstimate, InvalidTransitionError, cost_estimate
from runtime.sessions.service import Requested, SessionService, Transitioned

__all__ = [
    "CostEstimate",
    "EDGES",
    "InvalidTransitionError",
    "Requested",
    "SessionHandlers",
    "SessionService",
    "Transitioned",
    "cost_estimate",
]
