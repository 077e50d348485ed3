"""Event schemas to models, a discriminated union and compiled validators."""

from codegen.events.target import render_events
from codegen.events.validator import ValidatorCompiler

__all__ = ["ValidatorCompiler", "render_events"]
