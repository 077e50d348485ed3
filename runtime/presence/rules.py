"""Pure rules of presence: who is listed where, what a presence advertises, and how long a
presence can outlive its last heartbeat. No I/O.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_DEVICE",
    "GONE_WITHIN_MS",
    "LISTED_IN",
    "MIN_SWEEPER_LEASE_MS",
    "NOT_ADVERTISED",
    "SEE_PRESENCE",
    "SWEEPS_PER_LEASE",
    "advertised_capabilities",
    "sweeper_lease_ms",
    "worst_case_gone_ms",
]

# A presence whose heartbeats stopped is gone in under 20 s (implementation plan,
# phase 2, tests: "heartbeat para -> presenca some em < 20s").
GONE_WITHIN_MS = 20_000

# The sweeper's lease never goes below a second, and otherwise covers four sweeps,
# so a slow sweep does not hand the lease to another process mid-sweep (chosen).
MIN_SWEEPER_LEASE_MS = 1000
SWEEPS_PER_LEASE = 4


def sweeper_lease_ms(sweep_interval_ms: int) -> int:
    """The lease the presence sweeper holds, in ms: max(1000, 4 x the sweep interval)."""
    return max(MIN_SWEEPER_LEASE_MS, SWEEPS_PER_LEASE * sweep_interval_ms)


def worst_case_gone_ms(ttl_s: int, sweep_interval_ms: int) -> int:
    """The longest a presence stays listed after its last heartbeat, in ms.

    It expires ``ttl_s`` after that heartbeat; the next sweep may come a whole
    interval later, and if the process holding the sweep lease died, another one
    only takes over once the lease runs out.
    """
    return ttl_s * 1000 + sweep_interval_ms + sweeper_lease_ms(sweep_interval_ms)


# The capability that makes a mode a presence mode (mode-manifests.yaml: party, sniffers).
SEE_PRESENCE = "see_presence"

# Which visibilities each list shows (control-plane.yaml, PresenceVisibility): the party
# rail shows `visible` and `party_only`, the sniffers grid `visible` only; `hidden` is in
# no list.
LISTED_IN: dict[str, tuple[str, ...]] = {
    "party": ("visible", "party_only"),
    "grid": ("visible",),
}

# A token that named no device at sign-in is one device, this one.
DEFAULT_DEVICE = "default"

# Capabilities a presence does not advertise by default: those that concern only the
# user (watching, previewing, seeing presence) and the safety tools every user always
# has on everyone (report, block). What is left is what others may do with the user.
NOT_ADVERTISED = frozenset(
    {"watch_broadcast", "watch_live", "see_presence", "self_preview", "report", "block"}
)


def advertised_capabilities(mode_capabilities: tuple[str, ...]) -> tuple[str, ...]:
    """A presence's default capabilities: its mode's, less the self-only and safety ones."""
    return tuple(c for c in mode_capabilities if c not in NOT_ADVERTISED)
