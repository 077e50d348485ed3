"""Manifests to a ``ConfigBundle``: load, validate, merge the tier, clamp, check, build.

Every problem found on the way is collected and located (file, line, column,
JSON pointer, rule id) so that one run reports all of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.config.problems import ConfigError, ConfigProblem, RuleId, json_pointer
from runtime.config.rules import Finding, run_rules
from runtime.config.schemas import BUNDLE_SCHEMA, SchemaSet
from runtime.config.source import Path_, SourceDoc, load_yaml
from runtime.config.tiers import apply_clamps, check_overrides, deep_merge

if TYPE_CHECKING:
    from generated.config import ConfigBundle

__all__ = [
    "MANIFESTS",
    "CheckResult",
    "ManifestSet",
    "bundle_hash",
    "check_config",
    "dump_bundle",
    "load_config",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFESTS_DIR = PROJECT_ROOT / "manifests"
DEFAULT_SCHEMAS_DIR = PROJECT_ROOT / "contracts" / "manifests"

# role -> (file name, schema file name)
MANIFESTS: dict[str, tuple[str, str]] = {
    "media": ("media-profiles.yaml", "media-profiles.schema.json"),
    "modes": ("mode-manifests.yaml", "mode-manifests.schema.json"),
    "tiers": ("cost-tiers.yaml", "cost-tiers.schema.json"),
    "telemetry": ("telemetry-events.yaml", "telemetry-events.schema.json"),
}
_ROLE_BY_NAME = {name: role for role, (name, _) in MANIFESTS.items()}


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class ManifestSet:
    """Which file plays which manifest role."""

    files: dict[str, Path]

    @classmethod
    def resolve(
        cls, paths: Sequence[Path] = (), default_dir: Path | None = None
    ) -> tuple[ManifestSet, list[ConfigProblem]]:
        """Pick files from ``paths`` (folders or manifest files); the rest from ``default_dir``."""
        default_dir = default_dir or DEFAULT_MANIFESTS_DIR
        files = {role: default_dir / name for role, (name, _) in MANIFESTS.items()}
        problems: list[ConfigProblem] = []
        for path in paths:
            if path.is_dir():
                files.update({role: path / name for role, (name, _) in MANIFESTS.items()})
            elif path.name in _ROLE_BY_NAME:
                files[_ROLE_BY_NAME[path.name]] = path
            elif not path.exists():
                problems.append(
                    ConfigProblem(
                        _display(path), 1, 1, RuleId.FILE_MISSING, "", "no such file or folder"
                    )
                )
            else:
                known = ", ".join(sorted(_ROLE_BY_NAME))
                problems.append(
                    ConfigProblem(
                        _display(path),
                        1,
                        1,
                        RuleId.FILE_UNKNOWN,
                        "",
                        f"not a manifest file name (expected one of: {known}) or a folder",
                    )
                )
        return cls(files), problems


@dataclass
class CheckResult:
    """Every problem found, and the bundles of the tiers that came out clean."""

    problems: list[ConfigProblem] = field(default_factory=list)
    bundles: dict[str, ConfigBundle] = field(default_factory=dict)
    tiers: list[str] = field(default_factory=list)
    default_tier: str | None = None

    @property
    def ok(self) -> bool:
        """No problem at all."""
        return not self.problems


def bundle_hash(bundle: dict[str, Any]) -> str:
    """Hash of a bundle's content, ignoring its own ``config_hash``."""
    content = {k: v for k, v in bundle.items() if k != "config_hash"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class _Locator:
    """Maps bundle paths back to the file and position they were written at."""

    def __init__(self, docs: dict[str, SourceDoc], tier: str | None = None) -> None:
        self.docs = docs
        self.tier = tier
        tiers = docs["tiers"]
        self.sections: dict[str, tuple[SourceDoc, Path_]] = {
            "media": (docs["media"], ()),
            "modes": (docs["modes"], ()),
            "limits": (tiers, ("base", "limits")),
            "kill_switches": (tiers, ("base", "kill_switches")),
            "telemetry": (docs["telemetry"], ()),
        }

    def _override(self, path: Path_) -> Path_ | None:
        """Where in the tier's overrides ``path`` was set, if it was."""
        if self.tier is None:
            return None
        tiers = self.docs["tiers"]
        root: Path_ = ("tiers", self.tier, "overrides")
        for end in range(len(path), 0, -1):
            where = (*root, *path[:end])
            # A replaced list or scalar covers everything below it.
            if tiers.has(where) and (end == len(path) or not _is_mapping(tiers, where)):
                return (*where, *path[end:])
        return None

    def source(self, finding: Finding) -> tuple[SourceDoc, Path_]:
        """The file and path a finding is reported at: an override it involves, if any."""
        for candidate in (finding.path, *finding.related):
            where = self._override(candidate)
            if where is not None:
                return self.docs["tiers"], where
        path = finding.path
        if not path or path[0] not in self.sections:
            return self.docs["tiers"], path
        doc, prefix = self.sections[str(path[0])]
        return doc, (*prefix, *path[1:])

    def problem(self, finding: Finding, *, key: bool = False, note: str = "") -> ConfigProblem:
        """The finding as a problem located where it was written."""
        doc, path = self.source(finding)
        return _at(doc, path, finding, key=key, note=note)


def _at(
    doc: SourceDoc, path: Path_, finding: Finding, *, key: bool = False, note: str = ""
) -> ConfigProblem:
    mark = doc.locate(path, key=key)
    pointer = json_pointer(path)
    return ConfigProblem(
        doc.display, mark.line, mark.column, finding.rule, pointer, note + finding.message
    )


def _is_mapping(doc: SourceDoc, path: Path_) -> bool:
    node: Any = doc.data
    for part in path:
        node = node[part]
    return isinstance(node, dict)


def _schema_problems(
    schemas: SchemaSet, schema: str, data: Any, locate: Callable[[Finding, bool], ConfigProblem]
) -> list[ConfigProblem]:
    return [
        locate(Finding(v.rule, v.path, v.message), v.about_key)
        for v in schemas.violations(schema, data)
    ]


def check_config(
    paths: Sequence[Path] = (),
    *,
    tier: str | None = None,
    manifests_dir: Path | None = None,
    schemas_dir: Path | None = None,
    build: bool = True,
) -> CheckResult:
    """Check the manifests (every tier, or only ``tier``) and build the clean bundles.

    With ``build=False`` the typed models are not built (nor imported), which keeps
    a command-line check fast; the JSON Schemas already hold the same constraints.
    """
    manifests, problems = ManifestSet.resolve(paths, manifests_dir)
    result = CheckResult(problems=problems)
    schemas = SchemaSet(schemas_dir or DEFAULT_SCHEMAS_DIR)

    docs: dict[str, SourceDoc] = {}
    for role, file in manifests.files.items():
        loaded = load_yaml(file, _display(file))
        if isinstance(loaded, ConfigProblem):
            result.problems.append(loaded)
        else:
            docs[role] = loaded
    for role, doc in docs.items():
        locate = partial(lambda d, f, key: _at(d, f.path, f, key=key), doc)
        result.problems.extend(_schema_problems(schemas, MANIFESTS[role][1], doc.data, locate))
    if result.problems:
        return _finish(result)

    tiers_doc = docs["tiers"].data
    base: dict[str, Any] = {
        "media": docs["media"].data,
        "modes": docs["modes"].data,
        "limits": tiers_doc["base"]["limits"],
        "kill_switches": tiers_doc["base"]["kill_switches"],
        "telemetry": docs["telemetry"].data,
    }
    known_tiers = list(tiers_doc["tiers"])
    result.default_tier = tiers_doc["default_tier"]
    base_locator = _Locator(docs)
    if tiers_doc["default_tier"] not in known_tiers:
        result.problems.append(
            base_locator.problem(
                Finding(
                    RuleId.REF_TIER,
                    ("default_tier",),
                    f"default tier {tiers_doc['default_tier']!r} is not defined "
                    f"(tiers: {', '.join(known_tiers)})",
                )
            )
        )
    result.problems.extend(base_locator.problem(f) for f in run_rules(base))

    wanted = known_tiers if tier is None else [tier]
    if tier is not None and tier not in known_tiers:
        result.problems.append(
            base_locator.problem(
                Finding(
                    RuleId.REF_TIER,
                    ("tiers",),
                    f"unknown tier {tier!r} (tiers: {', '.join(known_tiers)})",
                )
            )
        )
        wanted = []
    result.tiers = wanted
    for name in wanted:
        _build_tier(result, schemas, docs, base, name, build=build)
    return _finish(result)


def _build_tier(
    result: CheckResult,
    schemas: SchemaSet,
    docs: dict[str, SourceDoc],
    base: dict[str, Any],
    tier: str,
    *,
    build: bool,
) -> None:
    locator = _Locator(docs, tier)
    overrides = docs["tiers"].data["tiers"][tier]["overrides"]
    findings = check_overrides(tier, base, overrides, schemas.limit_at)
    if findings:
        result.problems.extend(
            locator.problem(f, key=f.rule is RuleId.TIER_UNKNOWN_KEY) for f in findings
        )
        return
    effective = apply_clamps(deep_merge(base, overrides))
    bundle = {"tier": tier, "config_hash": "", **effective}
    bundle["config_hash"] = bundle_hash(bundle)
    note = f"under tier {tier}: "
    schema_problems = _schema_problems(
        schemas, BUNDLE_SCHEMA, bundle, lambda f, key: locator.problem(f, key=key, note=note)
    )
    if schema_problems:
        result.problems.extend(schema_problems)
        return
    # A problem the base already has is reported once, not again for every tier.
    reported = set(result.problems)
    fresh = [
        locator.problem(f, note=note)
        for f in run_rules(effective)
        if locator.problem(f) not in reported
    ]
    if fresh:
        result.problems.extend(fresh)
        return
    if build:
        from generated.config import ConfigBundle  # noqa: PLC0415 - see check_config

        result.bundles[tier] = ConfigBundle.model_validate(bundle)


def dump_bundle(bundle: ConfigBundle) -> dict[str, Any]:
    """The bundle as JSON data, as the schemas describe it (unset optionals left out)."""
    data: dict[str, Any] = bundle.model_dump(mode="json", exclude_unset=True)
    return data


def _finish(result: CheckResult) -> CheckResult:
    unique = sorted(set(result.problems), key=lambda p: (p.file, p.line, p.column, p.rule.value))
    result.problems = unique
    return result


def load_config(
    tier: str | None = None,
    *,
    manifests_dir: Path | None = None,
    schemas_dir: Path | None = None,
) -> ConfigBundle:
    """The effective bundle for ``tier`` (the manifests' default tier when ``None``).

    Every tier is checked, not only the one in use: a broken emergency tier must
    not wait for the emergency to be found.
    """
    result = check_config(manifests_dir=manifests_dir, schemas_dir=schemas_dir)
    chosen = tier or result.default_tier
    if not result.ok or chosen is None:
        raise ConfigError(result.problems)
    if chosen not in result.bundles:
        # Only an unknown tier gets here; the targeted check reports it, located.
        unknown = check_config(tier=chosen, manifests_dir=manifests_dir, schemas_dir=schemas_dir)
        raise ConfigError(unknown.problems)
    return result.bundles[chosen]
