"""The README's two commands: CI runs them as written, and the second works in a new terminal."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```bash\n(.*?)\n```$", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_starts_with_two_commands_and_ci_runs_them_as_written() -> None:
    install, tests = readme_commands()[:2]
    assert "python3 -m venv .venv" in install and "jupyter-book build" in install
    assert "python -m pytest" in tests and "--nbval" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    # CI runs both commands exactly as the README writes them, each on a line of its own.
    assert install in ci_lines and tests in ci_lines


def test_second_command_works_in_a_fresh_terminal() -> None:
    """Pasted into a new terminal, the test command failed with 'No module named pytest'
    unless the reader had activated .venv first."""
    tests = readme_commands()[1]
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        if os.environ.get("PREFIX_APPROX_REQUIRE_SITE_TESTS") == "1":
            pytest.fail("CI must have made .venv with the README's first command")
        pytest.skip("no .venv here: the README's first command was not run in this checkout")
    # The same command, asking pytest only for its version, in an environment with nothing
    # activated: a bare PATH, no VIRTUAL_ENV, no PYTHONPATH.
    probe = tests.split("python -m pytest")[0] + "python -m pytest --version"
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        ["bash", "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pytest" in result.stdout + result.stderr
