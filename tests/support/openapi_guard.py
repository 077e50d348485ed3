"""The openapi-core response guard: every answer checked against its contract, independently.

schemathesis checks responses itself; openapi-core is a second, independent reading of
the same documents (status documented, headers, content type, body schema), so a
mistake of one validator is caught by the other.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from requests.structures import CaseInsensitiveDict

__all__ = ["ResponseGuard"]


class ResponseGuard:
    """Validates (request, response) pairs against one bundled OpenAPI document."""

    def __init__(self, document: dict[str, Any], base_url: str = "http://127.0.0.1:8000") -> None:
        bound = {**document, "servers": [{"url": base_url}]}
        # Problem documents are JSON too (RFC 9457), which openapi-core must be told.
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        self.openapi = OpenAPI.from_dict(bound, config=config)
        self.base_url = base_url

    def check(self, response: Any) -> None:
        """Raise when the response to a documented operation does not match the contract."""
        prepared = response.request.copy()
        path = prepared.url.split("://", 1)[-1]
        prepared.url = self.base_url + "/" + path.split("/", 1)[1] if "/" in path else self.base_url
        answer = requests.Response()
        answer.status_code = response.status_code
        answer._content = response.content
        answer.headers = CaseInsensitiveDict(
            {key: ", ".join(values) for key, values in response.headers.items()}
        )
        answer.request = prepared
        try:
            self.openapi.validate_response(
                RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(answer)
            )
        except (OperationNotFound, PathNotFound):
            # A method or path the contract does not have (schemathesis probes them): there
            # is no documented answer to hold it to; schemathesis checks its 405/404.
            return
