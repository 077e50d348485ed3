"""Jinja2 templates of the generated code."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["environment"]


@cache
def environment() -> Environment:
    """The template environment: strict (an unknown name is an error), no autoescape (Python)."""
    env = Environment(  # noqa: S701 - templates render Python, not HTML
        loader=PackageLoader("codegen", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["py"] = repr  # a Python literal of any str, number, None or tuple
    return env
