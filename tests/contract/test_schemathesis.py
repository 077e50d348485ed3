"""schemathesis over the assembled app, every contract, all default checks.

The only tolerated answer outside the contract is 501 NOT_IMPLEMENTED from an
operation that has no handler yet (DESIGN.md section 3); everything else the app
answers must pass every check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from codegen.openapi.document import bundle
from runtime.app import build_app
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_DB = Path(tempfile.mkdtemp(prefix="vvtv-schemathesis-")) / "vvtv.db"
APP = build_app(Settings(database_url=f"sqlite:///{_DB}"))


def _schema(name: str) -> Any:
    document = bundle(ROOT / "contracts" / "openapi" / f"{name}.yaml").document
    schema = schemathesis.openapi.from_dict(document)
    schema.app = APP
    schema.location = f"/openapi/{name}.yaml"
    return schema


CONTROL_PLANE = _schema("control-plane")
PUBLIC_API = _schema("public-api")
LAB_CONTROL = _schema("lab-control")
BOUNDED = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


def _check(case: Any) -> None:
    response = case.call()
    if response.status_code == 501 and response.json().get("code") == "NOT_IMPLEMENTED":
        return  # documented: the operation has no handler yet
    case.validate_response(response)


@CONTROL_PLANE.parametrize()
@BOUNDED
def test_control_plane(case: Any) -> None:
    _check(case)


@PUBLIC_API.parametrize()
@BOUNDED
def test_public_api(case: Any) -> None:
    _check(case)


@LAB_CONTROL.parametrize()
@BOUNDED
def test_lab_control(case: Any) -> None:
    _check(case)
