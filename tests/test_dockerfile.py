"""The Dockerfile, linted (no Docker engine runs here) and checked for what it promises."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_hadolint_accepts_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(Path(__file__).parents[1] / ".venv/bin/hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: it is in the dev extra")
    done = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"),
                           str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM python:3.11-slim") == 2
    assert "USER 10001" in text and "useradd" in text
    assert "EXPOSE 9108" in text and "HEALTHCHECK" in text and "/metrics" in text
    assert "--no-index" in text  # the runtime stage installs only the built wheels
    assert "obflow replay" in text.splitlines()[-1]
