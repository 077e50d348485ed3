"""`vvtv codegen`: the generated ConfigBundle models are current, deterministic and guarded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import codegen
from codegen.config_models import render_config_models
from codegen.hashing import contract_hash


def test_generated_tree_is_up_to_date(root: Path) -> None:
    drift = codegen.check(root)
    assert drift.clean, drift.diff


def test_every_generated_file_names_the_contract_hash(root: Path) -> None:
    schemas = sorted((root / "contracts/manifests").glob("*.schema.json"))
    digest = contract_hash(root, schemas)
    for path in (root / "generated/config").glob("*.py"):
        assert f"# contract-hash: {digest}" in path.read_text().splitlines()[1], path


def _project_copy(root: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for folder in ("contracts", "generated"):
        shutil.copytree(root / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_hand_edit_is_drift_with_a_diff_and_the_fix(root: Path, tmp_path: Path) -> None:
    copy = _project_copy(root, tmp_path)
    target = copy / "generated/config/media_profiles_schema.py"
    target.write_text(target.read_text().replace("le=120", "le=240", 1))
    done = subprocess.run(
        [sys.executable, "-m", "vvtv", "codegen", "--check", "--root", str(copy)],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert done.returncode == 1
    assert "--- a/generated/config/media_profiles_schema.py" in done.stdout
    assert "-" in done.stdout and "le=240" in done.stdout
    assert "fix with: vvtv codegen" in done.stderr
    # Regenerating repairs it, and a second run changes nothing.
    assert codegen.write(copy) == [Path("generated/config/media_profiles_schema.py")]
    assert codegen.write(copy) == []


def test_a_contract_edit_without_regenerating_is_drift(root: Path, tmp_path: Path) -> None:
    copy = _project_copy(root, tmp_path)
    schema = copy / "contracts/manifests/telemetry-events.schema.json"
    schema.write_text(
        schema.read_text().replace('"country", "region"', '"country", "region", "city"')
    )
    drift = codegen.check(copy)
    assert not drift.clean
    assert Path("generated/config/telemetry_events_schema.py") in drift.changed


def test_stray_files_in_generated_are_drift(root: Path, tmp_path: Path) -> None:
    copy = _project_copy(root, tmp_path)
    (copy / "generated/config/extra.py").write_text("x = 1\n")
    assert Path("generated/config/extra.py") in codegen.check(copy).changed


def test_output_is_identical_across_hash_seeds_timezones_and_locales(root: Path) -> None:
    script = (
        "import json, sys; from pathlib import Path; "
        "from codegen.config_models import render_config_models; "
        "print(json.dumps({str(k): v for k, v in render_config_models(Path(sys.argv[1])).items()}))"
    )
    outputs = set()
    for seed, tz, lang in (("1", "UTC", "C.UTF-8"), ("4242", "Asia/Tokyo", "pt_BR.UTF-8")):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "LANG": lang, "LC_ALL": lang}
        done = subprocess.run(
            [sys.executable, "-c", script, str(root)],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert render_config_models(root)  # and in-process it renders too
