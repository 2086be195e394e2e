"""A tiny run of each load generator so that they cannot rot (no timing thresholds)."""

from __future__ import annotations

import subprocess
import sys


def test_booking_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_booking", "--concurrency", "1,4",
         "--count", "20", "--max-seconds", "10"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 3  # header + two levels
    assert rows[1].split("|")[2].strip() == "20" and rows[1].split("|")[3].strip() == "0"
