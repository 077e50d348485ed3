"""The generator: contracts and manifest schemas in, ``generated/`` out."""

from codegen.errors import CodegenError
from codegen.pipeline import GENERATED_DIR, Drift, check, format_files, render, write

__all__ = [
    "CodegenError",
    "Drift",
    "GENERATED_DIR",
    "check",
    "format_files",
    "render",
    "write",
]
