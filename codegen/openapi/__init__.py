"""OpenAPI documents to models, handler Protocols with Litestar routers, and clients."""

from codegen.openapi.document import Bundle, bundle, load_document
from codegen.openapi.ir import Api, Body, Operation, Pagination, Param, Reply, Tag
from codegen.openapi.normalize import normalize
from codegen.openapi.target import load_api, render_api, render_openapi

__all__ = [
    "Api",
    "Body",
    "Bundle",
    "Operation",
    "Pagination",
    "Param",
    "Reply",
    "Tag",
    "bundle",
    "load_api",
    "load_document",
    "normalize",
    "render_api",
    "render_openapi",
]
