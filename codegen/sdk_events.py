"""The AsyncAPI channels: the server's list of them, and the SDK's typed subscriptions.

The SDK's events are the event models and validators with typed subscriptions per channel.

The SDK installs on its own, so it carries its own copy of the generated event modules
(they import only pydantic and the standard library) instead of importing `generated`.
"""

from __future__ import annotations

import re
from pathlib import Path

from codegen.asyncapi import load_channels
from codegen.events.target import EVENTS_TARGET
from codegen.openapi.sdk import SDK_DIR, SDK_PACKAGE
from codegen.templates import environment

__all__ = ["render_sdk_events"]


def render_sdk_events(root: Path, rendered: dict[Path, str]) -> dict[Path, str]:
    """The SDK's events and ``realtime.py``, and the server's ``generated/events/channels.py``."""
    events = {p: t for p, t in rendered.items() if p.parent == EVENTS_TARGET}
    if not events:
        return {}
    base = SDK_DIR / SDK_PACKAGE
    files: dict[Path, str] = {}
    for path, text in events.items():
        # The union module imports its siblings by the generated package's name.
        local = text.replace("from generated.events.", f"from {SDK_PACKAGE}.events.")
        files[base / "events" / path.name] = local
    header = "\n".join(events[EVENTS_TARGET / "__init__.py"].splitlines()[:2])
    channels = load_channels(root)
    classes = sorted({name for channel in channels for name in channel.event_classes})
    files[base / "realtime.py"] = (
        environment()
        .get_template("sdk_realtime.py.j2")
        .render(
            header=header,
            sdk=SDK_PACKAGE,
            channels=channels,
            classes=classes,
            base_url="http://127.0.0.1:8000",
        )
    )
    routes = [
        {**channel.__dict__, "litestar_path": re.sub(r"\{([^}:]+)\}", r"{\1:str}", channel.address)}
        for channel in channels
    ]
    files[EVENTS_TARGET / "channels.py"] = (
        environment().get_template("events_channels.py.j2").render(header=header, channels=routes)
    )
    return files
