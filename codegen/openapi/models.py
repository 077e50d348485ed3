"""Pydantic v2 models of a normalized document's components (datamodel-code-generator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen.errors import CodegenError
from codegen.openapi.ir import Api

__all__ = ["render_models"]

# Same choices as the manifest models: strict enums as Literals, nullable as
# `T | None`, constrained scalars as type aliases, class names from the titles
# the normalizer assigned (so routers and the SDK know every name).
_OPTIONS = [
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--target-python-version", "3.11",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-schema-description",
    "--use-field-description",
    "--use-title-as-name",
    "--use-double-quotes",
    "--strict-nullable",
    "--use-type-alias",
    "--enum-field-as-literal", "all",
    "--disable-timestamp",
    # email and URI formats stay plain strings: pydantic's EmailStr needs an extra
    # package the SDK must not depend on; the server validates them where it matters.
    "--type-mappings", "email=string", "idn-email=string", "uri=string",
    "--no-formatters",
    "--custom-file-header-mode", "replace",
]  # fmt: skip


def render_models(api: Api, header: str) -> str:
    """The models module for ``api`` (one file)."""
    doc = {
        "openapi": api.document.get("openapi", "3.1.0"),
        "info": api.document.get("info", {"title": api.name, "version": "0"}),
        "paths": {},
        "components": {"schemas": api.document.get("components", {}).get("schemas", {})},
    }
    env = {**os.environ, "PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="vvtv-models-") as tmp:
        source = Path(tmp) / f"{api.name}.json"
        source.write_text(json.dumps(doc, indent=1, sort_keys=False), encoding="utf-8")
        out = Path(tmp) / "models.py"
        cmd = [
            sys.executable, "-m", "datamodel_code_generator",
            "--input", str(source), "--output", str(out),
            "--custom-file-header", header, *_OPTIONS,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            raise CodegenError(f"{api.name}: model generation failed:\n{done.stderr.strip()}")
        return out.read_text(encoding="utf-8")
