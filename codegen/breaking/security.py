"""Security requirements and schemes: breaking when an old way to authenticate stops working."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codegen.breaking.model import BREAKING, NON_BREAKING, Change

__all__ = ["document_security", "security_changes"]

Alternative = dict[str, frozenset[str]]


def _alternatives(requirements: Any) -> list[Alternative]:
    """Each way to authenticate: scheme name -> scopes; ``{}`` means anonymous."""
    if not requirements:
        return [{}]
    return [{str(k): frozenset(v or ()) for k, v in dict(r).items()} for r in requirements]


def _accepted(old: Alternative, new: list[Alternative]) -> bool:
    """Whether a client that satisfies ``old`` satisfies one of ``new``."""
    return any(all(s in old and scopes <= old[s] for s, scopes in alt.items()) for alt in new)


def _text(alt: Alternative) -> str:
    if not alt:
        return "anonymous"
    return " + ".join(f"{s}{sorted(scopes) if scopes else ''}" for s, scopes in sorted(alt.items()))


def security_changes(old: Any, new: Any, where: str) -> list[Change]:
    """``security.changed``: breaking if an old alternative is no longer accepted."""
    before, after = _alternatives(old), _alternatives(new)
    if sorted(map(_text, before)) == sorted(map(_text, after)):
        return []
    lost = [alt for alt in before if not _accepted(alt, after)]
    at = f"{where} security"
    if lost:
        text = f"no longer accepted: {', '.join(map(_text, lost))}"
        return [Change("security.changed", BREAKING, at, text)]
    text = f"relaxed: {' | '.join(map(_text, before))} -> {' | '.join(map(_text, after))}"
    return [Change("security.changed", NON_BREAKING, at, text)]


def _schemes(doc: Mapping[str, Any]) -> dict[str, Any]:
    return dict(dict(doc.get("components") or {}).get("securitySchemes") or {})


def _essential(scheme: Any) -> Any:
    if not isinstance(scheme, dict):
        return scheme
    return {k: v for k, v in scheme.items() if k != "description"}


def document_security(old: Mapping[str, Any], new: Mapping[str, Any], file: str) -> list[Change]:
    """``security.scheme_changed``: a scheme both versions define now works differently."""
    before, after = _schemes(old), _schemes(new)
    out = []
    for name in sorted(set(before) & set(after)):
        if _essential(before[name]) != _essential(after[name]):
            at = f"{file}#/components/securitySchemes/{name}"
            out.append(Change("security.scheme_changed", BREAKING, at, "scheme definition changed"))
    return out
