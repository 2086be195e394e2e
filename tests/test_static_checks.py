"""mypy --strict and ruff over the packages, so type and lint errors fail the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-8000:]


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "konsylium", "rooms", "signalling", "telemed",
         "sfu", "loadtests", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout[-8000:]


def test_no_installed_packages_are_tracked() -> None:
    """web/node_modules is installed (npm ci), never committed: a worktree's symlink to the shared install,
    once committed, replaces the main checkout's install with a link to itself."""
    done = subprocess.run(["git", "ls-files", "--", "web/node_modules", ":(glob)**/node_modules/**"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "", done.stdout[:2000] + done.stderr[-2000:]
