"""A tiny run of each load generator so that they cannot rot (no timing thresholds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


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


def test_webhook_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_webhooks", "--rates", "20", "--seconds", "2",
         "--drain-timeout", "30", "--json", str(tmp_path / "webhooks.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 2 and rows[0].startswith("| offered bookings/s |"), done.stdout
    (level,) = json.loads((tmp_path / "webhooks.json").read_text())["levels"]
    booked = level["bookings"]["booked"]
    assert booked == level["bookings"]["offered"] == 40 and level["reference"]["booked"] == 40, level
    # every booking's webhook arrived, once, signed (the sampled signatures verified), the outbox drained
    assert level["delivered"] == booked and level["missing"] == 0 and level["duplicates"] == 0, level
    assert level["failures"] == 0 and level["verified"] >= 1 and level["verify_failed"] == 0, level
    assert level["drain_seconds"] is not None and level["series"], level


def test_sfu_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_sfu", "--quick", "--json", str(tmp_path / "sfu.json"),
         "--plot", str(tmp_path / "sfu.png")],
        capture_output=True, text=True, timeout=90, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 2  # header + Konsylium at N=1
    header = [cell.strip() for cell in rows[0].split("|")]
    cells = [cell.strip() for cell in rows[1].split("|")]
    forwarded = float(cells[header.index("forwarded pkt/s")].replace(",", ""))
    assert forwarded > 0, done.stdout
    assert (tmp_path / "sfu.json").exists()
    assert (tmp_path / "sfu.png").read_bytes().startswith(b"\x89PNG")


def test_signalling_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_signalling", "--clients", "12", "--room-size", "4",
         "--seconds", "2", "--workers", "1", "--json", str(tmp_path / "sig.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "sig.json").read_text())
    assert result["connected"] == 12 and result["errors"] == 0, result
    assert result["mutes"] > 0 and result["joins"] >= 12


def test_join_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_join", "--runs", "1"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 1 ")]
    assert len(rows) == 1 and float(rows[0].split("|")[2]) > 0, done.stdout  # -1 would mean no frame


def test_admit_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_admit", "--runs", "2", "--json", str(tmp_path / "admit.json")],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("| admit ") for line in done.stdout.splitlines()), done.stdout
    result = json.loads((tmp_path / "admit.json").read_text())
    summary = result["summary"]
    # both admissions and both reference joins reached a first frame, by way of the stamped stages
    assert summary["admit"]["n"] == 2 and summary["join"]["n"] == 2 and summary["direct"]["n"] == 2, summary
    for run in result["runs"]:
        stages = run["admit"]["stages"]
        assert 0 <= stages["admitted"] <= stages["offer"] <= stages["frame"] == run["admit"]["ms"], stages


def _rooms(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run bench_rooms with `args` (1 s warm-up, 2 s window); return its one result."""
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_rooms", *args, "--warmup", "1", "--window", "2",
         "--json", str(tmp_path / "rooms.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads((tmp_path / "rooms.json").read_text())
    assert isinstance(result, dict)
    return result


def test_room_scenarios_benchmark_runs(tmp_path: Path) -> None:
    result = _rooms(tmp_path, "--scenarios", "rooms:2x2", "--workers", "2", "--audio")
    assert result["streams"] == 4 and result["forwarded_per_second"] > 0, result
    assert result["picture_moves"] and result["latency_ms"], result  # the sampled subscriber decoded stamps
    assert result["codec"] == "vp8+opus" and result["fps_per_stream"] > 0 and result["mbps_per_stream"] > 0, result
    assert result["no_first_frame"] == 0 and len(result["first_frame_ms"]) == 4, result


def test_room_scenarios_run_over_socketio(tmp_path: Path) -> None:
    result = _rooms(tmp_path, "--scenarios", "meeting:3", "--workers", "1", "--signalling", "socketio")
    assert result["signalling"] == "socketio" and result["streams"] == 6 + 1, result  # + the WHEP sample
    assert result["forwarded_per_second"] > 0 and result["picture_moves"], result
    assert result["no_first_frame"] == 0 and len(result["first_frame_ms"]) == 3 + 1, result


def test_room_scenarios_with_kernel_sinks(tmp_path: Path) -> None:
    result = _rooms(tmp_path, "--scenarios", "broadcast:6", "--workers", "2", "--count-every", "3")
    assert result["streams"] == 6 and result["counted_streams"] == 2, result  # subscribers 0 (sampled) and 3
    assert result["publishers_sending"] == result["publishers"] == 1 and not result["failed_subscriptions"], result
    # 6 streams forwarded, 2 of them counted: the 4 sinks were sent their packets too
    assert result["forwarded_per_second"] > 2 * result["received_per_second"], result
    assert result["client_socket_drops"] == 0 and result["picture_moves"], result  # the sinks' drops are left out


def test_clinic_morning_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_clinic", "--visits", "2", "--queue", "3", "--seconds", "2",
         "--workers", "1", "--json", str(tmp_path / "clinic.json")],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| visits | queue |" in done.stdout, done.stdout
    (result,) = json.loads((tmp_path / "clinic.json").read_text())["results"]
    # both visits admitted, media both ways in each, the waiting patients still waiting
    assert result["admitted"] == 2 and len(result["admit_ms"]) == 2 and result["errors"] == [], result
    assert result["lost_visits"] == 0 and result["queue_lost"] == 0 and result["received"] > 0, result
