"""Breaking-change classifier: two contracts folders in, classified ``Change`` records out.

``compare_trees(old, new)`` compares ``openapi/*.yaml``, ``events/*.schema.json`` and
``problem.schema.json`` after inlining every ``$ref`` (so a renamed component of the same
shape is no change). Annotations (descriptions, titles, summaries, examples, links) are
ignored. Each change has a stable check id; a few ids are breaking only in the case given.

Directions. A request is read by the new server from old clients: it breaks when the new
schema rejects something the old one accepted. A response is read by old clients: it
breaks when it may hold something the old schema did not allow, or lacks something it
guaranteed; response objects are open (clients ignore unknown fields). Events need both
backward (new consumers read old events) and forward (old consumers read new events)
compatibility, and event ``data`` is closed (``additionalProperties: false``), so almost
every event change breaks one side. Request views hide ``readOnly`` fields, response views
``writeOnly`` ones.

Breaking:

- ``operation.removed``: an operation (method + path template) is gone.
- ``operation.id_changed`` / ``operation.tag_changed``: renames or regroups the SDK and
  handler methods generated from it.
- ``parameter.added_required``, ``parameter.became_required``.
- ``parameter.removed``: breaking when the old parameter was required (path parameters
  always are); removing an optional parameter is non-breaking, since the server simply
  ignores it when an old client still sends it.
- ``parameter.type_changed`` (unless widened), ``parameter.enum_narrowed``,
  ``parameter.constraint_narrowed``, ``parameter.default_changed`` (clients that omit it
  get another value): a parameter's schema follows the request rules below, with the
  ``parameter.`` prefix.
- ``request.body_added`` (when required), ``request.body_removed``,
  ``request.body_became_required``, ``request.media_type_removed``.
- ``request.field_added_required``, ``request.field_became_required``.
- ``request.field_removed``: breaking when the request object is closed
  (``additionalProperties: false``: old clients that send it get 422); else non-breaking.
- ``request.type_changed`` (unless widened, e.g. ``integer -> number`` or made nullable),
  ``request.enum_narrowed``, ``request.constraint_narrowed`` (min/max, lengths, items,
  ``pattern``/``format``/``multipleOf`` added or changed, ``uniqueItems``, closed object),
  ``request.variant_removed`` (a ``oneOf``/``anyOf`` variant), ``request.default_changed``.
- ``response.field_removed``, ``response.field_type_changed`` (unless narrowed),
  ``response.field_became_optional`` (no longer required, or now nullable).
- ``response.enum_widened``: clients switch on response enums and old SDK models reject
  values they do not know (common practice: treat a widened response enum as breaking).
- ``response.constraint_relaxed`` (old SDK models validate the old constraints),
  ``response.variant_added``.
- ``response.status_removed`` / ``response.status_added`` / ``response.media_type_removed``:
  breaking for a 2xx status (old SDKs cannot decode an unknown success); non-breaking for
  error statuses, which every client already handles as problem+json.
- ``problem.field_removed``, ``problem.field_type_changed``,
  ``problem.field_became_optional``, ``problem.constraint_relaxed``,
  ``problem.variant_added``: ``problem.schema.json`` is compared once, with the response
  rules (error bodies that are this schema on both sides are not compared per operation).
- ``problem.enum_narrowed``: a problem code removed or renamed (CONVENTIONS.md forbids it).
- ``security.changed``: breaking when some old way to authenticate is no longer accepted
  (a requirement added, a scheme replaced, a scope added); non-breaking when only relaxed.
- ``security.scheme_changed``: a scheme both versions define works differently.
- ``event.removed``, ``event.field_removed`` (breaking when the field was required or the
  object is closed), ``event.field_added_required``, ``event.field_became_required``,
  ``event.field_became_optional``, ``event.type_changed``, ``event.enum_narrowed``
  (old events no longer validate), ``event.enum_widened`` (old consumers reject new
  values), ``event.constraint_changed`` (tightened or relaxed), ``event.variant_added``,
  ``event.variant_removed``.
- ``event.field_added_optional``: breaking when the object is closed, as event ``data`` is
  (old strict consumers reject the unknown field); non-breaking in an open object.

Non-breaking:

- ``operation.added``, ``parameter.added_optional``, ``parameter.became_optional``,
  ``parameter.enum_widened``, ``parameter.constraint_relaxed``.
- ``request.field_added_optional``, ``request.field_became_optional``,
  ``request.enum_widened``, ``request.constraint_relaxed``, ``request.variant_added``.
- ``response.field_added``, ``response.field_became_required``,
  ``response.enum_narrowed``, ``response.constraint_narrowed``,
  ``response.variant_removed``.
- ``problem.enum_widened`` (a new problem code: clients fall back on the HTTP status for
  codes they do not know), ``problem.field_added``, ``problem.field_became_required``,
  ``problem.constraint_narrowed``, ``problem.variant_removed``.
- ``parameter.type_changed`` / ``request.type_changed`` when widened, and
  ``response.field_type_changed`` / ``problem.field_type_changed`` when narrowed.
- ``event.added``: consumers ignore event types they do not know.

Not compared: ``asyncapi.yaml`` (channel bindings), response headers, and
``contracts/manifests``. ``load_reference`` turns ``--against`` (a folder or a git ref)
into a folder; ``latest_release`` finds the newest ``contracts/released/vN``.
"""

from codegen.breaking.model import (
    BreakingCheckError,
    Change,
    Kind,
    UnknownReferenceError,
    is_breaking,
)
from codegen.breaking.tree import compare_trees, latest_release, load_reference

__all__ = [
    "BreakingCheckError",
    "Change",
    "Kind",
    "UnknownReferenceError",
    "compare_trees",
    "is_breaking",
    "latest_release",
    "load_reference",
]
