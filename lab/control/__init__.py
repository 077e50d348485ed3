"""The LAB control API: request signing now; the handlers come with the pipeline."""

from lab.control.signing import (
    ReplayGuard,
    SignatureError,
    SignedRequest,
    canonical_string,
    sign,
    verify_signature,
)

__all__ = [
    "ReplayGuard",
    "SignatureError",
    "SignedRequest",
    "canonical_string",
    "sign",
    "verify_signature",
]
