"""The contract documents themselves, served as they are in the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter

Name = Annotated[str, PathParameter()]

__all__ = ["ContractDocsController", "contract_files"]

_MEDIA = {".yaml": "application/yaml", ".json": "application/schema+json"}


def contract_files(contracts: Path) -> dict[str, Path]:
    """URL path -> file for every served contract document (nothing else is reachable)."""
    files: dict[str, Path] = {}
    for pattern in ("openapi/*.yaml", "events/*.schema.json", "*.schema.json", "asyncapi.yaml"):
        for file in sorted(contracts.glob(pattern)):
            files["/" + file.relative_to(contracts).as_posix()] = file
    return files


def _serve(state: State, path: str) -> Response[bytes]:
    file = state.contract_files.get(path)
    if file is None:
        raise NotFoundException(f"no contract document at {path}")
    return Response(
        file.read_bytes(),
        media_type=_MEDIA[file.suffix],
        headers={"Cache-Control": "no-cache"},
    )


class ContractDocsController(Controller):
    """``/openapi/*.yaml``, ``/events/*.schema.json``, ``/problem.schema.json``, ``/asyncapi.yaml``.

    Relative ``$ref``s between documents resolve because the layout mirrors ``contracts/``.
    """

    include_in_schema = False

    @get("/openapi", sync_to_thread=False)
    def index(self, state: State) -> dict[str, Any]:
        """Every served contract document."""
        return {"documents": sorted(state.contract_files), "interactive": "/docs"}

    @get("/openapi/{name:str}", sync_to_thread=False)
    def openapi(self, state: State, name: Name) -> Response[bytes]:
        """One OpenAPI document."""
        return _serve(state, f"/openapi/{name}")

    @get("/events/{name:str}", sync_to_thread=False)
    def event(self, state: State, name: Name) -> Response[bytes]:
        """One event schema."""
        return _serve(state, f"/events/{name}")

    @get("/{name:str}", sync_to_thread=False)
    def root_document(self, state: State, name: Name) -> Response[bytes]:
        """The shared problem schema and the AsyncAPI document."""
        return _serve(state, f"/{name}")
