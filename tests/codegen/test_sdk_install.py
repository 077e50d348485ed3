"""The SDK is its own distribution: it installs alone in a fresh venv and imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".bootstrap" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed (make bootstraps it)"
    return found


def test_sdk_installs_alone_and_imports(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    uv = _uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), str(ROOT / "generated" / "sdk")],
        check=True,
        cwd=tmp_path,
    )
    listed = subprocess.run(
        [uv, "pip", "list", "--python", str(python), "--format", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines() if line}
    assert {"voulezvous-sdk", "httpx", "pydantic"} <= installed
    assert not installed & {"litestar", "voulezvous", "sqlalchemy", "jsonschema"}
    script = (
        "import voulezvous_sdk as s; "
        "c = s.ControlPlaneClient('http://127.0.0.1:1'); "
        "print(sorted(n for n in vars(c) if not n.startswith('_')))"
    )
    done = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "sessions" in done.stdout and "consent" in done.stdout
