"""Pydantic v2 models of a normalized document's components (datamodel-code-generator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen.errors import CodegenError
from codegen.jsonschema_models import MODEL_OPTIONS
from codegen.openapi.ir import Api

__all__ = ["render_models"]

# The shared model options; class names come from the titles the normalizer
# assigned, so routers and the SDK know every name. JSON scalars are taken as they are:
# `"false"` or `0` is not a boolean and `"5"` is not an integer (the contract's types).
_OPTIONS = ["--input-file-type", "openapi", *MODEL_OPTIONS, "--strict-types", "bool", "int", "str"]


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
