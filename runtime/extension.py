"""What a package outside ``runtime`` plugs into the app (the LAB) without being imported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generated.lab_control.server import Handlers as LabControlHandlers
    from generated.server_support import Guard
    from runtime.readiness import Runtime
    from runtime.settings import Settings

__all__ = ["Extension", "ExtensionFactory"]


@dataclass
class Extension:
    """Handlers of the lab-control contract, their guards, extra routes and start-up work.

    ``start`` runs inside the app's lifespan and registers its clean-up on the stack,
    so background tasks stop before the database closes.
    """

    lab_control: LabControlHandlers | None = None
    guards: Mapping[str, Guard] = field(default_factory=dict)
    route_handlers: Sequence[Any] = ()
    start: Callable[[AsyncExitStack], Awaitable[None]] | None = None


ExtensionFactory = Callable[["Runtime", "Settings"], Extension]
