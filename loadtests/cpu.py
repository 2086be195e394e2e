"""CPU accounting for benchmarks: a process's CPU time and context switches, per-core busy time.

Everything is read from /proc (Linux), so that the figures are those of the
measured process as the kernel counts them, with no sampling in between.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CoreTimes",
    "ProcessCpu",
    "WindowCpu",
    "core_times",
    "descendants",
    "pin_current_process",
    "pinned_command",
    "process_cpu",
]

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcessCpu:
    """A process's cumulative CPU (utime + stime, all threads) and context switches."""

    cpu_seconds: float
    voluntary_switches: int
    involuntary_switches: int
    at: float  # time.monotonic() when read
    processes: int = 1


def descendants(pid: int) -> list[int]:
    """Every live descendant process of `pid` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    out: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            out.append(child)
            pending.append(child)
    return out


def _one_process(pid: int) -> tuple[int, int, int]:
    """utime+stime ticks, voluntary and involuntary switches (all threads) of one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it ended meanwhile
        return 0, 0, 0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is the state
    ticks = int(fields[11]) + int(fields[12])
    voluntary = involuntary = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary += int(line.split()[1])
    return ticks, voluntary, involuntary


def process_cpu(pid: int, *, with_children: bool = False) -> ProcessCpu:
    """Read utime+stime of `pid` from /proc/<pid>/stat and its threads' context switches;
    with `with_children`, summed over the process and all its live descendants."""
    at = time.monotonic()
    pids = [pid, *descendants(pid)] if with_children else [pid]
    ticks = voluntary = involuntary = 0
    for one in pids:
        t, v, i = _one_process(one)
        ticks, voluntary, involuntary = ticks + t, voluntary + v, involuntary + i
    return ProcessCpu(ticks / TICKS_PER_SECOND, voluntary, involuntary, at, len(pids))


@dataclass(frozen=True, slots=True)
class CoreTimes:
    """Cumulative busy and total jiffies of each core (from /proc/stat)."""

    busy: dict[int, int]
    total: dict[int, int]


def core_times() -> CoreTimes:
    busy: dict[int, int] = {}
    total: dict[int, int] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        numbers = [int(v) for v in values[:8]]  # user nice system idle iowait irq softirq steal
        core = int(name[3:])
        total[core] = sum(numbers)
        busy[core] = total[core] - numbers[3] - numbers[4]
    return CoreTimes(busy, total)


@dataclass(frozen=True, slots=True)
class WindowCpu:
    """CPU over one measurement window."""

    seconds: float
    process_percent: float  # of one core
    context_switches: int
    core_busy_percent: dict[int, float]

    @classmethod
    def between(cls, before: ProcessCpu, after: ProcessCpu, cores_before: CoreTimes,
                cores_after: CoreTimes) -> WindowCpu:
        seconds = after.at - before.at
        busy = {}
        for core, total in cores_after.total.items():
            elapsed = total - cores_before.total.get(core, 0)
            used = cores_after.busy[core] - cores_before.busy.get(core, 0)
            busy[core] = 100.0 * used / elapsed if elapsed else 0.0
        switches = (after.voluntary_switches + after.involuntary_switches
                    - before.voluntary_switches - before.involuntary_switches)
        return cls(seconds, 100.0 * (after.cpu_seconds - before.cpu_seconds) / seconds, switches, busy)


def pin_current_process(core: int) -> bool:
    """Pin this process (every thread it has now, and so every thread it starts) to `core`."""
    if core >= (os.cpu_count() or 1):
        return False
    for task in Path("/proc/self/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {core})
        except OSError:
            pass
    return True


def pinned_command(command: list[str], core: int | None) -> list[str]:
    """Prefix `command` with taskset so that the process and all its threads run on `core`.

    Without taskset (or with `core` None or absent on this machine) the command is unchanged.
    """
    if core is None or core >= (os.cpu_count() or 1) or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(core), *command]
