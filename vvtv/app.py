"""The composition root: the platform's app with the LAB plugged in (what ``vvtv up`` serves)."""

from __future__ import annotations

from litestar import Litestar

from lab.app import lab_extension
from lab.settings import LabSettings
from runtime.app import build_app as build_platform_app
from runtime.settings import Settings

__all__ = ["build_app"]


def build_app(settings: Settings | None = None, lab: LabSettings | None = None) -> Litestar:
    """The platform's app with the LAB's routes, control handlers and channel."""
    return build_platform_app(settings, extension=lab_extension(lab))
