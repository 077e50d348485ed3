"""The demo accounts `vvtv up` makes in development, so a fresh machine can sign in."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.identity.service import IdentityService

__all__ = ["DEMO_ACCOUNTS", "DemoAccount", "seed_demo_accounts"]


@dataclass(frozen=True)
class DemoAccount:
    """A development account and its password (printed at start-up, never in production)."""

    email: str
    password: str
    role: str
    display_name: str


# Known passwords, on purpose: the README shows how to sign in with them. `vvtv up`
# makes these only when VVTV_ENV=dev.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("alice@demo.voulezvous.tv", "alice-demo-password", "user", "Alice"),
    DemoAccount("bruno@demo.voulezvous.tv", "bruno-demo-password", "user", "Bruno"),
    DemoAccount("rita@demo.voulezvous.tv", "rita-demo-password", "moderator", "Mod Rita"),
    DemoAccount("admin@demo.voulezvous.tv", "admin-demo-password", "admin", "Admin"),
)


async def seed_demo_accounts(identity: IdentityService) -> list[tuple[DemoAccount, bool]]:
    """Create the demo accounts that do not exist yet; each with whether it was made now."""
    made = []
    for demo in DEMO_ACCOUNTS:
        created = await identity.create_account(
            demo.email,
            password=demo.password,
            role=demo.role,
            display_name=demo.display_name,
            age_verified=True,
        )
        made.append((demo, created is not None))
    return made
